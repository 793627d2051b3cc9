// Where checkpoints live between runs. The engine only knows this interface; a local directory
// (src/store/local.ts) and the GitHub Actions cache implement it.

import type { ArchiveSource } from '../archive/source.js'

/** What is recorded beside every stored archive. Values are plain JSON. */
export type EntryMetadata = Record<string, string | number | boolean>

export interface StoreHit {
  /** The key the entry was stored under (a restore key may match another than the one asked). */
  key: string
  /** A local file holding the archive, readable until the process ends; or: */
  archivePath?: string
  /** Where to read the archive from, for a store that streams its parts (a registry). */
  source?: ArchiveSource
  /** The archive's size in bytes. */
  bytes: number
  metadata: EntryMetadata
}

export interface SaveResult {
  /** Whether the entry was written (false: the store declined, e.g. the key already exists). */
  saved: boolean
  /** Not written yet: kept for a later upload (the Action's post step), which may still fail. */
  staged?: boolean
  bytes: number
  /** Why it was not saved, for a warning. */
  reason?: string
}

export interface CheckpointStore {
  /** A short human name for logs: "local directory /path", "GitHub Actions cache". */
  readonly description: string
  /**
   * Finds the entry stored under `key`, else the newest entry whose key starts with one of
   * `restoreKeys` (tried in order). Undefined on a miss.
   */
  lookup(key: string, restoreKeys?: string[]): Promise<StoreHit | undefined>
  /** Stores a copy of the archive file under `key`, replacing an entry stored there before. */
  save(key: string, archivePath: string, metadata: EntryMetadata): Promise<SaveResult>
  /** Removes the entry under `key` if the store can (a damaged entry); a no-op otherwise. */
  discard(key: string): Promise<void>
}
