// The in-memory restore: the checkpoint part streams from the archive through zstd into a root
// `tar -x` in a directory of warmstart's tmpfs area, while its bytes are hashed and its tar
// entries checked as for podman's import (src/archive/inspect.ts), from tar's own listing of
// what it unpacks (see UNPACK); podman is then given a slim archive: everything but CRIU's
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
import { createHash } from 'node:crypto'
import type { Readable, Writable } from 'node:stream'
import {
  assertCheckpointPart,
  IMAGE_PATH_MARKER,
  isZstd,
  type Inspection
} from '../archive/inspect.js'
import type { CheckpointPart } from '../archive/layout.js'
import { peek, readHead, sha256OfRange, type ArchiveSource } from '../archive/source.js'
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
  const { inspection, untarFailed } = await unpackListed(podman, archive, part, `${dir}/slim`)
  assertCheckpointPart(inspection, part)
  if (untarFailed) throw untarFailed
  const argv = podman.asRoot(['sh', '-c', FINISH, 'sh', dir, IMAGE_PATH_MARKER])
  await collectOutput(argv, 'packing what podman needs of the checkpoint')
  return { slimArchive: `${dir}/slim.tar`, images: `${dir}/images` }
}

/**
 * As root: reads the part (dd, from a local file; else stdin, which warmstart feeds from the
 * store's stream), decompresses it when it is zstd, and unpacks it into $5, tar listing every
 * member it writes (src/archive/tar-listing.ts). warmstart checks each entry of the very stream
 * tar unpacks, and the plain tar never passes through Node: relaying it through Node doubled the
 * unpack of memcached's 471 MiB checkpoint here (2.0 s against 1.0-1.2 s for zstd | tar alone),
 * Node's one thread being the bottleneck on a 2-core runner.
 */
const UNPACK = `set -eu -o pipefail
if [ -n "$1" ]; then
  dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none
else
  cat
fi |
  if [ "$4" = zstd ]; then zstd -dcq; else cat; fi |
  LC_ALL=C tar -x -vv --numeric-owner --quoting-style=c -C "$5"`

interface Unpacked {
  /** What was read of the part: its SHA-256 and the entries tar unpacked. */
  inspection: Inspection
  /** Why the unpacking failed, if it did (reported after the checks, which say more). */
  untarFailed?: unknown
}

async function unpackListed(
  podman: Podman,
  archive: ArchiveSource,
  part: CheckpointPart,
  into: string
): Promise<Unpacked> {
  const local = archive.path
  // A stream that cannot rewind: its first chunk says whether it is zstd, and goes on to tar.
  const streamed = local ? undefined : await peek(archive.read(part))
  const head = local ? readHead(local, part.offset, 4) : streamed?.first
  const format = head && isZstd(head) ? 'zstd' : 'tar'
  const range = local ? [local, String(part.offset), String(part.bytes)] : ['', '', '']
  const argv = podman.asRoot(['bash', '-c', UNPACK, 'bash', ...range, format, into])
  const untar = startPipeline(argv, 'unpacking the checkpoint into memory', {
    stdin: streamed ? 'pipe' : 'ignore',
    stdout: 'pipe'
  })
  const listing: Buffer[] = []
  untar.child.stdout?.on('data', (chunk: Buffer) => listing.push(chunk))
  // The hash is of the part as stored: from a local file, warmstart's own read of the range dd
  // reads; from a stream, the bytes as they go by to tar.
  const hashing = streamed
    ? feedHashed(streamed.stream, untar.child.stdin as Writable)
    : sha256OfRange(local as string, part)
  const [unpacked, hashed] = await Promise.allSettled([untar.exited, hashing])
  // A source that failed (a registry gone away) says why itself.
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

/**
 * Writes `stream` into `sink` and returns the SHA-256 of all of it. A sink that fails (its tar
 * quit) is fed no more, but the stream is still read and hashed to its end, so that a damaged
 * part is named by its hash; the sink is ended whatever happens, or its tar would wait forever.
 */
async function feedHashed(stream: Readable, sink: Writable): Promise<string> {
  const hash = createHash('sha256')
  let feeding = true
  sink.on('error', () => (feeding = false))
  try {
    for await (const chunk of stream) {
      hash.update(chunk as Buffer)
      if (feeding && !sink.write(chunk)) await drainedOrClosed(sink)
    }
  } finally {
    sink.end()
  }
  return hash.digest('hex')
}

/** Whichever comes first; the other listener goes, or they pile up over a long part. */
function drainedOrClosed(sink: Writable): Promise<void> {
  return new Promise((resume) => {
    const done = (): void => {
      sink.off('drain', done)
      sink.off('close', done)
      resume()
    }
    sink.once('drain', done)
    sink.once('close', done)
  })
}

/** Removes a restore directory (as root); one already gone is fine. */
export async function removeImageDir(podman: Podman, dir: string): Promise<void> {
  if (!dir.startsWith(`${IMAGE_AREA}/restore.`)) return
  await collectOutput(podman.asRoot(['rm', '-rf', '--', dir]), `removing ${dir}`)
}
