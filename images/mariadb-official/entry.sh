#!/bin/sh
# Entry point of localhost/warmstart/mariadb-official:10.11, shaped like the official image's
# docker-entrypoint.sh: as root, it makes the data directory the mysql user's and runs itself
# again as mysql (gosu); as mysql, it initialises the data directory on first start (root's
# password MARIADB_ROOT_PASSWORD, over the network too) and runs the server on port MARIADB_PORT.
set -e
DATADIR=/var/lib/mysql
if [ "$1" = mariadbd ] && [ "$(id -u)" = 0 ]; then
  mkdir -p /run/mysqld "$DATADIR" # podman mounts a fresh tmpfs on /run
  chown -R mysql:mysql "$DATADIR" /run/mysqld
  exec gosu mysql "$0" "$@"
fi
if [ "$1" = mariadbd ]; then
  shift
  if [ ! -d "$DATADIR/mysql" ]; then
    [ -n "$MARIADB_ROOT_PASSWORD" ] || { echo "MARIADB_ROOT_PASSWORD is not set" >&2; exit 1; }
    mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
      --skip-test-db >/dev/null
    # Read once at this first start, from the tmpfs /run, never from the data directory.
    # install-db also makes root@127.0.0.1 and root@::1 without a password, which would match
    # TCP clients first: gone, as the official entry point removes them.
    printf "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';\nCREATE USER IF NOT EXISTS 'root'@'%%' IDENTIFIED BY '%s';\nGRANT ALL PRIVILEGES ON *.* TO 'root'@'%%' WITH GRANT OPTION;\nALTER USER 'root'@'localhost' IDENTIFIED BY '%s';\n" \
      "$MARIADB_ROOT_PASSWORD" "$MARIADB_ROOT_PASSWORD" >/run/mysqld/init.sql
    set -- --init-file=/run/mysqld/init.sql "$@"
  fi
  # --innodb-use-native-aio=0: CRIU cannot dump io_uring or native AIO contexts.
  exec mariadbd --datadir="$DATADIR" --bind-address=0.0.0.0 --port="${MARIADB_PORT:-3306}" \
    --skip-name-resolve --innodb-use-native-aio=0 "$@"
fi
exec "$@"
