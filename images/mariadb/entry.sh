#!/bin/sh
# Entry point of localhost/warmstart/mariadb:10.11. `mariadbd [ARGS]` initialises the data
# directory on first start and runs the server; any other command runs as given.
set -e
DATADIR=/var/lib/mysql
if [ "$1" = mariadbd ]; then
  shift
  mkdir -p /run/mysqld # podman mounts a fresh tmpfs on /run
  if [ ! -d "$DATADIR/mysql" ]; then
    mariadb-install-db --user=root --datadir="$DATADIR" --auth-root-authentication-method=normal \
      --skip-test-db >/dev/null
  fi
  # --innodb-use-native-aio=0: CRIU cannot dump io_uring or native AIO contexts.
  # The init file lets root in over TCP with an empty password (test use only).
  exec mariadbd --user=root --datadir="$DATADIR" --bind-address=0.0.0.0 \
    --port="${MARIADB_PORT:-3306}" --skip-name-resolve --innodb-use-native-aio=0 \
    --init-file=/etc/warmstart/mariadb-init.sql "$@"
fi
exec "$@"
