// Checks a checkpoint archive before podman sees it, in one read of the file: its SHA-256, and
// the tar entries at its top level. Restoring runs the archive's contents as root, so only what a
// podman export contains passes: regular files and directories at relative paths inside the
// archive, no `..`, no absolute paths, no links, no device nodes, and a bound on the unpacked size.
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { closeSync, openSync } from 'node:fs'
import { open } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { startPipeline } from '../process.js'
import { fileSource, type ArchiveSource, type ByteRange } from './source.js'

export interface ArchiveEntry {
  path: string
  /** tar type flag: '0' file, '5' directory, '2' symlink, '1' hard link, '3'/'4' devices, ... */
  type: string
  size: number
  linkTarget: string
}

/** Why an archive entry must not reach podman, or undefined when it may. */
export function entryProblem(entry: ArchiveEntry): string | undefined {
  const path = entry.path.replace(/^\.\//, '')
  if (entry.path.startsWith('/')) return `${entry.path}: absolute path`
  if (path.split('/').includes('..')) return `${entry.path}: leaves the archive (..)`
  if (entry.type === '2' || entry.type === '1') return `${entry.path}: link to ${entry.linkTarget}`
  if (entry.type === '3' || entry.type === '4') return `${entry.path}: device node`
  if (entry.type !== '0' && entry.type !== '5' && entry.type !== '\0' && entry.type !== '7') {
    return `${entry.path}: not a regular file or directory (tar type ${JSON.stringify(entry.type)})`
  }
  return undefined
}

/** Reads tar headers from a stream of tar bytes, skipping the data: ustar, GNU long names, pax. */
export class TarWalker {
  private buffer: Buffer = Buffer.alloc(0)
  /** Bytes of entry data still to pass over before the next header. */
  skip = 0
  private longName?: string
  private longLink?: string
  private pax: Record<string, string> = {}
  private paxPending?: { type: 'x' | 'g' | 'L' | 'K'; size: number }
  ended = false
  readonly entries: ArchiveEntry[] = []

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk
    for (;;) {
      if (this.skip > 0) {
        const skipped = Math.min(this.skip, this.buffer.length)
        this.buffer = this.buffer.subarray(skipped)
        this.skip -= skipped
        if (this.skip > 0) return
      }
      if (this.paxPending) {
        const padded = Math.ceil(this.paxPending.size / 512) * 512
        if (this.buffer.length < padded) return
        const raw = this.buffer.subarray(0, this.paxPending.size)
        const body = raw.toString('utf8')
        this.buffer = this.buffer.subarray(padded)
        const { type } = this.paxPending
        this.paxPending = undefined
        if (type === 'L') this.longName = body.replace(/\0.*$/s, '')
        else if (type === 'K') this.longLink = body.replace(/\0.*$/s, '')
        else if (type === 'x') this.pax = parsePax(raw)
        continue
      }
      if (this.ended || this.buffer.length < 512) return
      const header = this.buffer.subarray(0, 512)
      this.buffer = this.buffer.subarray(512)
      if (header.every((byte) => byte === 0)) {
        this.ended = true
        return
      }
      this.header(header)
    }
  }

  private header(header: Buffer): void {
    const text = (start: number, length: number): string =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '')
    const type = String.fromCharCode(header[156] ?? 0)
    const size = parseSize(header.subarray(124, 136))
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      this.paxPending = { type, size }
      return
    }
    // POSIX ustar ("ustar\0") has a name prefix at 345; GNU tar ("ustar  ") keeps times there.
    const posix = header.subarray(257, 263).toString('latin1') === 'ustar\0'
    const prefix = posix ? text(345, 155) : ''
    const name =
      this.pax.path ?? this.longName ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100))
    const linkTarget = this.pax.linkpath ?? this.longLink ?? text(157, 100)
    const realSize = this.pax.size !== undefined ? Number(this.pax.size) : size
    this.entries.push({ path: name, type, size: realSize, linkTarget })
    this.pax = {}
    this.longName = undefined
    this.longLink = undefined
    // Links, devices, directories and fifos ('1'-'6') carry no data; every other type may.
    const hasData = !'123456'.includes(type)
    this.skip = hasData ? Math.ceil(realSize / 512) * 512 : 0
  }
}

function parseSize(field: Buffer): number {
  // Base-256 for sizes over 8 GiB (high bit set), else octal text.
  if ((field[0] ?? 0) & 0x80) {
    let value = 0
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0)
    return value
  }
  return parseInt(field.toString('ascii').replace(/[\0 ]/g, '') || '0', 8)
}

/** pax records are `LENGTH key=value\n`, LENGTH counting the whole record: values may hold newlines. */
function parsePax(body: Buffer): Record<string, string> {
  const records: Record<string, string> = {}
  let at = 0
  while (at < body.length) {
    const space = body.indexOf(0x20, at)
    if (space < 0) break
    const length = Number(body.subarray(at, space).toString('latin1'))
    if (!Number.isInteger(length) || length <= space - at) break
    const record = body.subarray(space + 1, at + length - 1).toString('utf8')
    const equals = record.indexOf('=')
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1)
    at += length
  }
  return records
}

export interface Inspection {
  sha256: string
  bytes: number
  entries: ArchiveEntry[]
  unpackedBytes: number
  /** Why the archive could not be read through, if it could not. */
  unreadable?: string
  /**
   * The plain tar to import: the decompressed copy when one was written, else the archive's file
   * (empty when the archive is not in a local file).
   */
  importPath: string
}

/** Compresses a plain tar for storage, with every core, and removes the plain one. */
export async function compressArchive(plain: string, compressed: string): Promise<void> {
  await startPipeline(
    ['zstd', '-q', '-3', '-T0', '--rm', '-f', plain, '-o', compressed],
    `zstd compressing ${plain}`,
    { stdout: 'ignore' }
  ).exited
}

/**
 * Hashes the archive (or one part of it, `range`) and lists its tar entries: the compressed bytes
 * go to the hash and, through `zstd -dc` when the archive is zstd-compressed, to the tar walker.
 * With `decompressTo`, zstd writes the decompressed tar there instead and the walker reads that
 * file afterwards (from the page cache), which costs less than passing every byte through here:
 * podman imports a plain tar twice as fast as it decompresses zstd itself.
 */
export async function inspectArchive(
  archive: string | ArchiveSource,
  options: {
    decompressTo?: string
    range?: ByteRange
    /**
     * Also receives the plain tar as it goes by (the copy of a plain part podman imports:
     * src/engine/restore.ts), and is ended after the last byte; not with `decompressTo`.
     */
    plainSink?: Writable
  } = {}
): Promise<Inspection> {
  const sink = options.plainSink
  // A sink that quits early (its tar failed) is not fed further; its own exit status says why.
  let sinking = sink !== undefined
  sink?.on('error', () => (sinking = false))
  const hash = createHash('sha256')
  const walker = new TarWalker()
  let bytes = 0
  let zstd: ChildProcess | undefined
  let zstdRunning = false
  let unreadable: Promise<string | undefined> = Promise.resolve(undefined)
  let output: number | undefined
  const source = typeof archive === 'string' ? fileSource(archive) : archive
  try {
    for await (const data of source.read(options.range)) {
      const chunk = data as Buffer
      if (bytes === 0 && isZstd(chunk)) {
        if (options.decompressTo) output = openSync(options.decompressTo, 'w', 0o600)
        const { child, exited } = startPipeline(['zstd', '-dcq'], 'zstd', {
          stdin: 'pipe',
          stdout: output ?? 'pipe'
        })
        zstd = child
        zstdRunning = true
        child.stdout?.on('data', (plain: Buffer) => {
          walker.push(plain)
          if (sinking && !sink?.write(plain)) {
            child.stdout?.pause()
            sink?.once('drain', () => child.stdout?.resume())
          }
        })
        // zstd may quit early on a damaged archive: stop feeding it, but keep hashing the file.
        child.stdin?.on('error', () => (zstdRunning = false))
        child.on('close', () => (zstdRunning = false))
        child.on('error', () => (zstdRunning = false))
        unreadable = exited.then(
          () => undefined,
          (error: Error) =>
            `zstd cannot decompress the archive: ${error.message.replace(/^zstd failed \(exit \d+\): /, '')}`
        )
      }
      hash.update(chunk)
      bytes += chunk.length
      if (!zstd) {
        walker.push(chunk)
        if (sinking && sink && !sink.write(chunk)) await once(sink, 'drain').catch(() => undefined)
      } else if (zstdRunning && !zstd.stdin?.write(chunk)) {
        const child = zstd
        await new Promise<void>((resume) => {
          // Whichever comes first; the other listener goes, or they pile up over a long archive.
          const done = (): void => {
            child.stdin?.off('drain', done)
            child.off('close', done)
            resume()
          }
          child.stdin?.once('drain', done)
          child.once('close', done)
        })
      }
    }
  } catch (error) {
    // The source failed (a registry gone away): nothing downstream may wait for more bytes.
    zstd?.kill('SIGKILL')
    sink?.end()
    if (output !== undefined) closeSync(output)
    throw error
  }
  zstd?.stdin?.end()
  const problem = await unreadable
  sink?.end()
  if (output !== undefined) {
    closeSync(output)
    if (!problem) await walkTarFile(options.decompressTo as string, walker)
  }
  const unpackedBytes = walker.entries.reduce((sum, entry) => sum + entry.size, 0)
  return {
    sha256: hash.digest('hex'),
    bytes,
    entries: walker.entries,
    unpackedBytes,
    unreadable: problem,
    importPath: zstd && options.decompressTo ? options.decompressTo : (source.path ?? '')
  }
}

/**
 * Feeds a plain tar file's headers to the walker, seeking over entry data instead of reading it:
 * a checkpoint's few dozen entries cost a few dozen reads, whatever their size.
 */
export async function walkTarFile(path: string, walker: TarWalker): Promise<void> {
  const file = await open(path, 'r')
  try {
    const size = (await file.stat()).size
    const chunk = Buffer.alloc(64 * 1024)
    let position = 0
    while (!walker.ended && position < size) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, position)
      if (bytesRead === 0) break
      // A copy: the walker may keep a partial header across pushes.
      walker.push(Buffer.from(chunk.subarray(0, bytesRead)))
      position += bytesRead + walker.skip
      walker.skip = 0
    }
  } finally {
    await file.close()
  }
}

export { streamRange, type ByteRange } from './source.js'

export function isZstd(chunk: Buffer): boolean {
  return chunk.length >= 4 && chunk.readUInt32LE(0) === 0xfd2fb528
}

/** Every reason the archive must not be imported; empty when it may. */
/**
 * The file by which warmstart's in-memory restore tells the runtime wrapper where the CRIU images
 * are (src/engine/image-dir.ts, scripts/lib/runtime-wrapper.sh). warmstart writes it at restore
 * time; a stored checkpoint that carries one is refused, so no archive can name a directory.
 */
export const IMAGE_PATH_MARKER = 'warmstart-image-path'

/** The largest unpacked size accepted for a checkpoint part. */
export const MAX_CHECKPOINT_UNPACKED_BYTES = 32 * 1024 ** 3

/**
 * Throws unless an inspected checkpoint part is the one stored (its SHA-256) and holds only what
 * a checkpoint may (archiveProblems): the checks before podman or CRIU may see it.
 */
export function assertCheckpointPart(inspection: Inspection, stored: { sha256: string }): void {
  if (inspection.sha256 !== stored.sha256) {
    throw new Error(
      `the checkpoint part's SHA-256 is ${inspection.sha256}, ${stored.sha256} was stored (damaged?)`
    )
  }
  const problems = archiveProblems(inspection, MAX_CHECKPOINT_UNPACKED_BYTES)
  if (problems.length) {
    throw new Error(
      `the archive holds what a checkpoint must not: ${problems.slice(0, 5).join('; ')}`
    )
  }
}

export function archiveProblems(inspection: Inspection, maxUnpackedBytes: number): string[] {
  const problems = inspection.entries
    .map(entryProblem)
    .filter((problem): problem is string => Boolean(problem))
  for (const entry of inspection.entries) {
    if (entry.path.replace(/^\.\//, '').replace(/\/+$/, '') === `checkpoint/${IMAGE_PATH_MARKER}`) {
      problems.push(
        `${entry.path}: the marker of warmstart's in-memory restore, which no archive may carry`
      )
    }
  }
  if (inspection.unreadable) problems.push(inspection.unreadable)
  if (!inspection.entries.length) problems.push('the archive holds no tar entries')
  if (inspection.unpackedBytes > maxUnpackedBytes) {
    problems.push(
      `it unpacks to ${inspection.unpackedBytes} bytes, more than the bound of ${maxUnpackedBytes}`
    )
  }
  return problems
}
