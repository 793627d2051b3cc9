// Checks a checkpoint archive before podman sees it, in one read of the file: its SHA-256, and
// the tar entries at its top level. Restoring runs the archive's contents as root, so only what a
// podman export contains passes: regular files and directories at relative paths inside the
// archive, no `..`, no absolute paths, no links, no device nodes, and a bound on the unpacked size.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

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
  private skip = 0
  private longName?: string
  private longLink?: string
  private pax: Record<string, string> = {}
  private paxPending?: { type: 'x' | 'g' | 'L' | 'K'; size: number }
  private ended = false
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
        const body = this.buffer.subarray(0, this.paxPending.size).toString('utf8')
        this.buffer = this.buffer.subarray(padded)
        const { type } = this.paxPending
        this.paxPending = undefined
        if (type === 'L') this.longName = body.replace(/\0.*$/s, '')
        else if (type === 'K') this.longLink = body.replace(/\0.*$/s, '')
        else if (type === 'x') this.pax = parsePax(body)
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
    const prefix = text(257, 6).startsWith('ustar') ? text(345, 155) : ''
    const name =
      this.pax.path ?? this.longName ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100))
    const linkTarget = this.pax.linkpath ?? this.longLink ?? text(157, 100)
    const realSize = this.pax.size !== undefined ? Number(this.pax.size) : size
    this.entries.push({ path: name, type, size: realSize, linkTarget })
    this.pax = {}
    this.longName = undefined
    this.longLink = undefined
    // Links, directories and devices carry no data.
    const hasData = type === '0' || type === '\0' || type === '7'
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

function parsePax(body: string): Record<string, string> {
  const records: Record<string, string> = {}
  for (const line of body.split('\n')) {
    const match = /^\d+ ([^=]+)=(.*)$/s.exec(line)
    if (match) records[match[1] as string] = match[2] as string
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
}

/**
 * Hashes the archive and lists its tar entries in one read: the compressed bytes go to the hash
 * and, through `zstd -dc` when the archive is zstd-compressed, to the tar walker.
 */
export async function inspectArchive(path: string): Promise<Inspection> {
  const hash = createHash('sha256')
  const walker = new TarWalker()
  let bytes = 0
  let decompressor: ReturnType<typeof spawn> | undefined
  let decompressed: Promise<void> = Promise.resolve()
  await new Promise<void>((resolve, reject) => {
    const input = createReadStream(path)
    input.on('error', reject)
    input.once('data', (data: string | Buffer) => {
      const first = typeof data === 'string' ? Buffer.from(data) : data
      const zstd = first.readUInt32LE(0) === 0xfd2fb528
      if (zstd) {
        decompressor = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] })
        let stderr = ''
        decompressor.stderr?.on('data', (chunk) => (stderr += chunk))
        decompressor.stdout?.on('data', (chunk: Buffer) => walker.push(chunk))
        decompressed = new Promise((done, fail) => {
          decompressor?.on('error', fail)
          decompressor?.on('close', (code) =>
            code === 0
              ? done()
              : fail(new Error(`zstd cannot decompress the archive: ${stderr.trim()}`))
          )
        })
      }
      const consume = (data: string | Buffer): void => {
        const chunk = typeof data === 'string' ? Buffer.from(data) : data
        hash.update(chunk)
        bytes += chunk.length
        if (decompressor) {
          if (!decompressor.stdin?.write(chunk)) {
            input.pause()
            decompressor.stdin?.once('drain', () => input.resume())
          }
        } else walker.push(chunk)
      }
      consume(first)
      input.on('data', consume)
    })
    input.on('end', () => {
      decompressor?.stdin?.end()
      resolve()
    })
  })
  const unreadable = await decompressed.then(
    () => undefined,
    (error: Error) => error.message
  )
  const unpackedBytes = walker.entries.reduce((sum, entry) => sum + entry.size, 0)
  return { sha256: hash.digest('hex'), bytes, entries: walker.entries, unpackedBytes, unreadable }
}

/** Every reason the archive must not be imported; empty when it may. */
export function archiveProblems(inspection: Inspection, maxUnpackedBytes: number): string[] {
  const problems = inspection.entries
    .map(entryProblem)
    .filter((problem): problem is string => Boolean(problem))
  if (!inspection.entries.length) problems.push('the archive holds no tar entries')
  if (inspection.unpackedBytes > maxUnpackedBytes) {
    problems.push(
      `it unpacks to ${inspection.unpackedBytes} bytes, more than the bound of ${maxUnpackedBytes}`
    )
  }
  return problems
}
