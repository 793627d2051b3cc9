// The in-memory restore: the checkpoint's CRIU images are unpacked (as root) into a directory of
// warmstart's tmpfs area, and podman is given a slim archive: everything but the images, plus
// checkpoint/inventory.img and descriptors.json (podman and runc look for them) and a marker
// naming the directory. podman extracts that small archive; the runtime wrapper
// (scripts/lib/runtime-wrapper.sh) finds the marker and points runc's --image-path at the
// directory, which it refuses unless it is this area's. The pages are then written once, to
// memory, instead of a second time onto podman's storage on the disk and read back from it.
import { IMAGE_PATH_MARKER } from '../archive/inspect.js'
import type { Podman } from '../podman.js'
import { collectOutput } from '../process.js'

/** warmstart's area for CRIU images: root's, mode 0711; the wrapper accepts nothing else. */
export const IMAGE_AREA = '/dev/shm/warmstart-images'

export interface ImageDir {
  /** The slim archive podman imports. */
  slimArchive: string
  /** The directory of CRIU images the wrapper points runc at. */
  images: string
}

/**
 * As root: checks the area (made if missing), unpacks the checked checkpoint tar into a new
 * directory there, moves the CRIU images aside and packs the rest with the marker. Fails, leaving
 * nothing, when the area is not root's with mode 0711 (someone else made it: not used).
 */
const PREPARE = `set -eu
area=$1 tar_file=$2 marker=$3
umask 077
[ -e "$area" ] || { mkdir -p "$area" && chmod 0711 "$area"; }
if [ -L "$area" ] || [ "$(stat -c %u:%a "$area")" != 0:711 ]; then
  echo "$area is not root's with mode 0711; not using it" >&2
  exit 3
fi
dir=$(mktemp -d "$area/restore.XXXXXXXX")
trap 'rm -rf "$dir"' EXIT
chmod 0711 "$dir"
mkdir "$dir/slim"
tar -C "$dir/slim" -xf "$tar_file"
[ -f "$dir/slim/checkpoint/inventory.img" ] || { echo "the checkpoint has no checkpoint/inventory.img" >&2; exit 4; }
mv "$dir/slim/checkpoint" "$dir/images"
mkdir "$dir/slim/checkpoint"
for file in inventory.img descriptors.json; do
  [ ! -f "$dir/images/$file" ] || cp -p "$dir/images/$file" "$dir/slim/checkpoint/"
done
printf '%s\\n' "$dir/images" >"$dir/slim/checkpoint/$marker"
tar -C "$dir/slim" -cf "$dir/slim.tar" .
rm -rf "$dir/slim"
trap - EXIT
echo "$dir"`

export async function prepareImageDir(podman: Podman, checkpointTar: string): Promise<ImageDir> {
  const argv = podman.asRoot([
    'sh',
    '-c',
    PREPARE,
    'sh',
    IMAGE_AREA,
    checkpointTar,
    IMAGE_PATH_MARKER
  ])
  const dir = (await collectOutput(argv, 'unpacking the CRIU images into memory'))
    .toString('utf8')
    .trim()
  if (!dir.startsWith(`${IMAGE_AREA}/restore.`)) {
    throw new Error(`unpacking the CRIU images into memory said '${dir}', not a directory`)
  }
  return { slimArchive: `${dir}/slim.tar`, images: `${dir}/images` }
}

/** Removes what prepareImageDir made (as root); a directory already gone is fine. */
export async function removeImageDir(podman: Podman, imageDir: ImageDir): Promise<void> {
  const dir = imageDir.images.replace(/\/images$/, '')
  if (!dir.startsWith(`${IMAGE_AREA}/restore.`)) return
  await collectOutput(podman.asRoot(['rm', '-rf', '--', dir]), `removing ${dir}`)
}
