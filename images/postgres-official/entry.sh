#!/bin/sh
# Entry point of localhost/warmstart/postgres-official:15, shaped like the official image's
# docker-entrypoint.sh: as root, it makes PGDATA the postgres user's and runs itself again as
# postgres (gosu); as postgres, it initialises PGDATA on first start (password authentication
# with POSTGRES_PASSWORD over the network) and runs the server on all interfaces, port PGPORT.
set -e
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec gosu postgres "$0" "$@"
fi
if [ "$1" = postgres ]; then
  shift
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    [ -n "$POSTGRES_PASSWORD" ] || { echo "POSTGRES_PASSWORD is not set" >&2; exit 1; }
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username=postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    rm -f "$pwfile"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "host all all ::/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\njit = off\n" >>"$PGDATA/postgresql.conf"
  fi
  exec postgres "$@"
fi
exec "$@"
