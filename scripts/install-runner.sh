#!/usr/bin/env bash
# Prepares a GitHub-hosted Ubuntu runner (or another Debian-family machine) for warmstart's
# checkpoints, for the action's `install: true`: podman and runc from the distribution, a CRIU
# (on Ubuntu from CRIU upstream's PPA, because Ubuntu 24.04's archive has none), and a
# containers.conf of warmstart's own that points podman at runc and the cgroupfs manager, so that
# the runner's /etc/containers stays as it is. The action (src/action/install.ts) decides what is
# missing and passes it here; every step is skipped when its result is already in place, and no
# apt command runs when nothing is missing.
#
# NOT TESTED ON A REAL UBUNTU RUNNER: no GitHub runner can be reached from this project's
# machines. Checked here: `bash -n`, shellcheck, and the action's decision of what to pass (unit
# tests). The PPA's address, suites and key fingerprint are CRIU upstream's as other projects use
# them, not the result of a run. This project's own machines are prepared by setup-host.sh.
#
# Usage (root, or a user with passwordless sudo):
#   install-runner.sh [--apt podman|runc]... [--criu ppa --codename UBUNTU_CODENAME | --criu archive]
#                     [--containers-conf PATH]
#   --apt PACKAGE          install PACKAGE with apt unless its command is already on PATH
#   --criu ppa|archive     install CRIU, unless one is on PATH, from CRIU's PPA or the distribution
#   --codename NAME        the Ubuntu release for the PPA (noble, jammy)
#   --containers-conf PATH unless podman already uses runc and cgroupfs, write PATH for podman and
#                          print `install: containers-conf-variable=NAME` (the variable that
#                          points podman at it) and `install: containers-conf=PATH`
#   install-runner.sh --conf-variable-for VERSION
#                          print that variable's name for podman VERSION, and do nothing else
# Exits 0 when CRIU passes `criu check`; otherwise 1 with `install: error: WHAT; FIX` on stderr
# (the action then warns and starts services cold).
set -euo pipefail

ppa_uri=https://ppa.launchpadcontent.net/criu/ppa/ubuntu
ppa_fingerprint=4E2A48715C45AEEC077B48169B29EEC9246B6CE2
ppa_key_url="https://keyserver.ubuntu.com/pks/lookup?op=get&search=0x$ppa_fingerprint"
ppa_keyring=/etc/apt/keyrings/warmstart-criu-ppa.gpg
ppa_sources=/etc/apt/sources.list.d/warmstart-criu-ppa.sources
marker="# Managed by warmstart (scripts/install-runner.sh)"

say() { echo "install: $*"; }
die() {
  echo "install: error: $*" >&2
  exit 1
}

# podman >= 4.5 layers CONTAINERS_CONF_OVERRIDE over the system's containers.conf and its drop-ins
# (runner images ship drop-ins they need, such as containers.conf.d/99-fix-firewall.conf on
# 26.04); older podman knows only CONTAINERS_CONF, which replaces them all.
conf_variable_for() {
  if awk -v v="$1" 'BEGIN { split(v, a, "."); exit !(a[1] + 0 > 4 || (a[1] + 0 == 4 && a[2] + 0 >= 5)) }'; then
    echo CONTAINERS_CONF_OVERRIDE
  else
    echo CONTAINERS_CONF
  fi
}
if [ "${1:-}" = --conf-variable-for ]; then
  [ -n "${2:-}" ] || die "--conf-variable-for needs a podman version"
  conf_variable_for "$2"
  exit 0
fi

# Not root: passwordless sudo, as on GitHub's hosted runners. Before parsing, which shifts "$@".
if [ "$(id -u)" != 0 ]; then
  sudo -n true 2>/dev/null ||
    die "not root and no passwordless sudo: podman, apt and CRIU need root; run as root or set install: false and prepare the runner yourself"
  exec sudo -n "$BASH" "${BASH_SOURCE[0]}" "$@"
fi
# sudo's secure_path and some runners' PATH lack the sbin directories where criu and runc live.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

apt_packages=()
criu_from=
codename=
containers_conf=
value() { [ -n "${2:-}" ] || die "$1 needs a value (see the usage at the top of $0)"; }
while [ $# -gt 0 ]; do
  case $1 in
    --apt) value "$@" && apt_packages+=("$2") && shift 2 ;;
    --criu) value "$@" && criu_from=$2 && shift 2 ;;
    --codename) value "$@" && codename=$2 && shift 2 ;;
    --containers-conf) value "$@" && containers_conf=$2 && shift 2 ;;
    *) die "unknown argument '$1' (see the usage at the top of $0)" ;;
  esac
done
case $criu_from in '' | ppa | archive) ;; *) die "--criu takes ppa or archive, not '$criu_from'" ;; esac
[ "$criu_from" != ppa ] || [ -n "$codename" ] || die "--criu ppa needs --codename (the Ubuntu release, e.g. noble)"

# --- apt --------------------------------------------------------------------------------------
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
apt_updated=
# A fresh runner's unattended upgrades can hold the dpkg lock for a while: wait, do not fail.
apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@" >"$apt_log" 2>&1 ||
    { tail -n 20 "$apt_log" >&2 && return 1; }
}
apt_install() {
  command -v apt-get >/dev/null || die "apt-get is missing: install $* yourself, or set install: false"
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    apt_get update || die "apt-get update failed (its output is above): fix the runner's apt sources or network, or set install: false and install $* yourself"
    apt_updated=1
  fi
  say "installing $* with apt"
  apt_get install -y "$@" || die "apt-get install $* failed (its output is above); set install: false to skip this step and install $* yourself"
}

# Writes a file warmstart owns when its content differs, atomically: two jobs on one self-hosted
# runner may write it at once.
write_file() {
  local path=$1 content=$2
  [ "$(cat "$path" 2>/dev/null)" != "$content" ] || return 0
  say "writing $path"
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" >"$path.$$.tmp"
  chmod 0644 "$path.$$.tmp"
  mv -f "$path.$$.tmp" "$path"
}

# --- 1. podman and runc -----------------------------------------------------------------------
missing=()
for package in ${apt_packages[@]+"${apt_packages[@]}"}; do
  command -v "$package" >/dev/null && continue
  # Docker's containerd.io provides runc and conflicts with the runc package: installing that
  # would remove Docker from the runner.
  if [ "$package" = runc ] && dpkg-query -W -f '${db:Status-Status}' containerd.io 2>/dev/null | grep -qx installed; then
    die "runc is not on PATH although containerd.io (which ships it) is installed; apt would remove Docker to install Ubuntu's runc: reinstall containerd.io, or set install: false"
  fi
  missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# --- 2. podman's configuration for warmstart's calls ----------------------------------------------
# runc, because Ubuntu's crun is built without CRIU; cgroupfs and file events, because that is
# how podman runs on this project's own machines, where every checkpoint test passes: the one
# configuration verified. Only warmstart's podman calls read this file, through the variable
# conf_variable_for names: the runner's /etc/containers stays as it is, and with podman >= 4.5
# its drop-ins still apply. A machine whose podman already runs runc with cgroupfs (such as one
# prepared by setup-host.sh) keeps its own configuration.
# Only podman's stdout is compared: podman 5 warns on stderr (cgroups v1 is deprecated, ...), and
# a warning read as the answer once made this check fail on a podman that worked.
podman_err=$(mktemp)
trap 'rm -f "$apt_log" "$podman_err"' EXIT
podman_says() { "$@" 2>"$podman_err"; }
podman_error() { tail -n 3 "$podman_err" | tr '\n' ' '; }
if [ -n "$containers_conf" ]; then
  real_runc=$(command -v runc) || die "runc is not installed: pass --apt runc, or install runc (on Ubuntu it comes with Docker's containerd.io)"
  podman_version=$(podman_says podman version --format '{{.Client.Version}}') ||
    die "podman version fails: $(podman_error); check the podman installation, or set install: false"
  conf_variable=$(conf_variable_for "$podman_version")
  current=$(podman_says env -u CONTAINERS_CONF -u CONTAINERS_CONF_OVERRIDE podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}') ||
    die "podman info fails: $(podman_error); check the podman installation, or set install: false"
  if [ "$current" = "runc cgroupfs" ]; then
    say "podman already uses runc and cgroupfs: keeping its configuration"
  else
    write_file "$containers_conf" "$marker: podman $podman_version reads it for warmstart's calls through $conf_variable.
[engine]
runtime = \"runc\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\"

[engine.runtimes]
runc = [\"$real_runc\"]"
    check=$(podman_says env -u CONTAINERS_CONF -u CONTAINERS_CONF_OVERRIDE "$conf_variable=$containers_conf" podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}') ||
      die "podman rejects $containers_conf: $(podman_error); services keep podman's own configuration ($current)"
    [ "$check" = "runc cgroupfs" ] || die "podman with $conf_variable=$containers_conf runs '$check', not 'runc cgroupfs'"
    say "podman $podman_version was running '$current'; warmstart's podman calls use runc and cgroupfs from $containers_conf"
    # The action reads these lines: from here on its podman calls set that variable.
    say "containers-conf-variable=$conf_variable"
    say "containers-conf=$containers_conf"
  fi
fi

# --- 3. CRIU ------------------------------------------------------------------------------------
add_criu_ppa() {
  local key fingerprint gnupg
  if [ ! -s "$ppa_keyring" ]; then
    command -v curl >/dev/null || apt_install curl ca-certificates
    command -v gpg >/dev/null || apt_install gpg
    key=$(mktemp)
    gnupg=$(mktemp -d) # gpg must not touch root's own keyrings
    say "fetching the CRIU PPA's signing key $ppa_fingerprint from keyserver.ubuntu.com"
    curl -fsSL --retry 3 --max-time 60 "$ppa_key_url" -o "$key" ||
      die "cannot download the CRIU PPA's key from $ppa_key_url; retry the job, or set install: false and install CRIU yourself"
    fingerprint=$(GNUPGHOME=$gnupg gpg --batch --show-keys --with-colons "$key" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
    [ "$fingerprint" = "$ppa_fingerprint" ] ||
      die "the key served for the CRIU PPA has fingerprint '${fingerprint:-none}', not $ppa_fingerprint: refusing it (has the PPA changed its key? update ppa_fingerprint in $0)"
    mkdir -p "$(dirname "$ppa_keyring")"
    GNUPGHOME=$gnupg gpg --batch --yes --dearmor -o "$ppa_keyring.$$.tmp" "$key"
    chmod 0644 "$ppa_keyring.$$.tmp"
    mv -f "$ppa_keyring.$$.tmp" "$ppa_keyring"
    rm -rf "$key" "$gnupg"
  fi
  write_file "$ppa_sources" "$marker: CRIU from CRIU upstream's PPA (Ubuntu has no criu package).
Types: deb
URIs: $ppa_uri
Suites: $codename
Components: main
Signed-By: $ppa_keyring"
  # The new source's lists are not fetched yet.
  apt_updated=
}

if [ -n "$criu_from" ] && ! command -v criu >/dev/null; then
  [ "$criu_from" != ppa ] || add_criu_ppa
  apt_install criu
fi

criu=$(command -v criu) ||
  die "CRIU is not installed: set install: true on an Ubuntu or Debian runner, or install CRIU >= 4.0 yourself"
version=$("$criu" --version 2>/dev/null | awk '/^Version:/ { print $2; exit }')
if output=$("$criu" check 2>&1); then
  say "CRIU ${version:-(unknown version)} at $criu: criu check says $(tail -n 1 <<<"$output")"
else
  die "criu check fails for CRIU ${version:-(unknown version)} at $criu on kernel $(uname -r): $(tail -n 2 <<<"$output" | tr '\n' ' ')"
fi
