#!/usr/bin/env bash
# Prepares a GitHub-hosted Ubuntu runner (or another Debian-family machine) for warmstart's
# checkpoints, for the action's `install: true`: podman and runc from the distribution, a CRIU that
# works on the running kernel, and a containers.conf of warmstart's own that points podman at runc
# and the cgroupfs manager, so that the runner's /etc/containers stays as it is.
#
# The action decides (src/action/install.ts, src/action/criu-source.ts, unit-tested per release and
# architecture) and passes the decision here: which packages are missing, the CRIU sources to try in
# order and the minimum CRIU version for the kernel. Every step is skipped when its result is
# already in place. A CRIU is kept only when it has that version and dumps a TCP listener
# (scripts/lib/criu-probe.sh): `criu check` alone passes on CRIUs that cannot dump a socket.
#
# Verified where: Debian sid in the runner twin (`npm run test:twin`: podman, runc and CRIU from
# the archive, the package cache, the probe) and Debian 12 here. CRIU's PPA and OBS cannot be
# reached from this project's machines: their steps are checked by shellcheck and by the unit
# tests of the decision only, not by a run. The PPA's key fingerprint is the one CRIU upstream
# publishes and other projects pin.
#
# Usage (root, or a user with passwordless sudo):
#   install-runner.sh [--apt podman|runc]... [--criu-minimum VERSION]
#                     [--criu-source archive|ppa|obs]... [--codename NAME] [--obs-repository DIR]
#                     [--deb-cache DIR] [--containers-conf PATH]
#   --apt PACKAGE          install PACKAGE with apt unless its command is already on PATH
#   --criu-minimum V       the CRIU kept must be at least V (4.2 on kernels >= 6.16); default 4.0
#   --criu-source S        where to get CRIU if the one on PATH (if any) fails; tried in order
#   --codename NAME        the Ubuntu release for CRIU's PPA (jammy, noble)
#   --obs-repository DIR   the OBS repository for this release (xUbuntu_24.04)
#   --deb-cache DIR        keep fetched packages in DIR, and install from DIR without
#                          `apt-get update` when an earlier job left them there (the Actions cache)
#   --containers-conf PATH unless podman already uses runc and cgroupfs, write PATH for podman and
#                          print `install: containers-conf-variable=NAME` (the variable that
#                          points podman at it) and `install: containers-conf=PATH`
#   install-runner.sh --print-policy PACKAGE
#                          print `apt-cache policy PACKAGE` (refreshing apt's lists if it has
#                          none), and do nothing else
#   install-runner.sh --conf-variable-for VERSION
#                          print that variable's name for podman VERSION, and do nothing else
# Exits 0 when a good CRIU is in place; otherwise 1 with `install: error: WHAT; FIX` on stderr
# (the action then warns and starts services cold). Prints `install: downloaded=N` (packages
# fetched from the network) for the action's package cache.
set -euo pipefail

ppa_uri=https://ppa.launchpadcontent.net/criu/ppa/ubuntu
ppa_fingerprint=4E2A48715C45AEEC077B48169B29EEC9246B6CE2
ppa_key_url="https://keyserver.ubuntu.com/pks/lookup?op=get&search=0x$ppa_fingerprint"
# OBS signs each project with a key it rotates every two years or so; this version of warmstart
# could not read the current one from its machines, so it pins none and refuses OBS rather than
# trust an unpinned key. Set WARMSTART_OBS_CRIU_FINGERPRINT to the fingerprint shown at
# https://build.opensuse.org/projects/devel:tools:criu/signing_keys to allow it.
obs_uri=https://download.opensuse.org/repositories/devel:/tools:/criu
obs_fingerprint=${WARMSTART_OBS_CRIU_FINGERPRINT:-}
keyrings=/etc/apt/keyrings
sources_dir=/etc/apt/sources.list.d
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
# shellcheck source=scripts/lib/criu-probe.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/criu-probe.sh"

command -v apt-get >/dev/null || die "apt-get is missing: install podman, runc and CRIU yourself, or set install: false"
apt_log=$(mktemp)
podman_err=$(mktemp)
trap 'rm -f "$apt_log" "$podman_err"' EXIT

# --- apt ----------------------------------------------------------------------------------------
# A fresh runner's unattended upgrades can hold the dpkg lock for a while: wait, do not fail.
# Network errors: apt retries each download; `update` as a whole is retried too.
apt_options=(-q -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" "$@" >"$apt_log" 2>&1 ||
    { tail -n 20 "$apt_log" >&2 && return 1; }
}
apt_updated=
# The lists are fresh when this script refreshed them in the last five minutes and no source was
# added since: the action's --print-policy run, just before this one, already did.
update_stamp=/var/lib/warmstart/apt-lists-refreshed
lists_fresh() {
  [ -f "$update_stamp" ] || return 1
  [ -z "$(find "$update_stamp" -mmin +5)" ] || return 1
  [ -z "$(find /etc/apt/sources.list /etc/apt/sources.list.d -newer "$update_stamp" 2>/dev/null)" ]
}
apt_update() {
  [ -z "$apt_updated" ] || return 0
  if lists_fresh; then
    apt_updated=1
    return 0
  fi
  local attempt
  for attempt in 1 2 3; do
    if [ "$attempt" = 1 ]; then say "apt-get update"; else say "apt-get update (attempt $attempt)"; fi
    if apt_get update; then
      apt_updated=1
      mkdir -p "$(dirname "$update_stamp")" && touch "$update_stamp"
      return 0
    fi
    sleep $((attempt * 5))
  done
  return 1
}
downloaded=0
apt_install() {
  apt_update || die "apt-get update failed (its output is above): fix the runner's apt sources or network, or set install: false and install $* yourself"
  say "installing $* with apt"
  local before after
  before=$(find "${deb_cache:-/var/cache/apt/archives}" -maxdepth 1 -name '*.deb' 2>/dev/null | wc -l)
  # --allow-downgrades: a CRIU from another source may carry a higher version than the one chosen.
  apt_get install -y --no-install-recommends --allow-downgrades "$@" || return 1
  after=$(find "${deb_cache:-/var/cache/apt/archives}" -maxdepth 1 -name '*.deb' 2>/dev/null | wc -l)
  downloaded=$((downloaded + after - before))
}

# --print-policy: what the distribution's archive offers, for the action's decision. Lists are
# refreshed only when there are none (a runner image ships without them).
if [ "${1:-}" = --print-policy ]; then
  [ -n "${2:-}" ] || die "--print-policy needs a package name"
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then apt_update >&2 || true; fi
  apt-cache policy "$2"
  exit 0
fi

apt_packages=()
criu_sources=()
criu_minimum=4.0
codename=
obs_repository=
deb_cache=
containers_conf=
value() { [ -n "${2:-}" ] || die "$1 needs a value (see the usage at the top of $0)"; }
while [ $# -gt 0 ]; do
  case $1 in
    --apt) value "$@" && apt_packages+=("$2") && shift 2 ;;
    --criu-minimum) value "$@" && criu_minimum=$2 && shift 2 ;;
    --criu-source) value "$@" && criu_sources+=("$2") && shift 2 ;;
    --codename) value "$@" && codename=$2 && shift 2 ;;
    --obs-repository) value "$@" && obs_repository=$2 && shift 2 ;;
    --deb-cache) value "$@" && deb_cache=$2 && shift 2 ;;
    --containers-conf) value "$@" && containers_conf=$2 && shift 2 ;;
    *) die "unknown argument '$1' (see the usage at the top of $0)" ;;
  esac
done
for source in ${criu_sources[@]+"${criu_sources[@]}"}; do
  case $source in archive | ppa | obs) ;; *) die "--criu-source takes archive, ppa or obs, not '$source'" ;; esac
done
if [ -n "$deb_cache" ]; then
  mkdir -p "$deb_cache/partial"
  apt_options+=(-o "Dir::Cache::Archives=$deb_cache")
  # The action (as the runner user) uploads the directory to the Actions cache after this script.
  owner=${SUDO_UID:-0}:${SUDO_GID:-0}
  trap 'rm -f "$apt_log" "$podman_err"; chown -R "$owner" "$deb_cache" 2>/dev/null || true' EXIT
fi

# Writes a file warmstart owns when its content differs, atomically: two jobs on one self-hosted
# runner may write it at once.
write_file() {
  local path=$1 content=$2 mode=${3:-0644}
  [ "$(cat "$path" 2>/dev/null)" != "$content" ] || return 0
  say "writing $path"
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" >"$path.$$.tmp"
  chmod "$mode" "$path.$$.tmp"
  mv -f "$path.$$.tmp" "$path"
}

# The CRIU on PATH is good: recent enough for this kernel, and it dumps a TCP listener.
criu_version() { criu --version 2>/dev/null | awk '/^Version:/ { print $2; exit }'; }
good_criu() {
  local version
  command -v criu >/dev/null || return 1
  version=$(criu_version)
  dpkg --compare-versions "${version:-0}" ge "$criu_minimum" || return 1
  criu_works "$(command -v criu)"
}

# --- 0. Packages an earlier job fetched (the Actions cache) ----------------------------------------
# Installed from the files alone: no `apt-get update`, no network. Any problem (a newer runner
# image, a missing dependency) and the script goes the ordinary way below.
from_cache=
if [ -n "$deb_cache" ] && compgen -G "$deb_cache/*.deb" >/dev/null; then
  say "installing $(find "$deb_cache" -maxdepth 1 -name '*.deb' | wc -l) cached packages without apt-get update"
  if apt_get install -y --no-download --no-install-recommends "$deb_cache"/*.deb && good_criu; then
    from_cache=1
  else
    say "the cached packages did not give a working CRIU: fetching them again"
  fi
fi

# --- 1. podman and runc ---------------------------------------------------------------------------
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
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed (its output is above); set install: false to skip this step and install ${missing[*]} yourself"
fi

# --- 2. podman's configuration for warmstart's calls ----------------------------------------------
# runc, because Ubuntu's crun is built without CRIU, through warmstart's runtime wrapper
# (scripts/lib/runtime-wrapper.sh: CRIU's image directory made traversable for user namespaces,
# and restores from CRIU images warmstart unpacked in memory); cgroupfs and file events, because
# that is how podman runs on this project's own machines, where every checkpoint test passes: the
# one configuration verified. Only warmstart's podman calls read this file, through the variable
# conf_variable_for names: the runner's /etc/containers stays as it is, and with podman >= 4.5 its
# drop-ins still apply. A machine whose podman already runs the wrapper with cgroupfs (such as one
# prepared by setup-host.sh) keeps its own configuration.
# Only podman's stdout is compared: podman 5 warns on stderr (cgroups v1 is deprecated, ...), and
# a warning read as the answer once made this check fail on a podman that worked.
wrapper=/usr/local/lib/warmstart/runc
podman_says() { "$@" 2>"$podman_err"; }
podman_error() { tail -n 3 "$podman_err" | tr '\n' ' '; }
if [ -n "$containers_conf" ]; then
  real_runc=$(command -v runc) || die "runc is not installed: pass --apt runc, or install runc (on Ubuntu it comes with Docker's containerd.io)"
  write_file "$wrapper" "$(sed "s|@REAL_RUNC@|$real_runc|g" "$(dirname "${BASH_SOURCE[0]}")/lib/runtime-wrapper.sh")" 0755
  podman_version=$(podman_says podman version --format '{{.Client.Version}}') ||
    die "podman version fails: $(podman_error); check the podman installation, or set install: false"
  conf_variable=$(conf_variable_for "$podman_version")
  runtime_and_manager() { podman_says env -u CONTAINERS_CONF -u CONTAINERS_CONF_OVERRIDE "$@" podman info --format '{{.Host.OCIRuntime.Path}} {{.Host.CgroupManager}}'; }
  current=$(runtime_and_manager) ||
    die "podman info fails: $(podman_error); check the podman installation, or set install: false"
  if [ "$current" = "$wrapper cgroupfs" ]; then
    say "podman already uses warmstart's runtime wrapper and cgroupfs: keeping its configuration"
  else
    write_file "$containers_conf" "$marker: podman $podman_version reads it for warmstart's calls through $conf_variable.
[engine]
runtime = \"runc\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\"

[engine.runtimes]
runc = [\"$wrapper\"]"
    check=$(runtime_and_manager "$conf_variable=$containers_conf") ||
      die "podman rejects $containers_conf: $(podman_error); services keep podman's own configuration ($current)"
    [ "$check" = "$wrapper cgroupfs" ] || die "podman with $conf_variable=$containers_conf runs '$check', not '$wrapper cgroupfs'"
    say "podman $podman_version was running '$current'; warmstart's podman calls use runc (through $wrapper) and cgroupfs from $containers_conf"
    # The action reads these lines: from here on its podman calls set that variable.
    say "containers-conf-variable=$conf_variable"
    say "containers-conf=$containers_conf"
  fi
fi

# --- 3. CRIU --------------------------------------------------------------------------------------
# A signing key, fetched and checked against its pinned fingerprint before apt may trust it.
pinned_key() {
  local url=$1 fingerprint=$2 keyring=$3 key gnupg actual
  [ -s "$keyring" ] && return 0
  command -v curl >/dev/null || apt_install curl ca-certificates || return 1
  command -v gpg >/dev/null || apt_install gpg || return 1
  key=$(mktemp)
  gnupg=$(mktemp -d) # gpg must not touch root's own keyrings
  say "fetching the signing key $fingerprint from $url"
  if ! curl -fsSL --retry 3 --retry-delay 5 --max-time 60 "$url" -o "$key"; then
    say "cannot download $url"
    rm -rf "$key" "$gnupg"
    return 1
  fi
  actual=$(GNUPGHOME=$gnupg gpg --batch --show-keys --with-colons "$key" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
  if [ "$actual" != "$fingerprint" ]; then
    say "the key served at $url has fingerprint '${actual:-none}', not $fingerprint: refusing it"
    rm -rf "$key" "$gnupg"
    return 1
  fi
  mkdir -p "$(dirname "$keyring")"
  GNUPGHOME=$gnupg gpg --batch --yes --dearmor -o "$keyring.$$.tmp" "$key"
  chmod 0644 "$keyring.$$.tmp"
  mv -f "$keyring.$$.tmp" "$keyring"
  rm -rf "$key" "$gnupg"
}

# Adds a CRIU source to apt; sets added_file to the sources file to remove if it does not serve.
added_file=
add_source() {
  local source=$1 file
  added_file=
  case $source in
    archive) return 0 ;;
    ppa)
      [ -n "$codename" ] || { say "CRIU's PPA needs the Ubuntu release (--codename)" && return 1; }
      file=$sources_dir/warmstart-criu-ppa.sources
      pinned_key "$ppa_key_url" "$ppa_fingerprint" "$keyrings/warmstart-criu-ppa.gpg" || return 1
      write_file "$file" "$marker: CRIU from CRIU upstream's PPA.
Types: deb
URIs: $ppa_uri
Suites: $codename
Components: main
Signed-By: $keyrings/warmstart-criu-ppa.gpg"
      ;;
    obs)
      [ -n "$obs_repository" ] || { say "OBS needs the repository of this release (--obs-repository)" && return 1; }
      [ -n "$obs_fingerprint" ] || {
        say "OBS devel:tools:criu: no pinned key (set WARMSTART_OBS_CRIU_FINGERPRINT to the fingerprint at https://build.opensuse.org/projects/devel:tools:criu/signing_keys to use it)"
        return 1
      }
      file=$sources_dir/warmstart-criu-obs.sources
      pinned_key "$obs_uri/$obs_repository/Release.key" "$obs_fingerprint" "$keyrings/warmstart-criu-obs.gpg" || return 1
      write_file "$file" "$marker: CRIU from the OBS project devel:tools:criu.
Types: deb
URIs: $obs_uri/$obs_repository/
Suites: /
Signed-By: $keyrings/warmstart-criu-obs.gpg"
      ;;
  esac
  # The new source's lists are not fetched yet.
  apt_updated=
  added_file=$file
}

# Installs the CRIU a source offers; succeeds only if it is good (version and TCP-listener dump).
criu_from() {
  local source=$1 file candidate
  add_source "$source" || return 1
  file=$added_file
  if ! apt_update; then
    say "apt-get update fails with $source added: removing it"
    [ -z "$file" ] || rm -f "$file"
    apt_updated=
    return 1
  fi
  candidate=$(apt-cache policy criu | awk '/^ *Candidate:/ { print $2; exit }')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    say "$source offers no criu"
  elif ! dpkg --compare-versions "${candidate#*:}" ge "$criu_minimum"; then
    say "$source offers criu $candidate, older than the $criu_minimum this kernel ($(uname -r)) needs"
  elif ! apt_install "criu=$candidate"; then
    say "installing criu $candidate from $source failed (its output is above)"
  elif ! criu_works "$(command -v criu)"; then
    say "criu $candidate from $source cannot dump a TCP listener on kernel $(uname -r) ($(tail -n 2 /tmp/warmstart-criu-dump.log 2>/dev/null | tr '\n' ' '))"
  else
    say "criu $candidate from $source dumps a TCP listener on kernel $(uname -r)"
    return 0
  fi
  # Not this one: a source that serves nothing useful is not left in apt's configuration.
  [ -z "$file" ] || { rm -f "$file" && apt_updated=; }
  return 1
}

if [ -n "$from_cache" ]; then
  say "criu $(criu_version) from the cached packages dumps a TCP listener on kernel $(uname -r)"
elif good_criu; then
  say "criu $(criu_version) at $(command -v criu) dumps a TCP listener on kernel $(uname -r)"
else
  have=$(criu_version || true)
  tried=()
  for source in ${criu_sources[@]+"${criu_sources[@]}"}; do
    tried+=("$source")
    criu_from "$source" && break
  done
  good_criu || die "no CRIU >= $criu_minimum that dumps a TCP listener on kernel $(uname -r) (had: ${have:-none}; tried: ${tried[*]:-nothing}); install one yourself (CRIU's releases, or your distribution's backports), or set install: false"
fi
say "downloaded=$downloaded"
say "prepared in $SECONDS s"
