#!/usr/bin/env bash
# The runner twin: the closest thing to a GitHub-hosted ubuntu-26.04 runner that this project's
# machines allow. A Debian sid root file system (newer userland than the host: podman 5.8, runc
# 1.3, CRIU 4.2.1, Node 24 in its archive), built once with debootstrap and cached under
# /var/cache/warmstart/twin (rebuilt when the recipe below changes), entered in a mount namespace
# of its own with pivot_root. A plain chroot is not enough: `criu check` fails there with
# "mnt: No parent found for mountpoint".
#
# The base holds what a runner image holds before a job starts: a user `runner` with passwordless
# sudo (env_reset and secure_path, like the runners' sudoers), Node, python3, curl, gpg, nftables
# and redis-tools, and apt pointed at the same Debian mirror. It holds no podman, no runc and no
# CRIU: the Action's `install: true` installs them from the distribution's archive, as on 26.04.
#
# A session is one runner VM: a throwaway overlay over the cached base, its own /run and /tmp, and
# podman's storage on a real directory (an overlay cannot hold podman's overlay layers). Every
# step of a job runs inside the session's mount namespace, so the containers, conmon and podman's
# state under /run live on from one step to the next, as on a runner.
#
# Usage (root):
#   twin.sh build                     build the base if needed; print its directory
#   twin.sh start DIR                 start a session in DIR (must not exist); print its pid
#   twin.sh exec DIR [--user NAME] [--cwd DIR] [--env NAME=VALUE]... -- COMMAND...
#                                     run COMMAND in the session (as NAME, in DIR, with only that
#                                     environment)
#   twin.sh root DIR                  print where this machine sees the session's root
#   twin.sh load DIR IMAGE            copy IMAGE from this host's podman into the session's storage
#                                     (the image a runner would already have pulled)
#   twin.sh stop DIR                  end the session: kill what runs in it, unmount, delete DIR
#   twin.sh versions DIR              print the session's podman, runc, CRIU and Node versions
set -euo pipefail

cache=/var/cache/warmstart/twin
suite=sid
die() {
  echo "twin: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mount namespaces); try sudo"

# Packages of the base: what a GitHub runner image has that warmstart's job touches. Not podman,
# runc or CRIU (the Action installs those). apt-utils and gnupg for apt's keys; iproute2, which
# CRIU uses to dump and restore network state; kmod, which podman's netavark calls.
base_packages=sudo,nodejs,python3,ca-certificates,curl,gnupg,nftables,iptables,iproute2,kmod,procps,zstd,redis-tools,apt-utils

# The recipe: this script's build section and the package list. A change rebuilds the base.
recipe_hash() {
  { sed -n '/^# --- build/,/^# --- end build/p' "${BASH_SOURCE[0]}" && echo "$base_packages $suite"; } |
    sha256sum | cut -c1-16
}

debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# --- build ---------------------------------------------------------------------------------------
build() {
  local hash base mirror started
  hash=$(recipe_hash)
  base="$cache/base-$hash"
  if [ -f "$base/.twin-complete" ]; then
    echo "$base"
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed; run: npm run setup"
  mirror=$(debian_mirror)
  started=$(date +%s)
  echo "twin: building a Debian $suite base from $mirror (once; about 2 minutes)" >&2
  rm -rf "$base.tmp"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include="$base_packages" "$suite" "$base.tmp" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 || {
    tail -n 20 "$cache/debootstrap.log" >&2
    die "debootstrap of Debian $suite failed (log: $cache/debootstrap.log)"
  }
  # apt inside the twin reads the same mirror, over the host's network.
  rm -f "$base.tmp/etc/apt/sources.list"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$suite" >"$base.tmp/etc/apt/sources.list.d/debian.sources"
  # The runner account, as GitHub's images make it: uid 1001, passwordless sudo for everything.
  chroot "$base.tmp" useradd --create-home --uid 1001 --shell /bin/bash runner
  printf 'Defaults env_reset\nDefaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\nrunner ALL=(ALL) NOPASSWD:ALL\n' \
    >"$base.tmp/etc/sudoers.d/runner"
  chmod 0440 "$base.tmp/etc/sudoers.d/runner"
  chroot "$base.tmp" visudo -cf /etc/sudoers.d/runner >/dev/null
  # Like the runners' images: apt's downloaded packages and lists are not kept in the image.
  rm -rf "$base.tmp"/var/cache/apt/archives/*.deb "$base.tmp"/var/lib/apt/lists/* "$base.tmp"/usr/share/doc
  touch "$base.tmp/.twin-complete"
  mv "$base.tmp" "$base"
  # Older bases: another recipe, never used again.
  find "$cache" -maxdepth 1 -name 'base-*' ! -name "base-$hash" -exec rm -rf {} +
  echo "twin: base built in $(($(date +%s) - started)) s" >&2
  echo "$base"
}
# --- end build -----------------------------------------------------------------------------------

session_pid() {
  local dir=$1 pid
  pid=$(cat "$dir/pid" 2>/dev/null) || die "$dir is not a twin session (no pid file)"
  [ -e "/proc/$pid/ns/mnt" ] || die "the twin session in $dir is not running (pid $pid)"
  echo "$pid"
}

start() {
  local dir=$1 base pid
  [ ! -e "$dir" ] || die "$dir exists: a session needs a new directory"
  base=$(build)
  mkdir -p "$dir/upper" "$dir/work" "$dir/root" "$dir/containers" "$dir/containers-run"
  echo "$base" >"$dir/base"
  # The namespace is held by a sleeping process; every exec joins it. Private propagation, so that
  # nothing mounted inside reaches the host and nothing the host mounts later appears inside.
  # shellcheck disable=SC2016 # expanded by the inner shell, from its arguments
  unshare --mount --propagation private bash -c '
    set -e
    dir=$1 base=$2
    mount -t overlay twin -o "lowerdir=$base,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
    root=$dir/root
    mount --rbind /proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$root/run"
    mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
    mkdir -p "$root/var/lib/containers"
    mount --bind "$dir/containers" "$root/var/lib/containers"
    # The resolver and name of the host, as a runner has its own.
    cp /etc/resolv.conf /etc/hosts /etc/hostname "$root/etc/"
    # How this machine reaches its Debian mirror (a snapshot whose Release files have expired).
    for conf in $(grep -l "^Acquire::" /etc/apt/apt.conf.d/* 2>/dev/null); do cp "$conf" "$root/etc/apt/apt.conf.d/"; done
    # The twin shares this machine'"'"'s network namespace, and so its bridges: its podman gets a
    # default network of its own (podman reads the default network from podman.json when there is
    # one), so that its containers never take an address or a bridge from this machine'"'"'s podman.
    mkdir -p "$root/etc/containers/networks"
    printf "%s\n" "{\"name\": \"podman\", \"id\": \"2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9\", \"driver\": \"bridge\", \"network_interface\": \"twin0\", \"subnets\": [{\"subnet\": \"10.99.0.0/16\", \"gateway\": \"10.99.0.1\"}], \"ipv6_enabled\": false, \"internal\": false, \"dns_enabled\": false, \"ipam_options\": {\"driver\": \"host-local\"}}" >"$root/etc/containers/networks/podman.json"
    mkdir -p "$root/.old"
    cd "$root"
    pivot_root . .old
    umount -l /.old
    rmdir /.old
    exec sleep infinity
  ' twin "$dir" "$base" </dev/null >"$dir/namespace.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/pid"
  # Ready once the pivot is done: the process's root is then the twin's, which has the marker.
  for _ in $(seq 100); do
    if [ -e "/proc/$pid/root/.twin-complete" ]; then
      echo "$pid"
      return
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/namespace.log" >&2
  die "the twin session did not start"
}

exec_in() {
  local dir=$1 pid user=root cwd=/ envs=()
  shift
  pid=$(session_pid "$dir")
  while [ $# -gt 0 ]; do
    case $1 in
      --user) user=$2 && shift 2 ;;
      --env) envs+=("$2") && shift 2 ;;
      --cwd) cwd=$2 && shift 2 ;;
      --) shift && break ;;
      *) die "exec: unknown argument '$1'" ;;
    esac
  done
  [ $# -gt 0 ] || die "exec: no command"
  # nsenter takes the session's mount namespace and root; setpriv becomes the user with its groups,
  # and env -i starts from the given environment only, as a runner's step starts from the runner's.
  local home=/root
  [ "$user" = root ] || home=/home/$user
  exec nsenter --target "$pid" --mount --root --wd \
    setpriv --reuid="$user" --regid="$user" --init-groups \
    env -i -C "$cwd" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" USER="$user" \
    ${envs[@]+"${envs[@]}"} "$@"
}

load() {
  local dir=$1 image=$2 pid
  pid=$(session_pid "$dir")
  command -v skopeo >/dev/null || die "skopeo is not installed; run: npm run setup"
  # Straight into the session's storage (overlay driver, the twin podman's default), without a
  # podman there yet: the image a runner would have pulled before warmstart runs.
  # In a mount namespace of its own: containers/storage mounts its overlay directory over itself,
  # and that mount must go when the copy ends, not stay on this machine.
  unshare --mount --propagation private skopeo copy --quiet "containers-storage:$image" \
    "containers-storage:[overlay@$dir/containers/storage+$dir/containers-run]$image" >&2
}

versions() {
  local dir=$1
  # shellcheck disable=SC2016 # expanded inside the twin
  exec_in "$dir" -- sh -c '
    echo "podman $(podman version --format "{{.Client.Version}}" 2>/dev/null || echo "not installed")"
    echo "runc $(runc --version 2>/dev/null | awk "NR == 1 { print \$3 }" || true)"
    echo "criu $(criu --version 2>/dev/null | awk "/^Version:/ { print \$2 }" || true)"
    echo "node $(node --version)"
    echo "kernel $(uname -r)"
    echo "os $(. /etc/os-release && echo "$PRETTY_NAME")"
  '
}

stop() {
  local dir=$1 pid ns p
  [ -d "$dir" ] || return 0
  pid=$(cat "$dir/pid" 2>/dev/null || true)
  if [ -n "$pid" ] && [ -e "/proc/$pid/ns/mnt" ]; then
    ns=$(readlink "/proc/$pid/ns/mnt")
    # Every process in the session's namespace (conmon, services the job left behind, the sleeper).
    for p in /proc/[0-9]*; do
      if [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
    done
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  # The overlay and binds lived in the namespace and went with it. Anything mounted under the
  # session from this machine's side (none is expected) is unmounted before the delete.
  awk -v dir="$dir/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r mount; do
    umount -l "$mount" || true
  done
  rm -rf "$dir"
}

command=${1:-}
shift || true
case $command in
  build) build ;;
  start) start "${1:?start needs a directory}" ;;
  exec) exec_in "${1:?exec needs a session directory}" "${@:2}" ;;
  load) load "${1:?load needs a session directory}" "${2:?load needs an image}" ;;
  root) echo "/proc/$(session_pid "${1:?root needs a session directory}")/root" ;;
  versions) versions "${1:?versions needs a session directory}" ;;
  stop) stop "${1:?stop needs a directory}" ;;
  *) die "usage: twin.sh build | start DIR | exec DIR [--user U] [--env K=V]... -- CMD... | load DIR IMAGE | versions DIR | stop DIR" ;;
esac
