// One part of an archive (src/archive/layout.ts) unpacked by root's tar, for a volume and for the
// checkpoint's CRIU images alike. The part's bytes reach tar without its decompressed bytes ever
// passing through Node: from a local file, root's dd reads the range and warmstart hashes the same
// range on its own read (sha256OfRange); from a stream (a registry's blob), warmstart feeds the
// compressed bytes to root's stdin, hashing them as they go. Relaying the bytes through Node
// instead made Node's one thread the bottleneck of a warm restore on a 2-core runner (memcached's
// 471 MiB checkpoint: 2.0 s against 1.0-1.2 s for zstd | tar alone; a 62 MB volume slice: 1.5 s
// against 1.05-1.15 s). From a file the two reads see the same bytes unless the file changes in
// between, which takes write access to warmstart's own store or download directory.
import { createHash } from 'node:crypto'
import type { Readable, Writable } from 'node:stream'
import type { Podman } from '../podman.js'
import { startPipeline } from '../process.js'
import { isZstd } from './inspect.js'
import { peek, readHead, sha256OfRange, type ArchiveSource, type ByteRange } from './source.js'

/**
 * As root: reads the part (dd from the file $2, or stdin when $2 is empty), decompresses it when
 * it is zstd, and unpacks it into $1 with tar's options after $5.
 */
const UNPACK = `set -eu -o pipefail
dir=$1 file=$2 offset=$3 bytes=$4 format=$5
shift 5
if [ -n "$file" ]; then
  dd if="$file" iflag=skip_bytes,count_bytes skip="$offset" count="$bytes" bs=1M status=none
else
  cat
fi |
  if [ "$format" = zstd ]; then zstd -dcq; else cat; fi |
  LC_ALL=C tar -x --numeric-owner -C "$dir" "$@"`

export interface UnpackedPart {
  /** The SHA-256 of the part's bytes as stored (the caller compares it with the manifest's). */
  sha256: string
  /** What tar printed (its listing, when `tarOptions` ask for one). */
  stdout: Buffer
  /** Why tar (or dd, or zstd) failed, if it did; tar has exited either way. */
  failed?: unknown
}

/**
 * Unpacks `part` of `archive` into `into` as root. Throws only when the source fails (a registry
 * gone away: its reason says more than a tar cut short); a failed tar is returned, so that the
 * caller decides what to report first.
 */
export async function unpackPart(
  podman: Podman,
  archive: ArchiveSource,
  part: ByteRange,
  into: string,
  options: { what: string; tarOptions?: string[] }
): Promise<UnpackedPart> {
  const file = archive.path
  // A stream that cannot rewind: its first chunk says whether it is zstd, and goes on to tar.
  const streamed = file ? undefined : await peek(archive.read(part))
  const head = file ? readHead(file, part.offset, 4) : streamed?.first
  const format = head && isZstd(head) ? 'zstd' : 'tar'
  const range = file ? [file, String(part.offset), String(part.bytes)] : ['', '', '']
  const argv = podman.asRoot([
    'bash',
    '-c',
    UNPACK,
    'bash',
    into,
    ...range,
    format,
    ...(options.tarOptions ?? [])
  ])
  const untar = startPipeline(argv, options.what, {
    stdin: streamed ? 'pipe' : 'ignore',
    stdout: 'pipe'
  })
  const stdout: Buffer[] = []
  untar.child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
  const hashing = streamed
    ? feedHashed(streamed.stream, untar.child.stdin as Writable)
    : sha256OfRange(file as string, part)
  // allSettled: tar has finished writing before any failure is reported.
  const [unpacked, hashed] = await Promise.allSettled([untar.exited, hashing])
  if (hashed.status === 'rejected') throw hashed.reason
  return {
    sha256: hashed.value,
    stdout: Buffer.concat(stdout),
    failed: unpacked.status === 'rejected' ? unpacked.reason : undefined
  }
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
