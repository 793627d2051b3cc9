#!/bin/sh
# Fills a fresh memcached with KEYS items (default 1,000,000) of about VALUE_BYTES bytes (default
# 400), in one connection with `noreply`, as a test set-up priming a cache would; then checks the
# count. warmstart runs it with WARMSTART_HOST and WARMSTART_PORT set. Needs awk and nc.
set -eu
host=${WARMSTART_HOST:-127.0.0.1}
port=${WARMSTART_PORT:-11211}
keys=${KEYS:-1000000}
bytes=${VALUE_BYTES:-400}

awk -v keys="$keys" -v bytes="$bytes" 'BEGIN {
  pad = sprintf("%" bytes "s", ""); gsub(/ /, "x", pad)
  for (i = 1; i <= keys; i++) {
    value = "value:" i ":" pad
    value = substr(value, 1, bytes)
    printf "set key:%d 0 0 %d noreply\r\n%s\r\n", i, length(value), value
  }
}' | nc -N "$host" "$port"

# Every item is there: memcached counts them.
items=$(printf 'stats\r\nquit\r\n' | nc -N "$host" "$port" | awk '$2 == "curr_items" { print $3 + 0 }')
if [ "$items" != "$keys" ]; then
  echo "memcached holds $items items, not $keys (is -m large enough?)" >&2
  exit 1
fi
