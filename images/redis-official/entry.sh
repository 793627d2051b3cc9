#!/bin/sh
# Entry point of localhost/warmstart/redis-official:7, shaped like the official image's
# docker-entrypoint.sh: as root, it makes /data the redis user's and runs itself again as redis
# (gosu); as redis, it runs the server on all interfaces, port REDIS_PORT (default 6379).
set -e
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  mkdir -p /data
  chown -R redis:redis /data
  exec gosu redis "$0" "$@"
fi
if [ "$1" = redis-server ]; then
  shift
  cd /data
  exec redis-server --bind 0.0.0.0 --protected-mode no --port "${REDIS_PORT:-6379}" --dir /data \
    --daemonize no "$@"
fi
exec "$@"
