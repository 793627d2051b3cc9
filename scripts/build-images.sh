#!/usr/bin/env bash
# Builds warmstart's service images locally, without a registry: a Debian rootfs made with
# debootstrap from this machine's configured mirror, plus a small entry script, imported with
# `podman import`. An image is rebuilt only when it is missing or its recipe changed (the recipe's
# hash is stored in the image label io.warmstart.recipe).
#
# Usage: scripts/build-images.sh [redis|mariadb|postgres|memcached|tomcat|redis-official|... ...]
#        (default: all)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
recipes="$here/images"
cache_dir=/var/cache/warmstart/debootstrap
suite=bookworm

declare -A tags=([redis]=7 [mariadb]=10.11 [postgres]=15 [redis-official]=7 [mariadb-official]=10.11
  [postgres-official]=15 [memcached]=1.6 [tomcat]=10)

die() { echo "build-images: $*" >&2; exit 1; }

# Not root: go through passwordless sudo if there is one (as on GitHub's runners).
if [ "$(id -u)" != 0 ] && sudo -n true 2>/dev/null; then exec sudo -n "$BASH" "${BASH_SOURCE[0]}" "$@"; fi
[ "$(id -u)" = 0 ] || die "must run as root (rootful podman and debootstrap); try: sudo npm run images"
command -v podman >/dev/null || die "podman is not installed; run: npm run setup"
command -v debootstrap >/dev/null || die "debootstrap is not installed; run: npm run setup"

# The mirror apt already uses for this suite, so the build reaches only what the machine reaches.
debian_mirror() {
  local uri
  uri=$(awk -v suite="$suite" '
    /^URIs:/ { uris = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) { print uris; exit } }
  ' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk -v suite="$suite" '$1 == "deb" && $0 ~ " " suite " " { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

recipe_hash() {
  local svc=$1
  # The recipe files and this script: a change to either rebuilds the image.
  find "$recipes/$svc" -type f | LC_ALL=C sort | xargs cat "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16
}

build_one() {
  local svc=$1 tag="${tags[$1]:-}" name hash current previous rootfs started
  [ -n "$tag" ] || die "unknown image '$svc' (known: ${!tags[*]})"
  name="localhost/warmstart/$svc:$tag"
  hash=$(recipe_hash "$svc")
  current=$(podman image inspect --format '{{index .Config.Labels "io.warmstart.recipe"}}' "$name" 2>/dev/null || true)
  if [ "$current" = "$hash" ]; then
    echo "$name: up to date"
    return
  fi

  # The image this build replaces: removed once the new one has its name, so rebuilds leave no
  # dangling images behind.
  previous=$(podman image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
  PACKAGES='' PORT='' ENV_PATH='' CMD='' USER='' PRUNE='' VOLUME=''
  # shellcheck source=/dev/null # a recipe per service: images/<service>/recipe
  . "$recipes/$svc/recipe"
  started=$(date +%s)
  echo "$name: building from $(debian_mirror) ($PACKAGES)"
  rootfs=$(mktemp -d /var/tmp/warmstart-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  mkdir -p "$cache_dir"
  debootstrap --variant=minbase --cache-dir="$cache_dir" --include="$PACKAGES" \
    "$suite" "$rootfs" "$(debian_mirror)" >"$rootfs.log" 2>&1 ||
    { tail -n 20 "$rootfs.log" >&2; rm -f "$rootfs.log"; die "debootstrap failed for $name"; }
  rm -f "$rootfs.log"

  install -m 0755 "$recipes/$svc/entry.sh" "$rootfs/usr/local/bin/warmstart-entry"
  mkdir -p "$rootfs/etc/warmstart"
  [ -f "$recipes/$svc/init.sql" ] && install -m 0644 "$recipes/$svc/init.sql" "$rootfs/etc/warmstart/mariadb-init.sql"
  # A recipe's files/ tree lands at the image's root (Tomcat's page).
  [ ! -d "$recipes/$svc/files" ] || cp -R "$recipes/$svc/files/." "$rootfs/"
  if [ "$USER" != root ]; then
    # The service user owns its data and socket directories.
    chroot "$rootfs" sh -c "mkdir -p /var/lib/postgresql/data /var/run/postgresql &&
      chown -R $USER:$USER /var/lib/postgresql /var/run/postgresql && chmod 0700 /var/lib/postgresql/data"
  fi

  # Small images: no package lists, caches, docs, man pages or locales.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
  # shellcheck disable=SC2086 # PRUNE holds glob patterns, expanded here on purpose
  for pattern in $PRUNE; do rm -rf "$rootfs"$pattern; done

  tar --numeric-owner --exclude=./proc --exclude=./sys --exclude=./dev -C "$rootfs" -c . |
    podman import \
      --change "ENTRYPOINT [\"/usr/local/bin/warmstart-entry\"]" \
      --change "CMD $CMD" \
      --change "ENV PATH=$ENV_PATH" \
      --change "EXPOSE $PORT" \
      --change "USER $USER" \
      ${VOLUME:+--change "VOLUME $VOLUME"} \
      --change "LABEL io.warmstart.recipe=$hash" \
      - "$name" >"$rootfs.log" 2>&1 || { cat "$rootfs.log" >&2; rm -f "$rootfs.log"; die "podman import failed for $name"; }
  rm -f "$rootfs.log"
  [ -z "$previous" ] || podman rmi "$previous" >/dev/null 2>&1 || true # still used by a container: kept
  echo "$name: built in $(($(date +%s) - started)) s, $(podman image inspect --format '{{.Size}}' "$name" | numfmt --to=iec)"
}

for svc in "${@:-redis mariadb postgres redis-official mariadb-official postgres-official memcached tomcat}"; do
  for one in $svc; do build_one "$one"; done
done
