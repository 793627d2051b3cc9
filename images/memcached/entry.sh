#!/bin/sh
# Entry point of localhost/warmstart/memcached:1.6. Like the official image: `memcached [ARGS]`
# starts the server on all interfaces, port MEMCACHED_PORT (default 11211), with MEMCACHED_MEMORY
# megabytes for items (default 1024); any other command runs as given.
set -e
if [ "$1" = memcached ]; then
  shift
  exec memcached -u root -l 0.0.0.0 -p "${MEMCACHED_PORT:-11211}" -m "${MEMCACHED_MEMORY:-1024}" \
    -c 1024 "$@"
fi
exec "$@"
