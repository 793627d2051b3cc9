// A checkpoint as an OCI artifact, pure: the store's address (`oci://REGISTRY/REPOSITORY`), the
// tag a key is stored under, the image manifest that describes one checkpoint, and the choices
// lookup and prune make over the entries a registry lists. No I/O here (the registry is reached
// through registry-client.ts, the store is oci-registry.ts).
//
// One checkpoint = one OCI image manifest (image-spec 1.1, artifact guidance):
//   artifactType  application/vnd.warmstart.checkpoint.v1
//   config        the empty descriptor (application/vnd.oci.empty.v1+json, `{}`)
//   layers        one blob per archive part, in order; a blob's digest is the part's SHA-256
//                 from warmstart's manifest, so the registry checks every byte it is given
//   annotations   the key, warmstart's manifest (JSON), the creation time
//   tag           `warmstart-` + SHA-256 of the key (a tag holds 128 characters; a key up to 512)
import { createHash } from 'node:crypto'
import { decodeParts, type ArchivePart } from '../../archive/layout.js'
import type { EntryMetadata } from '../store.js'

export const ARTIFACT_TYPE = 'application/vnd.warmstart.checkpoint.v1'
export const PART_MEDIA_TYPE = 'application/vnd.warmstart.checkpoint.part.v1'
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json'
export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2
} as const
export const EMPTY_CONFIG_BYTES = '{}'

export const KEY_ANNOTATION = 'dev.warmstart.key'
export const METADATA_ANNOTATION = 'dev.warmstart.metadata'
export const CREATED_ANNOTATION = 'org.opencontainers.image.created'
export const TAG_PREFIX = 'warmstart-'

export interface OciLocation {
  /** host[:port], as credentials are filed under it. */
  registry: string
  repository: string
  /** Where the registry's API answers: https, or plain http for a registry on loopback. */
  baseUrl: string
}

// The distribution spec's grammar for repository names (path components, lower case).
const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
const REGISTRY = /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/

export function isOciStore(text: string): boolean {
  return text.startsWith('oci://')
}

/**
 * Parses `oci://REGISTRY/REPOSITORY`. Plain HTTP only for a registry on loopback (localhost,
 * 127.0.0.0/8, [::1]), as podman and docker allow without configuration; TLS everywhere else.
 */
export function parseOciLocation(text: string): OciLocation {
  const fail = (why: string): never => {
    throw new Error(
      `store ${JSON.stringify(text)}: ${why}; expected oci://REGISTRY/REPOSITORY, e.g. oci://ghcr.io/OWNER/warmstart-checkpoints`
    )
  }
  if (!isOciStore(text)) fail('not an oci:// address')
  const rest = text.slice('oci://'.length)
  const slash = rest.indexOf('/')
  if (slash <= 0) fail('no repository after the registry')
  const registry = rest.slice(0, slash)
  const repository = rest.slice(slash + 1)
  if (!REGISTRY.test(registry)) fail(`${JSON.stringify(registry)} is not a registry host[:port]`)
  if (!REPOSITORY.test(repository)) {
    fail(`${JSON.stringify(repository)} is not a repository name (lower case, a-z 0-9 . _ - /)`)
  }
  if (repository.includes(':') || repository.includes('@')) fail('a tag or digest is not wanted')
  const host = registry.replace(/:\d+$/, '')
  const loopback = host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]'
  return { registry, repository, baseUrl: `${loopback ? 'http' : 'https'}://${registry}` }
}

export function tagForKey(key: string): string {
  return TAG_PREFIX + createHash('sha256').update(key).digest('hex')
}

export function isWarmstartTag(tag: string): boolean {
  return /^warmstart-[0-9a-f]{64}$/.test(tag)
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
}

export interface ArtifactManifest {
  schemaVersion: 2
  mediaType: typeof MANIFEST_MEDIA_TYPE
  artifactType: typeof ARTIFACT_TYPE
  config: Descriptor
  layers: Descriptor[]
  annotations: Record<string, string>
}

export function partDigest(part: ArchivePart): string {
  return `sha256:${part.sha256}`
}

/** The manifest of one checkpoint: its parts as layers, the key and warmstart's manifest. */
export function buildArtifactManifest(
  key: string,
  metadata: EntryMetadata,
  parts: ArchivePart[],
  createdAt: Date
): ArtifactManifest {
  return {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    artifactType: ARTIFACT_TYPE,
    config: { ...EMPTY_CONFIG },
    layers: parts.map((part) => ({
      mediaType: PART_MEDIA_TYPE,
      digest: partDigest(part),
      size: part.bytes
    })),
    annotations: {
      [KEY_ANNOTATION]: key,
      [METADATA_ANNOTATION]: JSON.stringify(metadata),
      [CREATED_ANNOTATION]: createdAt.toISOString()
    }
  }
}

/** A stored checkpoint as read back from its manifest. */
export interface ArtifactEntry {
  key: string
  tag: string
  /** The manifest's digest (what deleting it takes). */
  digest: string
  metadata: EntryMetadata
  parts: ArchivePart[]
  bytes: number
  /** Epoch milliseconds. */
  createdAt: number
}

/**
 * Reads a manifest the registry returned for `tag`, checking that it is warmstart's, that it was
 * stored under that tag's key, and that its layers are exactly the parts its metadata lists (so
 * that what is downloaded is what the checks after it describe). Throws saying what is wrong.
 */
export function readArtifactManifest(body: string, tag: string, digest: string): ArtifactEntry {
  let manifest: Partial<ArtifactManifest>
  try {
    manifest = JSON.parse(body) as Partial<ArtifactManifest>
  } catch {
    throw new Error(`the manifest of ${tag} is not JSON`)
  }
  if (manifest.artifactType !== ARTIFACT_TYPE) {
    throw new Error(
      `${tag} is not a warmstart checkpoint (artifactType ${JSON.stringify(manifest.artifactType ?? null)})`
    )
  }
  const annotations = manifest.annotations ?? {}
  const key = annotations[KEY_ANNOTATION]
  if (typeof key !== 'string' || tagForKey(key) !== tag) {
    throw new Error(`the key annotation of ${tag} does not match its tag`)
  }
  let metadata: EntryMetadata
  try {
    metadata = JSON.parse(annotations[METADATA_ANNOTATION] ?? '') as EntryMetadata
  } catch {
    throw new Error(`the metadata annotation of ${tag} is not JSON`)
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new Error(`the metadata annotation of ${tag} is not an object`)
  }
  const bytes = Number(metadata.bytes)
  const parts = decodeParts(metadata.parts, bytes)
  const layers = manifest.layers ?? []
  const matches =
    layers.length === parts.length &&
    parts.every(
      (part, i) =>
        layers[i]?.digest === partDigest(part) &&
        layers[i]?.size === part.bytes &&
        layers[i]?.mediaType === PART_MEDIA_TYPE
    )
  if (!matches) throw new Error(`the layers of ${tag} are not the parts its metadata lists`)
  const createdAt = Date.parse(annotations[CREATED_ANNOTATION] ?? '')
  return {
    key,
    tag,
    digest,
    metadata,
    parts,
    bytes,
    createdAt: Number.isFinite(createdAt) ? createdAt : 0
  }
}

/** For each prefix in order, the newest entry whose key starts with it (as the other stores). */
export function newestByPrefix(
  entries: ArtifactEntry[],
  prefixes: string[]
): ArtifactEntry | undefined {
  const byCreation = [...entries].sort((a, b) => b.createdAt - a.createdAt)
  for (const prefix of prefixes.filter((p) => p.length > 0)) {
    const match = byCreation.find((entry) => entry.key.startsWith(prefix))
    if (match) return match
  }
  return undefined
}

export interface PruneRule {
  /** Entries created longer ago than this go. */
  maxAgeMs?: number
  /** Then the oldest go until the rest fit. */
  maxBytes?: number
  now: number
}

/** What prune removes: every entry older than the age, then the oldest beyond the size. */
export function pruneVictims(entries: ArtifactEntry[], rule: PruneRule): ArtifactEntry[] {
  const newestFirst = [...entries].sort((a, b) => b.createdAt - a.createdAt)
  const victims: ArtifactEntry[] = []
  let kept = 0
  for (const entry of newestFirst) {
    const tooOld = rule.maxAgeMs !== undefined && rule.now - entry.createdAt > rule.maxAgeMs
    const tooBig = rule.maxBytes !== undefined && kept + entry.bytes > rule.maxBytes
    if (tooOld || tooBig) victims.push(entry)
    else kept += entry.bytes
  }
  return victims
}
