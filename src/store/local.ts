// The checkpoint store for laptops, self-hosted runners and other CI: a directory on this machine.
//
// Layout, all in one flat directory:
//   <keyhash>-<unique>.tar  an archive; immutable once it has this name, always complete
//   <keyhash>.json          the pointer of a key: key, archive name, bytes, times, metadata
//   <keyhash>.used          when the entry was last looked up (a hint for LRU pruning)
//   .tmp-<unique>           a file being written; renamed into place once complete and synced
//
// Saving never overwrites a file in place: the archive gets a fresh name and the pointer is
// replaced by rename(2), so readers and concurrent writers (threads or processes) see either the
// old entry or the new one, never a mix. The last rename wins. An archive no pointer names is
// garbage, removed only once it has been left alone for a grace period, because a reader that
// read the pointer just before it was replaced may still be about to open it.
import { createHash, randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type { CheckpointStore, EntryMetadata, SaveResult, StoreHit } from './store.js'

export const DEFAULT_MAX_BYTES = 10 * 1024 ** 3
export const MAX_KEY_LENGTH = 512
/** How long garbage (temp files, unreferenced archives) is left alone before prune removes it. */
export const GARBAGE_GRACE_MS = 10 * 60 * 1000

export interface LocalEntry {
  key: string
  /** The archive inside the store. */
  archivePath: string
  bytes: number
  /** Epoch milliseconds, from the store's clock. */
  createdAt: number
  /** Epoch milliseconds: the last lookup that returned this entry, else its creation. */
  lastUsedAt: number
  metadata: EntryMetadata
}

export interface LocalDirectoryStoreOptions {
  dir: string
  /** Cap on the bytes of all archives; save prunes least recently used entries down to it. */
  maxBytes?: number
  /**
   * The clock for entry times (created, last used), for tests. The age of garbage files is
   * always measured with the real clock against file modification times, so that a test clock
   * can never make a file another process is still writing look old.
   */
  now?: () => number
}

export interface PruneOptions {
  /** Overrides the store's cap; 0 removes every entry. */
  maxBytes?: number
  /** Also removes every entry not used for longer than this (milliseconds). */
  maxAgeMs?: number
  /** Report what would be removed without removing anything. */
  dryRun?: boolean
}

/** What a pointer file holds. */
interface Pointer {
  version: 1
  key: string
  /** File name of the archive, in the store directory. */
  archive: string
  bytes: number
  createdAt: number
  /** The time of saving; later lookups are recorded in the `.used` file, never here. */
  lastUsedAt: number
  metadata: EntryMetadata
}

/** Everything found in the store directory, sorted into what prune and lookup need. */
interface DirectoryScan {
  entries: LocalEntry[]
  /** Key hashes whose pointer is unreadable, corrupt, or names a missing or damaged archive. */
  damagedPointers: string[]
  archives: string[]
  useRecords: string[]
  tempFiles: string[]
}

const POINTER_FILE = /^([0-9a-f]{32})\.json$/
const USE_RECORD_FILE = /^([0-9a-f]{32})\.used$/
const ARCHIVE_FILE = /^([0-9a-f]{32})-[0-9a-f-]+\.tar$/
const TEMP_PREFIX = '.tmp-'

export class LocalDirectoryStore implements CheckpointStore {
  readonly description: string
  readonly dir: string
  private readonly maxBytes: number
  private readonly now: () => number

  constructor(options: LocalDirectoryStoreOptions) {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
    if (!Number.isFinite(maxBytes) || maxBytes < 0) {
      throw new Error(`local store size cap must be a number of bytes >= 0, got ${maxBytes}`)
    }
    this.dir = path.resolve(options.dir)
    this.maxBytes = maxBytes
    this.now = options.now ?? Date.now
    this.description = `local directory ${this.dir}`
  }

  async lookup(
    key: string,
    restoreKeys: string[] = []
  ): Promise<(StoreHit & { archivePath: string }) | undefined> {
    assertValidKey(key)
    const entry = (await this.exactEntry(key)) ?? (await this.newestEntryByPrefix(restoreKeys))
    if (!entry) return undefined
    await this.recordUse(entry.key)
    return {
      key: entry.key,
      archivePath: entry.archivePath,
      bytes: entry.bytes,
      metadata: entry.metadata
    }
  }

  async save(key: string, archivePath: string, metadata: EntryMetadata): Promise<SaveResult> {
    assertValidKey(key)
    assertValidMetadata(metadata)
    let bytes: number
    try {
      bytes = await fileSize(archivePath)
      if (bytes <= this.maxBytes) await this.publish(key, archivePath, metadata)
    } catch (error) {
      throw new Error(`cannot save checkpoint in ${this.description}: ${reason(error)}`, {
        cause: error
      })
    }
    if (bytes > this.maxBytes) {
      const why = `the archive (${bytes} bytes) is larger than the store's cap of ${this.maxBytes} bytes`
      return { saved: false, bytes, reason: why }
    }
    try {
      await this.prune()
    } catch (error) {
      throw new Error(`saved, but cannot prune ${this.description}: ${reason(error)}`, {
        cause: error
      })
    }
    return { saved: true, bytes }
  }

  async discard(key: string): Promise<void> {
    assertValidKey(key)
    const hash = keyHash(key)
    const removed = await this.removePointerIf(hash, async () => true)
    if (removed) await this.removeArchiveAndUseRecord(hash, removed.pointer)
  }

  /** Every intact entry, most recently used first. */
  async list(): Promise<LocalEntry[]> {
    return (await this.scan()).entries
  }

  /**
   * Removes least recently used entries until the archives fit the cap, and garbage: damaged
   * pointers, use records of missing entries, and temp files and unreferenced archives untouched
   * for the grace period. Returns the entries removed (or that would be, on a dry run).
   */
  async prune(options: PruneOptions = {}): Promise<LocalEntry[]> {
    const cap = options.maxBytes ?? this.maxBytes
    const scan = await this.scan()
    const now = this.now()
    const stale = scan.entries.filter(
      (entry) => options.maxAgeMs !== undefined && now - entry.lastUsedAt > options.maxAgeMs
    )
    const fresh = scan.entries.filter((entry) => !stale.includes(entry))
    const victims = [...stale, ...leastRecentlyUsedBeyondCap(fresh, cap)]
    if (options.dryRun) return victims

    const evicted: LocalEntry[] = []
    for (const victim of victims) {
      if (await this.evict(victim)) evicted.push(victim)
    }
    await this.removeGarbage(scan, new Set(evicted.map((entry) => entry.key)))
    return evicted
  }

  // --- lookup ---

  private async exactEntry(key: string): Promise<LocalEntry | undefined> {
    const hash = keyHash(key)
    const pointer = await readPointer(this.pointerPath(hash), hash)
    if (!pointer || pointer.key !== key) return undefined
    return this.intactEntry(hash, pointer)
  }

  /** For each prefix in order, the most recently created entry whose key starts with it. */
  private async newestEntryByPrefix(prefixes: string[]): Promise<LocalEntry | undefined> {
    // An empty prefix would match every entry, e.g. another service's checkpoint: never useful.
    const usable = prefixes.filter((prefix) => prefix.length > 0)
    if (usable.length === 0) return undefined
    const byCreation = (await this.list()).sort((a, b) => b.createdAt - a.createdAt)
    for (const prefix of usable) {
      const match = byCreation.find((entry) => entry.key.startsWith(prefix))
      if (match) return match
    }
    return undefined
  }

  /**
   * Remembers that the entry was used, in its own small file so that the pointer (which a
   * concurrent save may be replacing) is never rewritten. Only a hint for pruning: a store a
   * reader may not write to still serves hits, so failures are ignored.
   */
  private async recordUse(key: string): Promise<void> {
    const hash = keyHash(key)
    try {
      // Not synced: losing the hint in a crash only makes the entry look older.
      const temp = await writeTempFile(this.dir, String(this.now()), { durable: false })
      await fs.rename(temp, this.useRecordPath(hash))
    } catch {
      // See above: the lookup has succeeded whether or not the hint is written.
    }
  }

  // --- save ---

  private async publish(key: string, source: string, metadata: EntryMetadata): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 })
    const hash = keyHash(key)
    const archive = `${hash}-${uniqueSuffix()}.tar`
    const tempArchive = await copyIntoTempFile(this.dir, source)
    let tempPointer: string | undefined
    try {
      const bytes = await fileSize(tempArchive)
      await fs.rename(tempArchive, path.join(this.dir, archive))
      // The archive's name must be on disk before any pointer that names it.
      await syncDirectory(this.dir)

      const createdAt = this.now()
      const pointer: Pointer = {
        version: 1,
        key,
        archive,
        bytes,
        createdAt,
        lastUsedAt: createdAt,
        metadata
      }
      tempPointer = await writeTempFile(this.dir, JSON.stringify(pointer, null, 2), {
        durable: true
      })
      await this.refreshDisplacedArchive(hash, archive)
      await fs.rename(tempPointer, this.pointerPath(hash))
      await syncDirectory(this.dir)
    } finally {
      await fs.rm(tempArchive, { force: true })
      if (tempPointer) await fs.rm(tempPointer, { force: true })
    }
  }

  /**
   * Touches the archive the pointer about to be replaced names, so that its grace period starts
   * now: a reader that got its path just before the replacement can still open it.
   */
  private async refreshDisplacedArchive(hash: string, newArchive: string): Promise<void> {
    const current = await readPointer(this.pointerPath(hash), hash)
    if (!current || current.archive === newArchive) return
    const now = new Date()
    await fs.utimes(path.join(this.dir, current.archive), now, now).catch(ignoreMissing)
  }

  // --- prune ---

  /** Removes an entry if its pointer still names the archive it had when the victim was chosen. */
  private async evict(victim: LocalEntry): Promise<boolean> {
    const hash = keyHash(victim.key)
    const archive = path.basename(victim.archivePath)
    const removed = await this.removePointerIf(hash, async (p) => p?.archive === archive)
    if (removed) await this.removeArchiveAndUseRecord(hash, removed.pointer)
    return removed !== undefined
  }

  private async removeGarbage(scan: DirectoryScan, evictedKeys: Set<string>): Promise<void> {
    for (const hash of scan.damagedPointers) {
      await this.removePointerIf(hash, async (p) => !p || !(await this.intactEntry(hash, p)))
    }
    const liveHashes = new Set(
      scan.entries.filter((e) => !evictedKeys.has(e.key)).map((e) => keyHash(e.key))
    )
    for (const hash of scan.useRecords) {
      if (!liveHashes.has(hash)) await fs.rm(this.useRecordPath(hash), { force: true })
    }
    const referenced = new Set(scan.entries.map((entry) => path.basename(entry.archivePath)))
    const unreferenced = scan.archives.filter((name) => !referenced.has(name))
    for (const name of [...unreferenced, ...scan.tempFiles]) {
      await removeIfUntouchedFor(path.join(this.dir, name), GARBAGE_GRACE_MS)
    }
  }

  /**
   * Takes the pointer away by renaming it, then deletes it if `shouldRemove` still agrees. A
   * pointer that a concurrent save published after the caller looked is put back (unless an even
   * newer one has arrived), so pruning never deletes an entry it did not choose. Returns what was
   * removed (`pointer` undefined for a corrupt one), or undefined if nothing was.
   */
  private async removePointerIf(
    hash: string,
    shouldRemove: (pointer: Pointer | undefined) => Promise<boolean>
  ): Promise<{ pointer: Pointer | undefined } | undefined> {
    const taken = tempPath(this.dir)
    try {
      await fs.rename(this.pointerPath(hash), taken)
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return undefined
      throw error
    }
    try {
      // A temp file keeps its old time through the rename: freshen it, or a concurrent prune
      // would take it for a crashed writer's leftover.
      const now = new Date()
      await fs.utimes(taken, now, now)
      const pointer = await readPointer(taken, hash)
      if (await shouldRemove(pointer)) return { pointer }
      await fs.link(taken, this.pointerPath(hash)).catch((error: unknown) => {
        if (!isErrno(error, 'EEXIST')) throw error
      })
      return undefined
    } finally {
      await fs.rm(taken, { force: true })
    }
  }

  private async removeArchiveAndUseRecord(hash: string, pointer?: Pointer): Promise<void> {
    if (pointer) await fs.rm(path.join(this.dir, pointer.archive), { force: true })
    await fs.rm(this.useRecordPath(hash), { force: true })
  }

  // --- reading the directory ---

  private async scan(): Promise<DirectoryScan> {
    const scan: DirectoryScan = {
      entries: [],
      damagedPointers: [],
      archives: [],
      useRecords: [],
      tempFiles: []
    }
    for (const name of await this.readDirectory()) {
      const pointerHash = POINTER_FILE.exec(name)?.[1]
      const useRecordHash = USE_RECORD_FILE.exec(name)?.[1]
      if (pointerHash) {
        const entry = await this.entryAt(pointerHash)
        if (entry) scan.entries.push(entry)
        else scan.damagedPointers.push(pointerHash)
      } else if (useRecordHash) scan.useRecords.push(useRecordHash)
      else if (ARCHIVE_FILE.test(name)) scan.archives.push(name)
      else if (name.startsWith(TEMP_PREFIX)) scan.tempFiles.push(name)
      // Anything else is not ours: left alone.
    }
    scan.entries.sort(byMostRecentUse)
    return scan
  }

  /** The directory's file names; none when it does not exist (yet). */
  private async readDirectory(): Promise<string[]> {
    try {
      return await fs.readdir(this.dir)
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return []
      throw new Error(`cannot read ${this.description}: ${reason(error)}`, { cause: error })
    }
  }

  private async entryAt(hash: string): Promise<LocalEntry | undefined> {
    const pointer = await readPointer(this.pointerPath(hash), hash)
    return pointer && this.intactEntry(hash, pointer)
  }

  /** The entry a pointer describes, if its archive is there with the size recorded. */
  private async intactEntry(hash: string, pointer: Pointer): Promise<LocalEntry | undefined> {
    const archivePath = path.join(this.dir, pointer.archive)
    const stats = await fs.stat(archivePath).catch(ignoreMissing)
    if (!stats?.isFile() || stats.size !== pointer.bytes) return undefined
    const lastUse = await readUseRecord(this.useRecordPath(hash))
    return {
      key: pointer.key,
      archivePath,
      bytes: pointer.bytes,
      createdAt: pointer.createdAt,
      lastUsedAt: Math.max(pointer.lastUsedAt, lastUse ?? 0),
      metadata: pointer.metadata
    }
  }

  private pointerPath(hash: string): string {
    return path.join(this.dir, `${hash}.json`)
  }

  private useRecordPath(hash: string): string {
    return path.join(this.dir, `${hash}.used`)
  }
}

/**
 * Where the command line keeps checkpoints by default: the XDG cache directory. A relative
 * XDG_CACHE_HOME is invalid by the XDG spec and ignored.
 */
export function defaultStoreDir(env: NodeJS.ProcessEnv, home: string): string {
  const xdgCache = env.XDG_CACHE_HOME
  const cache = xdgCache && path.isAbsolute(xdgCache) ? xdgCache : path.join(home, '.cache')
  return path.join(cache, 'warmstart', 'checkpoints')
}

function assertValidKey(key: string): void {
  if (key.length === 0) throw new Error('checkpoint key is empty')
  if (key.length > MAX_KEY_LENGTH) {
    throw new Error(
      `checkpoint key is ${key.length} characters long, more than ${MAX_KEY_LENGTH}: ${key.slice(0, 40)}...`
    )
  }
}

/** Metadata must survive JSON unchanged, or the entry would read back as corrupt. */
function assertValidMetadata(metadata: EntryMetadata): void {
  for (const [name, value] of Object.entries(metadata)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new Error(`checkpoint metadata ${name} is ${value}, which JSON cannot hold`)
    }
  }
}

/** File names are derived from the key so that any string can be a key. */
function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32)
}

/** Unique across processes (pid) and within one (random). */
function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(8).toString('hex')}`
}

function tempPath(dir: string): string {
  return path.join(dir, `${TEMP_PREFIX}${uniqueSuffix()}`)
}

/** Copies `source` to a new temp file in `dir`, private, synced, with a fresh modification time. */
async function copyIntoTempFile(dir: string, source: string): Promise<string> {
  const temp = tempPath(dir)
  try {
    // FICLONE: a copy-on-write clone where the filesystem can (btrfs, xfs), else a plain copy.
    await fs.copyFile(source, temp, constants.COPYFILE_FICLONE)
    const file = await fs.open(temp, 'r+')
    try {
      // The archive holds service memory (passwords included): owner only.
      await file.chmod(0o600)
      // A fresh time keeps prune from taking the new archive for old garbage before it is named.
      const now = new Date()
      await file.utimes(now, now)
      await file.sync()
    } finally {
      await file.close()
    }
    return temp
  } catch (error) {
    await fs.rm(temp, { force: true })
    throw error
  }
}

async function writeTempFile(
  dir: string,
  content: string,
  options: { durable: boolean }
): Promise<string> {
  const temp = tempPath(dir)
  const file = await fs.open(temp, 'wx', 0o600)
  try {
    await file.writeFile(content, 'utf8')
    if (options.durable) await file.sync()
  } catch (error) {
    await file.close()
    await fs.rm(temp, { force: true })
    throw error
  }
  await file.close()
  return temp
}

/** Makes renames in `dir` survive a crash. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** The pointer in `file`; undefined when it is missing or is not a valid pointer for `hash`. */
async function readPointer(file: string, hash: string): Promise<Pointer | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(ignoreMissing)
  if (text === undefined) return undefined
  try {
    return parsePointer(JSON.parse(text), hash)
  } catch {
    // Half-written by a crash before it was synced, or edited by hand: as good as absent.
    return undefined
  }
}

function parsePointer(value: unknown, hash: string): Pointer | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const p = value as Record<string, unknown>
  const valid =
    p.version === 1 &&
    typeof p.key === 'string' &&
    keyHash(p.key) === hash &&
    typeof p.archive === 'string' &&
    // Also keeps a tampered pointer from naming a file outside the store.
    ARCHIVE_FILE.exec(p.archive)?.[1] === hash &&
    Number.isSafeInteger(p.bytes) &&
    (p.bytes as number) >= 0 &&
    Number.isFinite(p.createdAt) &&
    Number.isFinite(p.lastUsedAt) &&
    isEntryMetadata(p.metadata)
  return valid ? (value as Pointer) : undefined
}

function isEntryMetadata(value: unknown): value is EntryMetadata {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  return Object.values(value).every((v) => ['string', 'number', 'boolean'].includes(typeof v))
}

async function readUseRecord(file: string): Promise<number | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(ignoreMissing)
  const time = Number(text)
  return text !== undefined && Number.isFinite(time) ? time : undefined
}

async function fileSize(file: string): Promise<number> {
  return (await fs.stat(file)).size
}

/** The entries to drop, least recently used first, so that the rest fit in `cap` bytes. */
function leastRecentlyUsedBeyondCap(entries: LocalEntry[], cap: number): LocalEntry[] {
  const leastRecentFirst = [...entries].sort(byMostRecentUse).reverse()
  let total = entries.reduce((sum, entry) => sum + entry.bytes, 0)
  const victims: LocalEntry[] = []
  for (const entry of leastRecentFirst) {
    if (total <= cap) break
    victims.push(entry)
    total -= entry.bytes
  }
  return victims
}

function byMostRecentUse(a: LocalEntry, b: LocalEntry): number {
  return b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt || a.key.localeCompare(b.key)
}

/** Removes `file` unless it was modified within `graceMs`, by the real clock. */
async function removeIfUntouchedFor(file: string, graceMs: number): Promise<void> {
  const stats = await fs.stat(file).catch(ignoreMissing)
  if (stats && Date.now() - stats.mtimeMs > graceMs) await fs.rm(file, { force: true })
}

// Duck-typed rather than `instanceof Error`: errors from another realm (a vm context, as under
// jest) are not instances of this realm's Error.
function isErrno(error: unknown, ...codes: string[]): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' && codes.includes(code)
}

/** For `.catch`: a missing file reads as undefined; every other error still throws. */
function ignoreMissing(error: unknown): undefined {
  if (isErrno(error, 'ENOENT', 'ENOTDIR')) return undefined
  throw error
}

function reason(error: unknown): string {
  const message = (error as Error | undefined)?.message
  return typeof message === 'string' ? message : String(error)
}
