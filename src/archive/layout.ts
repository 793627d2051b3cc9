// How a stored checkpoint is laid out: one file, its parts back to back. The first part is
// podman's export of the container without the contents of its volumes (`--ignore-volumes`);
// then come the volumes, each in slices: slice 0 holds its directories and symbolic links,
// slices 1.. its other files, split by size. Each part is compressed on its own, so a warm
// restore unpacks every volume straight into place (the file slices side by side, one
// decompressor and one tar per slice, then slice 0, whose links cannot then redirect a file
// slice's writes) while the checkpoint part decompresses beside them,
// instead of podman writing a volume's bytes twice more (into its bundle directory, then into
// the volume) with one thread. The parts are listed in the manifest; this module only describes
// and checks that list.

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
  /** 0: the volume's directories and symbolic links, unpacked last; 1 and on: its other files. */
  slice: number
  /** The size of the files in this slice once unpacked (what the volume will take). */
  unpackedBytes: number
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
  checkSlices(parts.filter(isVolumePart))
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
  return {
    kind: 'volume',
    ...base,
    name,
    destination,
    uid: count('uid'),
    gid: count('gid'),
    slice: count('slice'),
    unpackedBytes: count('unpackedBytes')
  }
}

/** A volume's slices come together, numbered from 0, and agree on where and whose it is. */
function checkSlices(volumes: VolumePart[]): void {
  const seen = new Set<string>()
  let previous: VolumePart | undefined
  for (const part of volumes) {
    if (part.name !== previous?.name) {
      if (seen.has(part.name)) throw new Error(`parts: the slices of volume ${part.name} are apart`)
      seen.add(part.name)
      if (part.slice !== 0)
        throw new Error(`parts: volume ${part.name} starts at slice ${part.slice}`)
    } else {
      if (part.slice !== previous.slice + 1) {
        throw new Error(
          `parts: volume ${part.name} has slice ${part.slice} after ${previous.slice}`
        )
      }
      if (
        part.destination !== previous.destination ||
        part.uid !== previous.uid ||
        part.gid !== previous.gid
      ) {
        throw new Error(`parts: the slices of volume ${part.name} disagree on its mount or owner`)
      }
    }
    previous = part
  }
}

/** The volume parts grouped by volume, in order: each group's first part is slice 0. */
export function volumeGroups(parts: ArchivePart[]): VolumePart[][] {
  const groups: VolumePart[][] = []
  for (const part of parts.filter(isVolumePart)) {
    if (part.slice === 0) groups.push([part])
    else groups[groups.length - 1]?.push(part)
  }
  return groups
}
