#!/bin/sh
# warmstart-runtime-wrapper 2
# The OCI runtime warmstart's podman calls use: runc (@REAL_RUNC@), with three additions for
# checkpoint and restore. warmstart reads the version on the line above to know what it may ask.
# 1. The CRIU that warmstart installed comes first on PATH (runc looks criu up on PATH).
# 2. runc creates the checkpoint image directory mode 0600; CRIU restoring into a user namespace
#    needs to traverse it, so it is made 0711 before runc starts.
# 3. A restore's CRIU images may already be unpacked in memory: when the image directory podman
#    made holds a file `warmstart-image-path`, runc is pointed at the directory it names instead,
#    so the pages never go through podman's copy on the disk. That directory must be warmstart's:
#    AREA/restore.XXXXXXXX/images, AREA root's with mode 0711 (traversable for CRIU restoring into
#    a user namespace, never listable), no link anywhere on the way, the directory root's. Anything else is refused: runc does not run, the restore fails, and
#    warmstart starts the service cold.
# Installed by scripts/setup-host.sh (this project's machines) and scripts/install-runner.sh.
PATH=/usr/local/sbin:/usr/local/bin:$PATH
export PATH
area=/dev/shm/warmstart-images
marker=warmstart-image-path

refuse() {
  echo "warmstart runtime wrapper: refusing the image directory '$1' named by $2: $3" >&2
  exit 1
}

# The directory a marker names, once it is proven to be warmstart's; refuses otherwise.
redirect_target() {
  file=$1/$marker
  if [ -L "$file" ] || [ ! -f "$file" ]; then refuse "?" "$file" "the marker is not a plain file"; fi
  target=$(head -n 1 "$file")
  case $target in
    "$area"/restore.*/images) ;;
    *) refuse "$target" "$file" "not in $area" ;;
  esac
  case $target in *..* | *//*) refuse "$target" "$file" "not a plain path" ;; esac
  [ "$(realpath -e "$target" 2>/dev/null)" = "$target" ] || refuse "$target" "$file" "a link, or missing"
  [ "$(stat -c %u:%a "$area")" = 0:711 ] || refuse "$target" "$file" "$area is not root's with mode 0711"
  if [ ! -d "$target" ] || [ "$(stat -c %u "$target")" != 0 ]; then
    refuse "$target" "$file" "not a directory of root's"
  fi
  echo "$target"
}

# Rewrites --image-path DIR (or --image-path=DIR) when DIR holds the marker.
previous=
for arg in "$@"; do
  shift
  case $previous in
    --image-path) if [ -e "$arg/$marker" ]; then arg=$(redirect_target "$arg") || exit 1; fi ;;
  esac
  case $arg in
    --image-path=*)
      if [ -e "${arg#--image-path=}/$marker" ]; then
        arg=--image-path=$(redirect_target "${arg#--image-path=}") || exit 1
      fi
      ;;
  esac
  set -- "$@" "$arg"
  previous=$arg
done

previous=
for arg in "$@"; do
  case $previous in --image-path) [ -d "$arg" ] && chmod 0711 "$arg" ;; esac
  case $arg in --image-path=*) [ -d "${arg#--image-path=}" ] && chmod 0711 "${arg#--image-path=}" ;; esac
  previous=$arg
done
exec @REAL_RUNC@ "$@"
