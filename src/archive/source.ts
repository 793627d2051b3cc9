// Where a stored archive's bytes are read from: a local file (the local directory, the Actions
// cache's download, an archive just made), or a store that streams each part from elsewhere (an
// OCI registry, whose parts are blobs). The restore reads every part through this, once or
// twice (a volume's slice 0 is listed, then unpacked), and checks each part's SHA-256 itself;
// from a local file, root's dd reads a part for its tar and warmstart hashes the same range on
// its own read (sha256OfRange): piping every byte through Node costs CPU the unpack needs.
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs'
import { Readable } from 'node:stream'

/** Bytes `offset` to `offset + bytes` of a file: one part of an archive (src/archive/layout.ts). */
export interface ByteRange {
  offset: number
  bytes: number
}

/** The options of createReadStream that read `range` (its `end` is inclusive). */
export function streamRange(range?: ByteRange): { start?: number; end?: number } {
  if (!range) return {}
  return { start: range.offset, end: range.offset + range.bytes - 1 }
}

export interface ArchiveSource {
  /** The archive's size in bytes. */
  readonly bytes: number
  /** The local file holding the archive, when there is one (podman can import a part in place). */
  readonly path?: string
  /**
   * A stream of exactly the bytes of `range` (a part of the archive, src/archive/layout.ts), or
   * of the whole archive.
   */
  read(range?: ByteRange): Readable
}

/** An archive in a local file. Throws (ENOENT) when there is none. */
export function fileSource(path: string): ArchiveSource {
  const bytes = statSync(path).size
  return {
    bytes,
    path,
    // createReadStream has no empty range (its `end` is inclusive).
    read: (range) =>
      range?.bytes === 0 ? Readable.from([]) : createReadStream(path, streamRange(range))
  }
}

/** Large reads: a part is read once, start to end, and the hash costs per call (64 KiB by default). */
const READ_CHUNK = 1 << 20

/** The SHA-256 of `range` of a local file, read on its own (a truncated file hashes short). */
export async function sha256OfRange(path: string, range: ByteRange): Promise<string> {
  const hash = createHash('sha256')
  if (range.bytes > 0) {
    const stream = createReadStream(path, { ...streamRange(range), highWaterMark: READ_CHUNK })
    for await (const chunk of stream) hash.update(chunk as Buffer)
  }
  return hash.digest('hex')
}

/** Up to `length` bytes of a local file from `offset` (fewer at its end). */
export function readHead(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r')
  try {
    const buffer = Buffer.alloc(length)
    return buffer.subarray(0, readSync(fd, buffer, 0, length, offset))
  } finally {
    closeSync(fd)
  }
}

/** The stream's first chunk, and a stream of all of it (that chunk included). */
export async function peek(source: Readable): Promise<{ first?: Buffer; stream: Readable }> {
  const chunks = source[Symbol.asyncIterator]()
  const head = await chunks.next()
  const first = head.done ? undefined : (head.value as Buffer)
  const rest = { [Symbol.asyncIterator]: () => chunks }
  async function* all(): AsyncGenerator<Buffer> {
    if (first) yield first
    for await (const chunk of rest) yield chunk as Buffer
  }
  return { first, stream: Readable.from(all()) }
}
