// A service's named volumes (the anonymous ones of an image's VOLUME paths included): what a
// checkpoint keeps of them, and how a warm restore puts them back before podman restores the
// processes that have their files open. Volume files belong to root or to a user namespace's
// root, so every file operation here runs as root: directly when warmstart is root, else through
// `sudo -n`. Tars keep numeric owners: the container's users, mapped as its user namespace maps
// them, are not the host's.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { isZstd, streamRange } from './archive.js'
import type { VolumePart } from './layout.js'
import type { Podman } from './podman.js'

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
    const [uid, gid] = owner.trim().split(' ').map(Number)
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

/** Writes a tar of the volume's contents to `outPath`, zstd-compressed unless told otherwise. */
export async function archiveVolume(
  podman: Podman,
  volume: ContainerVolume,
  outPath: string,
  compress: boolean
): Promise<void> {
  const script = compress
    ? 'tar -c --numeric-owner -C "$1" . | zstd -q -3 -T0'
    : 'tar -c --numeric-owner -C "$1" .'
  // The file is opened here, so it belongs to the user warmstart runs as, who stores it.
  const out = openSync(outPath, 'w', 0o600)
  try {
    await runAsRoot(podman, ['bash', '-o', 'pipefail', '-c', script, 'bash', volume.mountpoint], {
      stdout: out
    })
  } finally {
    closeSync(out)
  }
}

/**
 * Creates the volume a checkpoint part restores into, empty and owned as it was. A volume of that
 * name that warmstart made and no container uses is replaced; any other is left alone, and the
 * restore fails (a user's own volume is never overwritten).
 */
export async function createVolumeFor(
  podman: Podman,
  part: VolumePart,
  container: string
): Promise<string> {
  if (await podman.volumeExists(part.name)) {
    const existing = await podman.inspectVolume(part.name)
    if (existing.Labels?.[VOLUME_OWNER_LABEL] === undefined) {
      throw new Error(
        `a volume named ${part.name} already exists and warmstart did not create it; it is left as is (remove it with podman volume rm ${part.name} to restore this checkpoint)`
      )
    }
    const users = await podman.containersUsingVolume(part.name)
    if (users.length) {
      throw new Error(`volume ${part.name} is in use by container ${users.join(', ')}`)
    }
    await podman.removeVolume(part.name)
  }
  const created = await podman.createVolume(part.name, {
    uid: part.uid,
    gid: part.gid,
    labels: { [VOLUME_OWNER_LABEL]: container }
  })
  return created.Mountpoint
}

/**
 * Unpacks a volume part of the archive into the volume's directory, hashing the part's bytes as
 * they go by; returns their SHA-256 (the caller compares it with the manifest's). Device nodes
 * are refused: a checkpoint's volume holds data files.
 */
export async function unpackVolume(
  podman: Podman,
  archivePath: string,
  part: VolumePart,
  mountpoint: string
): Promise<string> {
  const compressed = await startsWithZstd(archivePath, part.offset)
  const script = compressed
    ? 'zstd -dcq | tar -x --numeric-owner -C "$1"'
    : 'tar -x --numeric-owner -C "$1"'
  const argv = podman.asRoot(['bash', '-o', 'pipefail', '-c', script, 'bash', mountpoint])
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] })
  const exited = exitOf(child, `unpacking volume ${part.name}`)
  const hash = createHash('sha256')
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      done(null, chunk)
    }
  })
  // A tar that quits early breaks the pipe; its own exit status says why, below.
  await pipeline(createReadStream(archivePath, streamRange(part)), hashing, child.stdin).catch(
    () => undefined
  )
  await exited
  const devices = await runAsRoot(podman, [
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
  if (devices.trim()) {
    throw new Error(`volume ${part.name} holds a device node (${devices.trim()}): refused`)
  }
  return hash.digest('hex')
}

/** Removes the volumes warmstart created for `container`. */
export async function removeVolumesOf(podman: Podman, container: string): Promise<void> {
  for (const name of await podman.volumesLabelled(VOLUME_OWNER_LABEL, container)) {
    await podman.removeVolume(name)
  }
}

async function startsWithZstd(path: string, offset: number): Promise<boolean> {
  for await (const chunk of createReadStream(path, { start: offset, end: offset + 3 })) {
    return isZstd(chunk as Buffer)
  }
  return false
}

/** Runs argv as root to completion; returns its stdout (unless sent to `stdout`), throws on failure. */
async function runAsRoot(
  podman: Podman,
  command: string[],
  options: { stdout?: number } = {}
): Promise<string> {
  const argv = podman.asRoot(command)
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe']
  })
  let stdout = ''
  child.stdout?.on('data', (chunk) => (stdout += chunk))
  await exitOf(child, command.join(' '))
  return stdout
}

/** Waits for a child process; rejects, saying `what` failed and the end of its stderr, unless it exits 0. */
function exitOf(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  let stderr = ''
  child.stderr?.on('data', (chunk) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.on('error', (error) => reject(new Error(`${what}: cannot start: ${error.message}`)))
    child.on('close', (code) => {
      if (code === 0) resolve()
      else {
        const said = stderr.trim().split('\n').slice(-4).join('\n')
        reject(new Error(`${what} failed (exit ${code})${said ? `: ${said}` : ''}`))
      }
    })
  })
}
