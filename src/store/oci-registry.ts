// Checkpoints in an OCI registry (`oci://REGISTRY/REPOSITORY`): GHCR, Harbor, ECR, Artifact
// Registry, the open-source distribution registry. One checkpoint is one artifact (see
// oci/artifact.ts for its shape): its parts are blobs, so a push sends only the parts the
// registry does not have yet, and the registry checks every byte against the digest it is told.
//
// Saving pushes every blob first and the manifest last, under the key's tag: a reader sees the
// old entry or the new one, never a mix, and two jobs saving the same key at once leave one
// complete entry (the last manifest written). A lookup downloads the parts side by side into one
// archive file, each at its offset, hashing each as it arrives: a part whose bytes do not match
// its digest fails the lookup (a warning, then a cold start) and its file is removed.
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { decodeParts, type ArchivePart } from '../archive/layout.js'
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
  /** Where a lookup writes the archive it downloads; the caller removes it. */
  downloadDir: string
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
  private readonly downloadDir: string
  private readonly now: () => number

  constructor(options: OciRegistryStoreOptions) {
    const { registry, repository } = options.location
    this.description = `the OCI registry ${registry}/${repository}`
    this.client = new RegistryClient({
      location: options.location,
      credentials: options.credentials
    })
    this.downloadDir = options.downloadDir
    this.now = options.now ?? Date.now
  }

  async lookup(key: string, restoreKeys: string[] = []): Promise<StoreHit | undefined> {
    const entry =
      (await this.entryUnder(tagForKey(key))) ??
      (restoreKeys.some((prefix) => prefix.length > 0)
        ? newestByPrefix(await this.entries(), restoreKeys)
        : undefined)
    if (!entry) return undefined
    const archivePath = await this.download(entry)
    return { key: entry.key, archivePath, bytes: entry.bytes, metadata: entry.metadata }
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

  /** Deletes the entry's manifest where the registry allows it; its blobs go at the registry's GC. */
  async discard(key: string): Promise<void> {
    const found = await this.client.getManifest(tagForKey(key), MANIFEST_MEDIA_TYPE)
    if (found) await this.client.deleteManifest(found.digest)
  }

  /** Every warmstart checkpoint in the repository, newest first. */
  async list(): Promise<RegistryEntry[]> {
    return (await this.entries())
      .sort((a, b) => b.createdAt - a.createdAt)
      .map(({ key, bytes, createdAt, tag, digest }) => ({ key, bytes, createdAt, tag, digest }))
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
   * Downloads every part side by side into one archive file, each written at its offset and
   * hashed on the way: a part that is short, long or not its digest fails the whole download.
   */
  private async download(entry: ArtifactEntry): Promise<string> {
    await fs.mkdir(this.downloadDir, { recursive: true, mode: 0o700 })
    const archivePath = join(this.downloadDir, `${entry.tag}.tar`)
    const file = await fs.open(archivePath, 'w', 0o600)
    try {
      await file.truncate(entry.bytes)
    } finally {
      await file.close()
    }
    try {
      await inBatches(entry.parts, PARALLEL_BLOBS, async (part) => {
        const digest = partDigest(part)
        const check = new DigestCheck(part)
        await pipeline(
          await this.client.blobStream(digest),
          check,
          createWriteStream(archivePath, { flags: 'r+', start: part.offset })
        )
        check.verify(digest)
      })
    } catch (error) {
      await fs.rm(archivePath, { force: true })
      throw error
    }
    return archivePath
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

/** Counts and hashes a part's bytes as they pass; refuses more bytes than the part has. */
class DigestCheck extends Transform {
  private readonly hash = createHash('sha256')
  private seen = 0

  constructor(private readonly part: ArchivePart) {
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

  verify(digest: string): void {
    if (this.seen !== this.part.bytes) {
      throw new Error(`blob ${digest} ended after ${this.seen} of its ${this.part.bytes} bytes`)
    }
    const actual = `sha256:${this.hash.digest('hex')}`
    if (actual !== digest) {
      throw new Error(`blob ${digest} does not match its digest (its bytes hash to ${actual})`)
    }
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
