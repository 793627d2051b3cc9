#!/bin/sh
# Entry point of localhost/warmstart/postgres:15. `postgres [ARGS]` creates a cluster with trust
# authentication on first start (PGDATA, default /var/lib/postgresql/data) and runs the server on
# all interfaces, port PGPORT (default 5432); any other command runs as given.
set -e
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
if [ "$1" = postgres ]; then
  shift
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb --username=postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    echo "host all all 0.0.0.0/0 trust" >>"$PGDATA/pg_hba.conf"
    echo "host all all ::/0 trust" >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\njit = off\n" >>"$PGDATA/postgresql.conf"
  fi
  exec postgres "$@"
fi
exec "$@"
