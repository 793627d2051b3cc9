// The in-memory restore: the checkpoint part streams from the archive through zstd into a root
// `tar -x` in a directory of warmstart's tmpfs area, while its bytes are hashed and its tar
// entries checked as for podman's import (src/archive/inspect.ts), from tar's own listing of
// what it unpacks (see unpackListed); podman is then given a slim archive: everything but CRIU's
// images, plus checkpoint/inventory.img and descriptors.json (podman and runc read them) and a
// marker naming the directory. podman extracts that small archive; the runtime wrapper
// (scripts/lib/runtime-wrapper.sh) finds the marker and points runc's --image-path at the
// directory, which it refuses unless it is this area's. The pages are written once, to memory,
// instead of to a decompressed tar and then again onto podman's storage on the disk, and read
// back from there.
//
// What a tar unpacks is checked after it ran: one GNU tar, in a fresh directory only root can
// write, does not write outside it (it drops leading / and .. and never writes through a link it
// made), as with the volumes (src/volumes.ts); a checkpoint that fails a check is removed before
// podman or CRIU sees it.
import { assertCheckpointPart, IMAGE_PATH_MARKER, type Inspection } from '../archive/inspect.js'
import type { CheckpointPart } from '../archive/layout.js'
import type { ArchiveSource } from '../archive/source.js'
import { parseTarListing } from '../archive/tar-listing.js'
import { unpackPart } from '../archive/unpack-part.js'
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
 * As root: checks the area (made if missing) and makes a new restore directory in it, with an
 * empty `slim/` to unpack into. Fails when the area is not root's with mode 0711: someone else
 * made it, and it is not used.
 */
const CREATE = `set -eu
area=$1
umask 077
[ -e "$area" ] || { mkdir -p "$area" && chmod 0711 "$area"; }
if [ -L "$area" ] || [ "$(stat -c %u:%a "$area")" != 0:711 ]; then
  echo "$area is not root's with mode 0711; not using it" >&2
  exit 3
fi
dir=$(mktemp -d "$area/restore.XXXXXXXX")
chmod 0711 "$dir"
mkdir "$dir/slim"
echo "$dir"`

/**
 * As root, after the checkpoint part is unpacked into `slim/` and checked: CRIU's images move to
 * `images/`, and what podman needs is packed with the marker into `slim.tar`.
 */
const FINISH = `set -eu
dir=$1 marker=$2
[ -f "$dir/slim/checkpoint/inventory.img" ] || { echo "the checkpoint has no checkpoint/inventory.img" >&2; exit 4; }
mv "$dir/slim/checkpoint" "$dir/images"
mkdir "$dir/slim/checkpoint"
for file in inventory.img descriptors.json; do
  [ ! -f "$dir/images/$file" ] || cp -p "$dir/images/$file" "$dir/slim/checkpoint/"
done
printf '%s\\n' "$dir/images" >"$dir/slim/checkpoint/$marker"
tar -C "$dir/slim" -cf "$dir/slim.tar" .
rm -rf "$dir/slim"`

/** A new restore directory in the area; throws (nothing made) when the area is not warmstart's. */
export async function createImageDir(podman: Podman): Promise<string> {
  const argv = podman.asRoot(['sh', '-c', CREATE, 'sh', IMAGE_AREA])
  const dir = (await collectOutput(argv, `making a directory in ${IMAGE_AREA}`))
    .toString('utf8')
    .trim()
  if (!dir.startsWith(`${IMAGE_AREA}/restore.`)) {
    throw new Error(`making a directory in ${IMAGE_AREA} said '${dir}', not a directory`)
  }
  return dir
}

/**
 * Unpacks the checkpoint part into `dir` (made by createImageDir), checks its SHA-256 and its tar
 * entries, and makes the slim archive. Throws when anything is wrong; the caller removes `dir`.
 */
export async function unpackImages(
  podman: Podman,
  archive: ArchiveSource,
  part: CheckpointPart,
  dir: string
): Promise<ImageDir> {
  const { inspection, untarFailed } = await unpackListed(podman, archive, part, `${dir}/slim`)
  assertCheckpointPart(inspection, part)
  if (untarFailed) throw untarFailed
  const argv = podman.asRoot(['sh', '-c', FINISH, 'sh', dir, IMAGE_PATH_MARKER])
  await collectOutput(argv, 'packing what podman needs of the checkpoint')
  return { slimArchive: `${dir}/slim.tar`, images: `${dir}/images` }
}

/**
 * Unpacks the part into `into` (src/archive/unpack-part.ts), tar listing every member it writes
 * (src/archive/tar-listing.ts): warmstart checks each entry of the very stream tar unpacks,
 * without the plain tar passing through Node.
 */
async function unpackListed(
  podman: Podman,
  archive: ArchiveSource,
  part: CheckpointPart,
  into: string
): Promise<{ inspection: Inspection; untarFailed?: unknown }> {
  const unpacked = await unpackPart(podman, archive, part, into, {
    what: 'unpacking the checkpoint into memory',
    tarOptions: ['-vv', '--quoting-style=c']
  })
  const { entries, problems } = parseTarListing(unpacked.stdout.toString('latin1'))
  const inspection: Inspection = {
    sha256: unpacked.sha256,
    bytes: part.bytes,
    entries,
    unpackedBytes: entries.reduce((sum, entry) => sum + entry.size, 0),
    importPath: '',
    unreadable: problems.length ? problems.slice(0, 3).join('; ') : undefined
  }
  // Reported after the checks, which say more.
  return { inspection, untarFailed: unpacked.failed }
}

/** Removes a restore directory (as root); one already gone is fine. */
export async function removeImageDir(podman: Podman, dir: string): Promise<void> {
  if (!dir.startsWith(`${IMAGE_AREA}/restore.`)) return
  await collectOutput(podman.asRoot(['rm', '-rf', '--', dir]), `removing ${dir}`)
}
