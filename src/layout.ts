// How a stored checkpoint is laid out: one file, its parts back to back. The first part is
// podman's export of the container without the contents of its volumes (`--ignore-volumes`);
// each next part is a tar of one named volume's contents. Each part is compressed on its own, so
// a warm restore unpacks every volume straight into place while the checkpoint part decompresses
// beside it, instead of podman writing a volume's bytes twice more (into its bundle directory,
// then into the volume). The parts are listed in the manifest; this module only describes and
// checks that list.

interface PartBase {
  /** Where the part starts in the archive file, in bytes. */
  offset: number
  bytes: number
  /** SHA-256 of the part's stored bytes. */
  sha256: string
}

export interface CheckpointPart extends PartBase {
  kind: 'checkpoint'
}

export interface VolumePart extends PartBase {
  kind: 'volume'
  /** The volume's name, as the checkpointed container refers to it. */
  name: string
  /** Where the container mounts it. */
  destination: string
  /** Owner of the volume's directory (a user namespace's root, say), as podman made it. */
  uid: number
  gid: number
}

export type ArchivePart = CheckpointPart | VolumePart

/** The parts as the manifest stores them: a JSON string (manifest values are scalars). */
export function encodeParts(parts: ArchivePart[]): string {
  return JSON.stringify(parts)
}

// podman's own rule for volume names, which also keeps them safe in paths and argv.
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const SHA256 = /^[0-9a-f]{64}$/

/**
 * The parts a manifest lists, checked: one checkpoint part first, then volumes, laid end to end
 * over exactly `archiveBytes`. Throws an Error saying what is wrong.
 */
export function decodeParts(encoded: unknown, archiveBytes: number): ArchivePart[] {
  if (typeof encoded !== 'string') throw new Error('parts: missing')
  let raw: unknown
  try {
    raw = JSON.parse(encoded)
  } catch {
    throw new Error('parts: not JSON')
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new Error('parts: not a list of parts')
  const parts = raw.map((part, index) => checkPart(part, index))
  let offset = 0
  for (const [index, part] of parts.entries()) {
    if ((part.kind === 'checkpoint') !== (index === 0)) {
      throw new Error('parts: the checkpoint must be the first part, and the only one')
    }
    if (part.offset !== offset) {
      throw new Error(`parts: part ${index} starts at ${part.offset}, expected ${offset}`)
    }
    offset += part.bytes
  }
  if (offset !== archiveBytes) {
    throw new Error(`parts: they cover ${offset} bytes of an archive of ${archiveBytes}`)
  }
  const names = parts.filter(isVolumePart).map((part) => part.name)
  if (new Set(names).size !== names.length) throw new Error('parts: a volume is listed twice')
  return parts
}

export function isVolumePart(part: ArchivePart): part is VolumePart {
  return part.kind === 'volume'
}

function checkPart(value: unknown, index: number): ArchivePart {
  const part = value as Record<string, unknown>
  const fail = (what: string): never => {
    throw new Error(`parts: part ${index} ${what}`)
  }
  if (typeof part !== 'object' || part === null) fail('is not an object')
  const count = (name: string): number => {
    const n = part[name]
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : fail(`has no ${name}`)
  }
  const base = { offset: count('offset'), bytes: count('bytes'), sha256: String(part.sha256) }
  if (!SHA256.test(base.sha256)) fail('has no sha256')
  if (part.kind === 'checkpoint') return { kind: 'checkpoint', ...base }
  if (part.kind !== 'volume') return fail(`is of unknown kind ${JSON.stringify(part.kind)}`)
  const name = String(part.name)
  if (!VOLUME_NAME.test(name)) fail(`has an invalid volume name ${JSON.stringify(part.name)}`)
  const destination = String(part.destination)
  if (!destination.startsWith('/') || destination.split('/').includes('..')) {
    fail(`has an invalid destination ${JSON.stringify(part.destination)}`)
  }
  return { kind: 'volume', ...base, name, destination, uid: count('uid'), gid: count('gid') }
}
