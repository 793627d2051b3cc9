// The manifest stored with every checkpoint: what it is, where it was made, and how to recognise
// the archive. Checked before an archive is imported; any difference discards the entry.
import type { CacheKey } from '../key.js'
import { CHECKPOINT_FORMAT } from '../key.js'
import { encodeParts, type ArchivePart } from './layout.js'
import type { EntryMetadata } from '../store/store.js'

/** The components of the key that describe the host (and warmstart's format). */
function hostComponents(key: CacheKey): Record<string, string> {
  return Object.fromEntries(
    Object.entries(key.components).filter(([name]) => name.startsWith('host.') || name === 'format')
  )
}

export function buildManifest(options: {
  key: CacheKey
  sha256: string
  bytes: number
  parts: ArchivePart[]
  image: string
  createdAt: Date
}): EntryMetadata {
  return {
    format: CHECKPOINT_FORMAT,
    key: options.key.key,
    specDigest: options.key.specDigest,
    image: options.image,
    imageId: options.key.components.image ?? '',
    sha256: options.sha256,
    bytes: options.bytes,
    parts: encodeParts(options.parts),
    createdAt: options.createdAt.toISOString(),
    ...hostComponents(options.key)
  }
}

/**
 * What differs between a stored manifest and this host and run, one line per difference; empty
 * when the checkpoint may be restored here. `storedKey` is the key the entry was found under: a
 * restore-key hit legitimately has another spec digest, never another host.
 */
export function manifestDifferences(
  manifest: EntryMetadata,
  key: CacheKey,
  storedKey: string
): string[] {
  const differences: string[] = []
  const expected: Record<string, string | number> = {
    ...hostComponents(key),
    format: CHECKPOINT_FORMAT,
    key: storedKey
  }
  if (storedKey === key.key) expected.specDigest = key.specDigest
  for (const [name, value] of Object.entries(expected)) {
    if (String(manifest[name]) !== String(value)) {
      differences.push(
        `${name}: the checkpoint has ${JSON.stringify(manifest[name] ?? null)}, this run ${JSON.stringify(value)}`
      )
    }
  }
  if (typeof manifest.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(manifest.sha256))
    differences.push('sha256: missing')
  if (typeof manifest.bytes !== 'number') differences.push('bytes: missing')
  return differences
}
