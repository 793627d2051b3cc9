// A service's named volumes (the anonymous ones of an image's VOLUME paths included): what a
// checkpoint keeps of them, and how a warm restore puts them back before podman restores the
// processes that have their files open. Volume files belong to root or to a user namespace's
// root, so every file operation here runs as root: directly when warmstart is root, else through
// `sudo -n`. Tars keep numeric owners: the container's users, mapped as its user namespace maps
// them, are not the host's.
import { closeSync, openSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ArchiveSource } from './archive/source.js'
import { unpackPart } from './archive/unpack-part.js'
import type { VolumePart } from './archive/layout.js'
import type { Podman } from './podman.js'
import { collectOutput, startPipeline } from './process.js'
import type { VolumeStorageSetting } from './spec.js'

/** Marks the volumes warmstart creates, with the container they were made for: `down` removes them. */
export const VOLUME_OWNER_LABEL = 'io.warmstart.container'

export interface ContainerVolume {
  name: string
  destination: string
  /** The volume's directory on the host. */
  mountpoint: string
  /** Owner of the directory holding the volume, as podman made it for this container. */
  uid: number
  gid: number
}

/** The container's named volumes, where they live and who owns them. */
export async function containerVolumes(
  podman: Podman,
  container: string
): Promise<ContainerVolume[]> {
  const info = await podman.inspectContainer(container)
  const volumes: ContainerVolume[] = []
  for (const mount of info.Mounts ?? []) {
    if (mount.Type !== 'volume' || !mount.Name) continue
    const { Mountpoint } = await podman.inspectVolume(mount.Name)
    if (!Mountpoint) {
      throw new Error(`volume ${mount.Name} has no directory on this host (another volume driver?)`)
    }
    const owner = await runAsRoot(podman, ['stat', '--format', '%u %g', dirname(Mountpoint)])
    const [uid, gid] = owner.toString().trim().split(' ').map(Number)
    volumes.push({
      name: mount.Name,
      destination: mount.Destination,
      mountpoint: Mountpoint,
      uid: uid ?? 0,
      gid: gid ?? 0
    })
  }
  return volumes
}

/** A file a volume was archived to, and which slice of it (src/archive/layout.ts) it holds. */
export interface VolumeSlice {
  path: string
  slice: number
  /** The size of the files it holds. */
  unpackedBytes: number
}

/**
 * Archives the volume's contents in slices under `dir`: slice 0 its directories (its top one
 * included, for its mode and owner) and symbolic links, then its other files split by size over
 * `fileSlices` tars, so that a restore can unpack them side by side. zstd-compressed unless told
 * otherwise.
 */
export async function archiveVolume(
  podman: Podman,
  volume: ContainerVolume,
  dir: string,
  options: { compress: boolean; fileSlices: number }
): Promise<VolumeSlice[]> {
  // One listing: type, link count, size and path of every entry, NUL-terminated (paths are bytes).
  const listing = await runAsRoot(podman, [
    'find',
    volume.mountpoint,
    '-mindepth',
    '1',
    '-printf',
    '%y %n %s %P\\0'
  ])
  const { directories, fileSlices } = splitListing(listing, options.fileSlices)
  const lists = [
    { names: [Buffer.from('.'), ...directories], bytes: 0 },
    ...fileSlices.filter((files) => files.names.length)
  ]
  const slices: VolumeSlice[] = []
  for (const [slice, { names, bytes }] of lists.entries()) {
    const list = join(dir, `volume-list-${slice}`)
    writeFileSync(list, Buffer.concat(names.flatMap((name) => [name, Buffer.from([0])])))
    const path = join(dir, `${volume.name}-${slice}.tar${options.compress ? '.zst' : ''}`)
    const tar = 'tar -c --numeric-owner --no-recursion --null -C "$1" -T "$2"'
    const script = options.compress ? `${tar} | zstd -q -3 -T0` : tar
    // The file is opened here, so it belongs to the user warmstart runs as, who stores it.
    const out = openSync(path, 'w', 0o600)
    try {
      await runAsRoot(
        podman,
        ['bash', '-o', 'pipefail', '-c', script, 'bash', volume.mountpoint, list],
        { stdout: out }
      )
    } finally {
      closeSync(out)
    }
    slices.push({ path, slice, unpackedBytes: bytes })
  }
  return slices
}

/**
 * Splits `find -printf '%y %n %s %P\0'` output into the directories with the symbolic links, and
 * `count` lists of other files of about equal size (largest first, each to the lightest list).
 * Files with more than one link stay together in the first list, so that tar keeps them linked.
 * The links go with the directories because a restore unpacks that slice last, after the file
 * slices' tars, which run side by side: a link one tar made could otherwise lead another tar's
 * writes out of the volume (one tar alone guards against that; two cannot see each other's).
 */
export function splitListing(
  listing: Buffer,
  count: number
): { directories: Buffer[]; fileSlices: Array<{ names: Buffer[]; bytes: number }> } {
  const directories: Buffer[] = []
  const files: Array<{ name: Buffer; size: number; linked: boolean }> = []
  let at = 0
  while (at < listing.length) {
    const end = listing.indexOf(0, at)
    const record = listing.subarray(at, end < 0 ? listing.length : end)
    at = end < 0 ? listing.length : end + 1
    const fields = record.toString('latin1').split(' ', 3)
    const [type, links, size] = fields
    const name = Buffer.concat([Buffer.from('./'), record.subarray(fields.join(' ').length + 1)])
    if (type === 'd' || type === 'l') directories.push(name)
    else files.push({ name, size: Number(size), linked: Number(links) > 1 })
  }
  const fileSlices = Array.from({ length: Math.max(1, count) }, () => ({
    names: [] as Buffer[],
    bytes: 0
  }))
  const add = (slice: { names: Buffer[]; bytes: number }, file: (typeof files)[number]) => {
    slice.names.push(file.name)
    slice.bytes += file.size
  }
  const first = fileSlices[0] as (typeof fileSlices)[number]
  for (const file of files.filter((f) => f.linked)) add(first, file)
  for (const file of files.filter((f) => !f.linked).sort((a, b) => b.size - a.size)) {
    add(
      fileSlices.reduce((lightest, s) => (s.bytes < lightest.bytes ? s : lightest)),
      file
    )
  }
  return { directories, fileSlices }
}

/**
 * Creates the volume a checkpoint part restores into, empty and owned as it was. A volume of that
 * name that warmstart made and no container uses is replaced; any other is left alone, and the
 * restore fails (a user's own volume is never overwritten).
 */
export async function createVolumeFor(
  podman: Podman,
  part: VolumePart,
  container: string,
  storage: VolumeStorage
): Promise<string> {
  const create = () =>
    podman.createVolume(part.name, {
      uid: part.uid,
      gid: part.gid,
      labels: { [VOLUME_OWNER_LABEL]: container },
      memory: storage === 'memory'
    })
  // Usually there is none of that name: create first, look only when that fails.
  await create().catch(async (error: unknown) => {
    if (!(await podman.volumeExists(part.name))) throw error
    await replaceOwnVolume(podman, part.name)
    await create()
  })
  // A tmpfs exists only while mounted: warmstart holds it mounted until removeVolumesOf.
  if (storage === 'memory') return podman.mountVolume(part.name)
  return (await podman.inspectVolume(part.name)).Mountpoint
}

/** Removes a volume of that name if warmstart made it and no container uses it; else throws. */
async function replaceOwnVolume(podman: Podman, name: string): Promise<void> {
  const existing = await podman.inspectVolume(name)
  if (existing.Labels?.[VOLUME_OWNER_LABEL] === undefined) {
    throw new Error(
      `a volume named ${name} already exists and warmstart did not create it; it is left as is (remove it with podman volume rm ${name} to restore this checkpoint)`
    )
  }
  const users = await podman.containersUsingVolume(name)
  if (users.length) throw new Error(`volume ${name} is in use by container ${users.join(', ')}`)
  await removeVolume(podman, name)
}

/** Where a restored volume lives: a tmpfs, or a directory on the host's disk. */
export type VolumeStorage = 'memory' | 'disk'

/** The share of the host's memory that volumes may take in memory when the setting is auto. */
export const MEMORY_SHARE = 0.25

/**
 * Memory (a tmpfs) when asked, or, on auto, when the volumes' files take at most a quarter of the
 * host's memory: unpacking into a tmpfs is twice as fast, and a test service's data is throwaway.
 * A tmpfs may grow to half the memory, so the service keeps room to write.
 */
export function chooseVolumeStorage(
  setting: VolumeStorageSetting,
  unpackedBytes: number,
  totalMemory: number
): VolumeStorage {
  if (setting !== 'auto') return setting
  return unpackedBytes <= totalMemory * MEMORY_SHARE ? 'memory' : 'disk'
}

/**
 * Unpacks a volume part of the archive into the volume's directory (src/archive/unpack-part.ts)
 * and returns the SHA-256 of the part's bytes (the caller compares it with the manifest's).
 */
export async function unpackVolume(
  podman: Podman,
  archive: ArchiveSource,
  part: VolumePart,
  mountpoint: string
): Promise<string> {
  const unpacked = await unpackPart(podman, archive, part, mountpoint, {
    what: `unpacking volume ${part.name}`
  })
  if (unpacked.failed) throw unpacked.failed
  return unpacked.sha256
}

/**
 * Makes `directories` (relative paths, checked here) inside a fresh volume, before its file slices
 * unpack side by side. GNU tar, finding a file's parent missing, makes the parents and retries
 * only when it made one itself: when another tar made it in between, it fails with "Cannot open:
 * No such file or directory" (seen here on PostgreSQL's base/1; pghoard issue 452 traces it).
 * The volume holds no link yet, so nothing can lead these outside it.
 */
export async function makeDirectories(
  podman: Podman,
  mountpoint: string,
  directories: string[]
): Promise<void> {
  const relative = directories.map((dir) => dir.replace(/^(\.\/)+/, '').replace(/\/+$/, ''))
  const unsafe = relative.find((dir) => dir.startsWith('/') || dir.split('/').includes('..'))
  if (unsafe !== undefined) throw new Error(`refusing to make directory ${unsafe} in a volume`)
  const wanted = relative.filter((dir) => dir && dir !== '.')
  if (!wanted.length) return
  const argv = podman.asRoot(['sh', '-c', 'cd "$1" && xargs -0 mkdir -p --', 'sh', mountpoint])
  const { child, exited } = startPipeline(argv, `making the directories of volume ${mountpoint}`, {
    stdin: 'pipe',
    stdout: 'ignore'
  })
  child.stdin?.on('error', () => undefined)
  child.stdin?.end(wanted.join('\0'))
  await exited
}

/** Throws when the volume holds a device node: a checkpoint's volume holds data files. */
export async function refuseDevices(
  podman: Podman,
  name: string,
  mountpoint: string
): Promise<void> {
  const found = await runAsRoot(podman, [
    'find',
    mountpoint,
    '-xdev',
    '(',
    '-type',
    'b',
    '-o',
    '-type',
    'c',
    ')',
    '-print',
    '-quit'
  ])
  if (found.length) {
    throw new Error(`volume ${name} holds a device node (${found.toString().trim()}): refused`)
  }
}

/** Removes the volumes warmstart created for `container`. */
export async function removeVolumesOf(podman: Podman, container: string): Promise<void> {
  for (const name of await podman.volumesLabelled(VOLUME_OWNER_LABEL, container)) {
    await removeVolume(podman, name)
  }
}

/** Removes a volume no container uses, releasing warmstart's own mount of a memory volume first. */
async function removeVolume(podman: Podman, name: string): Promise<void> {
  // podman refuses to remove a volume that is still mounted.
  const { MountCount } = await podman.inspectVolume(name)
  for (let i = 0; i < (MountCount ?? 0); i++) await podman.unmountVolume(name)
  await podman.removeVolume(name)
}

/** Runs a command as root (through `sudo -n` when not root); resolves with its stdout, or writes it to `stdout`. */
async function runAsRoot(
  podman: Podman,
  command: string[],
  options: { stdout?: number } = {}
): Promise<Buffer> {
  const what = command.join(' ')
  if (options.stdout === undefined) return collectOutput(podman.asRoot(command), what)
  await startPipeline(podman.asRoot(command), what, { stdout: options.stdout }).exited
  return Buffer.alloc(0)
}
