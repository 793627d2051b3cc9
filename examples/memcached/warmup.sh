#!/bin/sh
# Fills a fresh memcached with KEYS items (default 1,000,000) of VALUE_BYTES bytes (default 400),
# in one connection with `noreply`, as a test set-up priming a cache would; then checks the count.
# The values are base64 of a fixed pseudo-random stream (AES-CTR over zeros): about as
# compressible as serialized application data, and the same on every run, so that every run of a
# benchmark serves the same answers. warmstart runs it with WARMSTART_HOST and WARMSTART_PORT set.
# Needs openssl, base64, awk and nc.
set -eu
host=${WARMSTART_HOST:-127.0.0.1}
port=${WARMSTART_PORT:-11211}
keys=${KEYS:-1000000}
bytes=${VALUE_BYTES:-400}

openssl enc -aes-128-ctr -pbkdf2 -nosalt -pass pass:warmstart -in /dev/zero 2>/dev/null |
  base64 -w "$bytes" | head -n "$keys" |
  awk -v bytes="$bytes" '{
    value = substr("value:" NR ":" $0, 1, bytes)
    printf "set key:%d 0 0 %d noreply\r\n%s\r\n", NR, length(value), value
  }' | nc -N "$host" "$port"

# Every item is there: memcached counts them.
items=$(printf 'stats\r\nquit\r\n' | nc -N "$host" "$port" | awk '$2 == "curr_items" { print $3 + 0 }')
if [ "$items" != "$keys" ]; then
  echo "memcached holds $items items, not $keys (is -m large enough?)" >&2
  exit 1
fi
