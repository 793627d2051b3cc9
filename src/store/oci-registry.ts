// Checkpoints in an OCI registry (`oci://REGISTRY/REPOSITORY`): GHCR, Harbor, ECR, Artifact
// Registry, the open-source distribution registry. One checkpoint is one artifact (see
// oci/artifact.ts for its shape): its parts are blobs, so a push sends only the parts the
// registry does not have yet, and the registry checks every byte against the digest it is told.
//
// Saving pushes every blob first and the manifest last, under the key's tag: a reader sees the
// old entry or the new one, never a mix, and two jobs saving the same key at once leave one
// complete entry (the last manifest written). A lookup reads the manifest and checks that every
// blob is there (a missing one is a miss with a warning); the restore then reads each part
// straight from its blob into its unpack pipeline, side by side, nothing written to disk first
// (the Actions cache cannot do that: it downloads, then untars). Every blob's bytes are hashed
// as they stream by: a blob that does not match its digest fails the restore, which starts cold.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { decodeParts, type ArchivePart } from '../archive/layout.js'
import type { ArchiveSource, ByteRange } from '../archive/source.js'
import {
  buildArtifactManifest,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  isWarmstartTag,
  MANIFEST_MEDIA_TYPE,
  newestByPrefix,
  partDigest,
  pruneVictims,
  readArtifactManifest,
  tagForKey,
  type ArtifactEntry,
  type OciLocation
} from './oci/artifact.js'
import type { Credentials } from './oci/credentials.js'
import { RegistryClient } from './oci/registry-client.js'
import type { CheckpointStore, EntryMetadata, SaveResult, StoreHit } from './store.js'

/** How many blobs move at once: the parts of one archive are few, and each is one stream. */
const PARALLEL_BLOBS = 4
/** How many manifests `list` reads at once. */
const PARALLEL_MANIFESTS = 8

export interface OciRegistryStoreOptions {
  location: OciLocation
  credentials?: Credentials
  now?: () => number
}

/** A stored checkpoint, as `warmstart ls` shows it. */
export interface RegistryEntry {
  key: string
  bytes: number
  /** Epoch milliseconds. */
  createdAt: number
  tag: string
  digest: string
}

export interface RegistryPruneOptions {
  maxAgeMs?: number
  maxBytes?: number
  dryRun?: boolean
}

export class OciRegistryStore implements CheckpointStore {
  readonly description: string
  private readonly client: RegistryClient
  private readonly now: () => number

  constructor(options: OciRegistryStoreOptions) {
    const { registry, repository } = options.location
    this.description = `the OCI registry ${registry}/${repository}`
    this.client = new RegistryClient({
      location: options.location,
      credentials: options.credentials
    })
    this.now = options.now ?? Date.now
  }

  async lookup(key: string, restoreKeys: string[] = []): Promise<StoreHit | undefined> {
    const entry =
      (await this.entryUnder(tagForKey(key))) ??
      (restoreKeys.some((prefix) => prefix.length > 0)
        ? newestByPrefix(await this.entries(), restoreKeys)
        : undefined)
    if (!entry) return undefined
    // A blob gone (garbage-collected, deleted) is a miss here rather than a failed restore later.
    await inBatches(entry.parts, PARALLEL_BLOBS, async (part) => {
      if (!(await this.client.blobExists(partDigest(part)))) {
        throw new Error(`${entry.tag} (${entry.key}) lacks its blob ${partDigest(part)}`)
      }
    })
    return {
      key: entry.key,
      bytes: entry.bytes,
      metadata: entry.metadata,
      source: this.partsOf(entry)
    }
  }

  async save(key: string, archivePath: string, metadata: EntryMetadata): Promise<SaveResult> {
    const bytes = (await fs.stat(archivePath)).size
    const parts = decodeParts(metadata.parts, bytes)
    await inBatches(parts, PARALLEL_BLOBS, (part) => this.pushPart(archivePath, part))
    if (!(await this.client.blobExists(EMPTY_CONFIG.digest))) {
      await this.client.pushBlob(EMPTY_CONFIG.digest, EMPTY_CONFIG.size, () => EMPTY_CONFIG_BYTES)
    }
    // Last: until the tag names this manifest, readers see the entry stored before, if any.
    const manifest = buildArtifactManifest(key, metadata, parts, new Date(this.now()))
    await this.client.putManifest(tagForKey(key), MANIFEST_MEDIA_TYPE, JSON.stringify(manifest))
    return { saved: true, bytes }
  }

  /**
   * Leaves the entry: a restore that failed here may have failed on the network's account, and
   * deleting a good checkpoint for that would cost every later job a cold start. The next save
   * under the key replaces its manifest; a blob the registry serves wrong stays wrong until it
   * is removed there (the restore's warning names it and says so).
   */
  async discard(): Promise<void> {}

  /** Every warmstart checkpoint in the repository, newest first. */
  async list(): Promise<RegistryEntry[]> {
    return (await this.entries()).sort((a, b) => b.createdAt - a.createdAt).map(listed)
  }

  /**
   * Removes entries older than `maxAgeMs`, then the oldest beyond `maxBytes`, by deleting their
   * manifests (the registry's garbage collection frees the blobs). A registry that does not
   * allow deletes is an error that says how to allow them.
   */
  async prune(options: RegistryPruneOptions): Promise<RegistryEntry[]> {
    const victims = pruneVictims(await this.entries(), { ...options, now: this.now() })
    if (options.dryRun) return victims.map(listed)
    const removed: RegistryEntry[] = []
    for (const victim of victims) {
      if (!(await this.client.deleteManifest(victim.digest))) {
        throw new Error(
          `${this.description} did not delete ${victim.tag} (${victim.key}): it does not allow deletes (distribution: REGISTRY_STORAGE_DELETE_ENABLED=true; GHCR: delete package versions with a token that has delete:packages)`
        )
      }
      removed.push(listed(victim))
    }
    return removed
  }

  // --- reading ---

  private async entryUnder(tag: string): Promise<ArtifactEntry | undefined> {
    const found = await this.client.getManifest(tag, MANIFEST_MEDIA_TYPE)
    return found ? readArtifactManifest(found.body, tag, found.digest) : undefined
  }

  /** Every readable warmstart entry; a manifest that is not one of warmstart's is skipped. */
  private async entries(): Promise<ArtifactEntry[]> {
    const tags = (await this.client.listTags()).filter(isWarmstartTag)
    const entries: ArtifactEntry[] = []
    await inBatches(tags, PARALLEL_MANIFESTS, async (tag) => {
      try {
        const entry = await this.entryUnder(tag)
        if (entry) entries.push(entry)
      } catch {
        // Not warmstart's, or damaged: neither a restore-keys candidate nor ours to prune.
      }
    })
    return entries
  }

  /**
   * The entry's archive, read part by part from the parts' blobs: each read is one GET of a
   * whole blob, streamed, hashed as it goes by and failed at its end when it is not its digest.
   */
  private partsOf(entry: ArtifactEntry): ArchiveSource {
    return {
      bytes: entry.bytes,
      read: (range?: ByteRange): Readable => {
        const part = entry.parts.find((p) => p.offset === range?.offset && p.bytes === range.bytes)
        if (!part) {
          const what = range ? `bytes ${range.offset}+${range.bytes}` : 'the whole archive'
          return Readable.from([]).destroy(new Error(`${what} is not one part of ${entry.tag}`))
        }
        const check = new DigestCheck(part, this.description)
        this.client.blobStream(partDigest(part)).then(
          (blob) => {
            blob.once('error', (error) => check.destroy(error))
            blob.pipe(check)
          },
          (error: Error) => check.destroy(error)
        )
        return check
      }
    }
  }

  // --- writing ---

  private async pushPart(archivePath: string, part: ArchivePart): Promise<void> {
    const digest = partDigest(part)
    if (await this.client.blobExists(digest)) return
    await this.client.pushBlob(
      digest,
      part.bytes,
      () =>
        Readable.toWeb(
          createReadStream(archivePath, { start: part.offset, end: part.offset + part.bytes - 1 })
        ) as ReadableStream
    )
  }
}

/**
 * Counts and hashes a part's bytes as they pass; fails on more bytes than the part has, and at
 * the end when they were fewer or are not its digest.
 */
class DigestCheck extends Transform {
  private readonly hash = createHash('sha256')
  private seen = 0

  constructor(
    private readonly part: ArchivePart,
    private readonly where: string
  ) {
    super()
  }

  override _transform(
    chunk: Buffer,
    _encoding: string,
    done: (error?: Error | null, data?: Buffer) => void
  ): void {
    this.seen += chunk.length
    if (this.seen > this.part.bytes) {
      done(new Error(`blob ${partDigest(this.part)} is longer than its ${this.part.bytes} bytes`))
      return
    }
    this.hash.update(chunk)
    done(undefined, chunk)
  }

  override _flush(done: TransformCallback): void {
    const digest = partDigest(this.part)
    if (this.seen !== this.part.bytes) {
      done(new Error(`blob ${digest} ended after ${this.seen} of its ${this.part.bytes} bytes`))
      return
    }
    const actual = `sha256:${this.hash.digest('hex')}`
    if (actual !== digest) {
      done(
        new Error(
          `blob ${digest} from ${this.where} does not match its digest (its bytes hash to ${actual}): the registry's storage is damaged or was tampered with; delete the blob there (or the repository) so that the next cold run can push it again`
        )
      )
      return
    }
    done()
  }
}

function listed(entry: ArtifactEntry): RegistryEntry {
  const { key, bytes, createdAt, tag, digest } = entry
  return { key, bytes, createdAt, tag, digest }
}

/** Runs `work` over the items, at most `limit` at a time; rejects with the first failure. */
async function inBatches<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T
      await work(item)
    }
  }
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(limit, items.length) }, worker)
  )
  const failed = settled.find((result) => result.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
}
