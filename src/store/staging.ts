// A checkpoint staged for a later upload: the archive and its metadata in one directory, as the
// Action's main step leaves it for the post step (which uploads it to the Actions cache or a
// registry, so that the job's tests start as soon as the service is warm).
import {
  copyFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import type { CheckpointStore, EntryMetadata, SaveResult, StoreHit } from './store.js'

export const STAGED_ARCHIVE = 'checkpoint.tar'
export const STAGED_METADATA = 'metadata.json'

/** Moves (or copies, across file systems) the archive into `dir`, beside its metadata; its size. */
export function stageEntry(dir: string, archivePath: string, metadata: EntryMetadata): number {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const target = join(dir, STAGED_ARCHIVE)
  try {
    renameSync(archivePath, target)
  } catch {
    copyFileSync(archivePath, target) // another file system
  }
  writeFileSync(join(dir, STAGED_METADATA), JSON.stringify(metadata), { mode: 0o600 })
  return statSync(target).size
}

/** The staged archive's path and its metadata; throws saying which file is missing or broken. */
export function readStagedEntry(dir: string): { archivePath: string; metadata: EntryMetadata } {
  const path = join(dir, STAGED_METADATA)
  let metadata: EntryMetadata
  try {
    metadata = JSON.parse(readFileSync(path, 'utf8')) as EntryMetadata
  } catch (error) {
    throw new Error(`the staged checkpoint has no readable ${path}: ${(error as Error).message}`)
  }
  return { archivePath: join(dir, STAGED_ARCHIVE), metadata }
}

/**
 * For the action's main step: lookups go to the store, saves only stage the archive (`stage`).
 * The post step uploads it, so the job's tests start as soon as the service is warm.
 */
export class DeferredUploadStore implements CheckpointStore {
  readonly description: string
  /** The key of the entry staged for upload, if any. */
  staged?: string

  constructor(
    private readonly store: CheckpointStore,
    private readonly stage: (archivePath: string, metadata: EntryMetadata) => number
  ) {
    this.description = store.description
  }

  lookup(key: string, restoreKeys?: string[]): Promise<StoreHit | undefined> {
    return this.store.lookup(key, restoreKeys)
  }

  async save(key: string, archivePath: string, metadata: EntryMetadata): Promise<SaveResult> {
    const bytes = this.stage(archivePath, metadata)
    this.staged = key
    return { saved: false, staged: true, bytes }
  }

  discard(key: string): Promise<void> {
    return this.store.discard(key)
  }
}
