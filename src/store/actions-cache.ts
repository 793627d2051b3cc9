// Checkpoints in the GitHub Actions cache, through @actions/cache. An entry is one directory:
// the archive and a small metadata file beside it. @actions/cache tars and compresses it itself.
//
// The directory must have the same absolute path in every job, because @actions/cache mixes the
// paths into the entry's version: warmstart uses <RUNNER_TEMP>/warmstart-cache/<container name>.
import * as cache from '@actions/cache'
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { stageEntry, STAGED_ARCHIVE as ARCHIVE, STAGED_METADATA as METADATA } from './staging.js'
import type { CheckpointStore, EntryMetadata, SaveResult, StoreHit } from './store.js'

export interface ActionsCacheStoreOptions {
  /** The entry directory; the same absolute path in every job. */
  dir: string
}

export class ActionsCacheStore implements CheckpointStore {
  readonly description = 'the GitHub Actions cache'
  readonly dir: string

  constructor(options: ActionsCacheStoreOptions) {
    this.dir = options.dir
  }

  /** Whether the runner gave this job a cache service to talk to. */
  static available(): boolean {
    return cache.isFeatureAvailable()
  }

  async lookup(key: string, restoreKeys: string[] = []): Promise<StoreHit | undefined> {
    rmSync(this.dir, { recursive: true, force: true })
    mkdirSync(this.dir, { recursive: true })
    // restoreCache warns and returns undefined on service or download errors: a miss.
    const matched = await cache.restoreCache([this.dir], key, restoreKeys)
    if (!matched) return undefined
    const archivePath = join(this.dir, ARCHIVE)
    let metadata: EntryMetadata
    try {
      metadata = JSON.parse(readFileSync(join(this.dir, METADATA), 'utf8')) as EntryMetadata
    } catch (error) {
      throw new Error(
        `the cache entry ${matched} has no readable ${METADATA}: ${(error as Error).message}`
      )
    }
    return { key: matched, archivePath, bytes: statSync(archivePath).size, metadata }
  }

  /** Puts the archive and its metadata into the entry directory, ready for upload. */
  stage(archivePath: string, metadata: EntryMetadata): number {
    return stageEntry(this.dir, archivePath, metadata)
  }

  /** Uploads the staged entry under `key`. Never throws for the service's troubles. */
  async upload(key: string): Promise<SaveResult> {
    const bytes = statSync(join(this.dir, ARCHIVE)).size
    try {
      const id = await cache.saveCache([this.dir], key)
      if (id === -1) {
        return {
          saved: false,
          bytes,
          reason:
            'the cache service declined it (the key exists already, or the cache is full or unavailable: see the lines above)'
        }
      }
      return { saved: true, bytes }
    } catch (error) {
      return { saved: false, bytes, reason: (error as Error).message }
    }
  }

  async save(key: string, archivePath: string, metadata: EntryMetadata): Promise<SaveResult> {
    this.stage(archivePath, metadata)
    return this.upload(key)
  }

  /** Entries cannot be deleted from here; a damaged one is replaced by the next save under a new key. */
  async discard(): Promise<void> {}

  /** Removes the local entry directory. */
  clean(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}
