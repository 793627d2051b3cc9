// The in-memory restore: the checkpoint part streams from the archive through zstd into a root
// `tar -x` in a directory of warmstart's tmpfs area, while its bytes are hashed and its tar
// entries checked (src/archive/inspect.ts) as for podman's import (from a local file, root reads
// and decompresses the part itself and tar's own listing of what it unpacks is checked: see
// UNPACK_FROM_FILE); podman is then given a slim archive: everything but CRIU's images, plus
// checkpoint/inventory.img and descriptors.json (podman and runc read them) and a marker naming
// the directory. podman extracts that small archive; the runtime wrapper
// (scripts/lib/runtime-wrapper.sh) finds the marker and points runc's --image-path at the
// directory, which it refuses unless it is this area's. The pages are written once, to memory,
// instead of to a decompressed tar and then again onto podman's storage on the disk, and read
// back from there.
//
// What a tar unpacks is checked after it ran: one GNU tar, in a fresh directory only root can
// write, does not write outside it (it drops leading / and .. and never writes through a link it
// made), as with the volumes (src/volumes.ts); a checkpoint that fails a check is removed before
// podman or CRIU sees it.
import {
  assertCheckpointPart,
  IMAGE_PATH_MARKER,
  inspectArchive,
  isZstd,
  type Inspection
} from '../archive/inspect.js'
import type { CheckpointPart } from '../archive/layout.js'
import { readHead, sha256OfRange, type ArchiveSource } from '../archive/source.js'
import { parseTarListing } from '../archive/tar-listing.js'
import type { Podman } from '../podman.js'
import { collectOutput, startPipeline } from '../process.js'

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
  const { inspection, untarFailed } = archive.path
    ? await unpackFromFile(podman, archive.path, part, dir)
    : await unpackFromStream(podman, archive, part, dir)
  assertCheckpointPart(inspection, part)
  if (untarFailed) throw untarFailed
  const argv = podman.asRoot(['sh', '-c', FINISH, 'sh', dir, IMAGE_PATH_MARKER])
  await collectOutput(argv, 'packing what podman needs of the checkpoint')
  return { slimArchive: `${dir}/slim.tar`, images: `${dir}/images` }
}

interface Unpacked {
  /** What was read of the part: its SHA-256 and its tar entries. */
  inspection: Inspection
  /** Why the unpacking failed, if it did (reported after the checks, which say more). */
  untarFailed?: unknown
}

/** A part streamed from elsewhere (a registry's blob): Node hashes it and feeds zstd and tar. */
async function unpackFromStream(
  podman: Podman,
  archive: ArchiveSource,
  part: CheckpointPart,
  dir: string
): Promise<Unpacked> {
  const untar = startPipeline(
    podman.asRoot(['tar', '-x', '--numeric-owner', '-C', `${dir}/slim`]),
    'unpacking the checkpoint into memory',
    { stdin: 'pipe', stdout: 'ignore' }
  )
  const inspecting = inspectArchive(archive, {
    range: part,
    plainSink: untar.child.stdin ?? undefined
  })
  inspecting.catch(() => undefined) // awaited below, once tar has exited
  // Whatever happens, tar has finished writing before anyone removes the directory.
  const untarFailed = await untar.exited.then(
    () => undefined,
    (error: unknown) => error
  )
  return { inspection: await inspecting, untarFailed }
}

/**
 * As root, for a part in a local file: dd reads it, zstd decompresses it (when it is zstd) and tar
 * unpacks it, listing every member it writes (src/archive/tar-listing.ts), so that warmstart
 * checks each entry of the very stream tar unpacks without that stream passing through Node;
 * warmstart hashes the part on its own read meanwhile. Relaying the plain tar through Node
 * doubled the unpack of memcached's 471 MiB checkpoint here (2.0 s against 1.0-1.2 s for
 * zstd | tar alone): on a 2-core runner Node's one thread was the bottleneck.
 */
const UNPACK_FROM_FILE = `set -eu -o pipefail
dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none |
  if [ "$4" = zstd ]; then zstd -dcq; else cat; fi |
  LC_ALL=C tar -x -vv --numeric-owner --quoting-style=c -C "$5"`

async function unpackFromFile(
  podman: Podman,
  path: string,
  part: CheckpointPart,
  dir: string
): Promise<Unpacked> {
  const format = isZstd(readHead(path, part.offset, 4)) ? 'zstd' : 'tar'
  const argv = podman.asRoot([
    'bash',
    '-c',
    UNPACK_FROM_FILE,
    'bash',
    path,
    String(part.offset),
    String(part.bytes),
    format,
    `${dir}/slim`
  ])
  const untar = startPipeline(argv, 'unpacking the checkpoint into memory', { stdout: 'pipe' })
  const listing: Buffer[] = []
  untar.child.stdout?.on('data', (chunk: Buffer) => listing.push(chunk))
  // The hash is of the part as stored: the bytes dd reads, from warmstart's own read.
  const [unpacked, hashed] = await Promise.allSettled([untar.exited, sha256OfRange(path, part)])
  if (hashed.status === 'rejected') throw hashed.reason
  const { entries, problems } = parseTarListing(Buffer.concat(listing).toString('latin1'))
  const inspection: Inspection = {
    sha256: hashed.value,
    bytes: part.bytes,
    entries,
    unpackedBytes: entries.reduce((sum, entry) => sum + entry.size, 0),
    importPath: '',
    unreadable: problems.length ? problems.slice(0, 3).join('; ') : undefined
  }
  return { inspection, untarFailed: unpacked.status === 'rejected' ? unpacked.reason : undefined }
}

/** Removes a restore directory (as root); one already gone is fine. */
export async function removeImageDir(podman: Podman, dir: string): Promise<void> {
  if (!dir.startsWith(`${IMAGE_AREA}/restore.`)) return
  await collectOutput(podman.asRoot(['rm', '-rf', '--', dir]), `removing ${dir}`)
}
