#!/usr/bin/env bash
# Prepares this machine for warmstart: rootful Podman that can checkpoint and restore containers
# with CRIU, plus the service clients the tests use. Idempotent: when everything is in place it
# changes nothing and takes a few seconds. See docs/host-setup.md for what it does and why.
#
# Usage (as root): scripts/setup-host.sh
set -euo pipefail

prefix_root=/opt/warmstart            # private CRIU prefixes, one per version
state_dir=/var/lib/warmstart/apt      # private apt lists for the newer suite: the system's stay as they are
libexec=/usr/local/lib/warmstart      # runtime wrapper
criu_link=/usr/local/sbin/criu        # where a private CRIU is put on PATH
containers_conf=/etc/containers/containers.conf
ownership_marker="# Managed by warmstart (scripts/setup-host.sh)"
criu_suite=${WARMSTART_CRIU_SUITE:-sid}

packages=(podman runc conmon netavark aardvark-dns containernetworking-plugins iptables uidmap skopeo netcat-openbsd
  debootstrap zstd python3 sudo shellcheck redis-tools mariadb-client postgresql-client docker-registry apache2-utils)

say() { echo "setup: $*"; }
die() {
  echo "setup: error: $*" >&2
  exit 1
}

# Not root: go through passwordless sudo if there is one (as on GitHub's runners).
if [ "$(id -u)" != 0 ] && sudo -n true 2>/dev/null; then exec sudo -n "$BASH" "${BASH_SOURCE[0]}" "$@"; fi
[ "$(id -u)" = 0 ] || die "must run as root (rootful podman, apt, /etc/containers); try: sudo npm run setup"
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  die "apt-get is missing: this script installs from Debian-family packages; install podman, runc and CRIU >= 4.2 by hand"
fi

# --- 1. Distribution packages ------------------------------------------------------------------
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f '${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || echo "$p"
  done
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -q >/tmp/warmstart-apt.log 2>&1 || { tail -n 20 /tmp/warmstart-apt.log >&2; die "apt-get update failed"; }
    apt_updated=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/tmp/warmstart-apt.log 2>&1 ||
    { tail -n 20 /tmp/warmstart-apt.log >&2; die "apt-get install $* failed"; }
}

mapfile -t to_install < <(missing_packages "${packages[@]}")
[ ${#to_install[@]} -eq 0 ] || apt_install "${to_install[@]}"

# --- 2. A CRIU that works on this kernel -------------------------------------------------------
# shellcheck source=scripts/lib/criu-probe.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/criu-probe.sh"

# Downloads CRIU and the shared libraries it needs from Debian's newer suite and unpacks them into
# a private prefix, run through that prefix's own dynamic loader. Nothing is installed with dpkg,
# so the system's libc, openssl and systemd stay exactly as they are.
install_private_criu() {
  local apt_opts version prefix debs pkgs
  command -v apt-get >/dev/null || die "no apt-get to fetch a newer CRIU"
  mkdir -p "$state_dir/lists/partial" "$state_dir/cache/archives/partial" "$state_dir/preferences.d"
  local mirror
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $criu_suite main" >"$state_dir/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$state_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$state_dir/lists" -o "Dir::Cache=$state_dir/cache"
    -o Dir::State::status=/dev/null -o Dir::Etc::Preferences=/dev/null
    -o "Dir::Etc::PreferencesParts=$state_dir/preferences.d" -o APT::Architecture=amd64
    -o APT::Sandbox::User=root)
  say "fetching CRIU from Debian $criu_suite ($mirror) into a private prefix"
  apt-get "${apt_opts[@]}" update -q >/tmp/warmstart-apt.log 2>&1 ||
    { tail -n 20 /tmp/warmstart-apt.log >&2; die "cannot read Debian $criu_suite from $mirror"; }
  version=$(apt-cache "${apt_opts[@]}" show criu 2>/dev/null | awk '/^Version:/ { print $2; exit }')
  [ -n "$version" ] || die "Debian $criu_suite has no criu package"
  prefix="$prefix_root/criu-$version"
  # CRIU and its whole dependency closure (all libraries): they must match the private loader.
  mapfile -t pkgs < <(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances criu 2>/dev/null | grep -v '^[ <]' | sort -u)
  debs=$(mktemp -d)
  (cd "$debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >/tmp/warmstart-apt.log 2>&1) ||
    { tail -n 20 /tmp/warmstart-apt.log >&2; die "downloading CRIU $version from Debian $criu_suite failed"; }
  rm -rf "$prefix.tmp" && mkdir -p "$prefix.tmp"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$prefix.tmp"; done
  rm -rf "$debs" "$prefix" && mv "$prefix.tmp" "$prefix"
  cat >"$prefix/criu" <<WRAPPER
#!/bin/sh
# CRIU $version from Debian $criu_suite, run with its own libraries (installed by warmstart).
P=$prefix
exec \$P/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path \$P/usr/lib/x86_64-linux-gnu:\$P/lib/x86_64-linux-gnu \$P/usr/sbin/criu "\$@"
WRAPPER
  chmod 0755 "$prefix/criu"
  criu_works "$prefix/criu" ||
    die "CRIU $version from Debian $criu_suite does not work on kernel $(uname -r) either (see /tmp/warmstart-criu-dump.log)"
  ln -sfn "$prefix/criu" "$criu_link"
}

if ! command -v criu >/dev/null; then
  apt_install criu || true
fi
if ! { [ -x "$criu_link" ] && criu_works "$criu_link"; } && ! { command -v criu >/dev/null && criu_works "$(command -v criu)"; }; then
  [ "$(uname -m)" = x86_64 ] || die "the CRIU on PATH does not work on kernel $(uname -r) and a private one is only set up for x86_64: install CRIU >= 4.2"
  say "the CRIU on PATH ($(criu --version 2>/dev/null | head -n1 || echo none)) does not work on kernel $(uname -r)"
  install_private_criu
fi

# --- 3. Podman configured for checkpointing ----------------------------------------------------
# runc, not crun (Debian's crun has no CRIU support); cgroupfs, because checkpointing under the
# systemd cgroup manager needs a systemd that these machines do not run; file events for the same
# reason; ulimits no higher than this host's hard limits, because CAP_SYS_RESOURCE is not in the
# bounding set and a container asking for more fails at start.
real_runc=$(command -v runc) || die "runc is not installed"
mkdir -p "$libexec"
runtime_wrapper="$libexec/runc"
# The wrapper's source, scripts/lib/runtime-wrapper.sh, says what it adds to runc and why.
sed "s|@REAL_RUNC@|$real_runc|g" "$(dirname "${BASH_SOURCE[0]}")/lib/runtime-wrapper.sh" >"$runtime_wrapper.tmp"
chmod 0755 "$runtime_wrapper.tmp"
if cmp -s "$runtime_wrapper.tmp" "$runtime_wrapper"; then rm "$runtime_wrapper.tmp"; else mv "$runtime_wrapper.tmp" "$runtime_wrapper"; fi

nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
{ [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768 # podman caps its own at 32768
# Writes a configuration file warmstart owns (its first line is the ownership marker) when its
# content differs. Returns 1, changing nothing, when the file exists and is someone else's.
write_owned_file() {
  local path=$1 body=$2 content
  content="$ownership_marker: rewritten while this line stays; delete it to take the file over.
$body"
  if [ -f "$path" ] && ! head -n1 "$path" | grep -qF "$ownership_marker"; then return 1; fi
  if [ "$(cat "$path" 2>/dev/null)" != "$content" ]; then
    say "writing $path"
    mkdir -p "$(dirname "$path")"
    printf '%s\n' "$content" >"$path"
  fi
}

write_owned_file "$containers_conf" "[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]

[engine]
runtime = \"runc\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\"

[engine.runtimes]
runc = [\"$runtime_wrapper\"]" ||
  die "$containers_conf exists and is not warmstart's: add runtime \"runc\", cgroup_manager \"cgroupfs\", events_logger \"file\", default_ulimits within this host's limits and runtimes.runc = [\"$runtime_wrapper\"] by hand, or move it away and run again"

# --- 3b. CRIU's CPU check ------------------------------------------------------------------------
# runc reads CRIU options from this one file. `cpu-cap fpu,ins` makes CRIU record the CPU's
# features in every checkpoint and compare them at restore, so a checkpoint restored on a CPU that
# lacks an instruction it used fails cleanly at restore instead of crashing later with SIGILL.
criu_conf=/etc/criu/runc.conf
write_owned_file "$criu_conf" "cpu-cap fpu,ins" ||
  say "leaving $criu_conf as it is (not warmstart's); add 'cpu-cap fpu,ins' to it for CRIU's CPU check"

# --- 4. Report ----------------------------------------------------------------------------------
runtime=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}' 2>/dev/null) ||
  die "podman info fails: $(podman info 2>&1 | tail -n 3)"
echo "warmstart host set-up"
echo "  kernel   $(uname -r) ($(uname -m)), cgroup $(stat -fc %T /sys/fs/cgroup | sed 's/cgroup2fs/v2/; s/tmpfs/v1/')"
echo "  podman   $(podman version --format '{{.Client.Version}}')"
echo "  runtime  $runtime ($($real_runc --version | head -n1))"
echo "  criu     $(PATH=/usr/local/sbin:$PATH criu --version | awk '/Version/ { print $2 }') at $(PATH=/usr/local/sbin:$PATH command -v criu)"
echo "  check    $(PATH=/usr/local/sbin:$PATH criu check 2>&1 | tail -n1)"
echo "  cpu-cap  $(grep -h '^cpu-cap' "$criu_conf" 2>/dev/null || echo 'not set')"
