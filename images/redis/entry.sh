#!/bin/sh
# Entry point of localhost/warmstart/redis:7. Like the official image: `redis-server [ARGS]`
# starts the server with test-friendly defaults; any other command runs as given.
set -e
if [ "$1" = redis-server ]; then
  shift
  # No persistence by default: the checkpoint holds the data set in memory.
  exec redis-server --bind 0.0.0.0 --protected-mode no --port "${REDIS_PORT:-6379}" \
    --save '' --appendonly no --daemonize no "$@"
fi
exec "$@"
