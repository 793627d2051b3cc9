// The cold path's last step: checkpoint the warmed-up service with it stopped, archive its volumes
// in slices, resume it, lay the parts end to end in one archive, and hand it to the store. Every
// failure here is a warning: the service stays up.
import { createHash } from 'node:crypto'
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync
} from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished, pipeline } from 'node:stream/promises'
import { compressArchive } from './archive.js'
import type { ArchivePart } from './layout.js'
import { buildManifest } from './manifest.js'
import { formatBytes, message, type EngineOptions, type Plan } from './plan.js'
import { waitUntilReady } from './ready.js'
import { restoreArchive } from './restore.js'
import { containerId, probeContext, removeService, restartCold } from './service.js'
import type { Timings } from './timings.js'
import {
  archiveVolume,
  containerVolumes,
  type ContainerVolume,
  type VolumeSlice
} from './volumes.js'

/** Checkpoints the warmed-up service and hands the archive to the store; failures only warn. */
export async function checkpointAndStore(
  plan: Plan,
  options: EngineOptions,
  timings: Timings,
  warn: (message: string) => void
): Promise<{ id: string; bytes: number; saved: boolean }> {
  const { podman, logger, store } = options
  const { spec } = plan
  const notSaved = async () => ({
    id: await containerId(podman, spec.name),
    bytes: 0,
    saved: false
  })
  if (!plan.criu.ok) return notSaved()
  if (options.checkpoint === false) {
    logger.info('no checkpoint is made: this run does not save one')
    return notSaved()
  }
  if (plan.noCheckpointReason) {
    warn(`no checkpoint: ${plan.noCheckpointReason}`)
    return notSaved()
  }
  const workDir = mkdtempSync(join(options.workDir ?? tmpdir(), 'warmstart-'))
  try {
    const compress = options.compress !== 'none'
    const made = await logger.group(`Checkpoint ${spec.name}`, () =>
      checkpointConsistently(plan, options, timings, workDir, compress, warn)
    )
    if (!made.ok) return notSaved()
    // podman exports a plain tar; zstd compresses it with every core (podman's own zstd is
    // single-threaded, and importing a plain tar is twice as fast as letting podman decompress).
    let checkpointFile = made.checkpoint
    if (compress) {
      checkpointFile = `${made.checkpoint}.zst`
      await timings.time('compress', () => compressArchive(made.checkpoint, checkpointFile))
    }
    const archive = join(workDir, `${spec.name}.checkpoint`)
    const { parts, sha256 } = await timings.time('assemble', () =>
      assembleArchive(archive, checkpointFile, made.volumes)
    )
    const bytes = statSync(archive).size
    if (!made.resumed) {
      // The archive may be fine; only the container could not be resumed in place. Import it.
      await removeService(podman, spec.name)
      try {
        await timings.time('resume', () => restoreArchive(plan, archive, parts, options, timings))
      } catch (error) {
        warn(
          `importing the checkpoint failed too, starting ${spec.name} again cold: ${message(error)}`
        )
        await restartCold(plan, options, timings)
        return notSaved()
      }
    }
    const metadata = buildManifest({
      key: plan.key,
      sha256,
      bytes,
      parts,
      image: spec.image,
      createdAt: new Date()
    })
    const outcome = await timings
      .time('store', () => store.save(plan.key.key, archive, metadata))
      .catch((error: unknown) => {
        warn(
          `the checkpoint could not be stored in ${store.description}: ${message(error)}; the service is up`
        )
        return { saved: false, bytes, reason: undefined }
      })
    if (outcome.saved) logger.info(`stored ${formatBytes(bytes)} under ${plan.key.key}`)
    else if (outcome.reason) logger.info(`not stored: ${outcome.reason}`)
    return { id: await containerId(podman, spec.name), bytes, saved: outcome.saved }
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}

/** What a checkpoint left in the work directory: the podman export and one tar per volume. */
type Checkpointed =
  | { ok: false }
  | {
      ok: true
      /** podman's export, without the volumes' contents. */
      checkpoint: string
      volumes: Array<{ volume: ContainerVolume; slices: VolumeSlice[] }>
      /** Whether the service runs again (false: it must be imported from the archive). */
      resumed: boolean
    }

/**
 * Checkpoints with the service stopped, archives its volumes while it stays stopped, then
 * restores it in place: the archive's files and memory are from the same instant.
 * (`--leave-running` resumes the service before its files are archived, so a database writing in
 * the background would leave files newer than its memory.)
 */
async function checkpointConsistently(
  plan: Plan,
  options: EngineOptions,
  timings: Timings,
  workDir: string,
  compress: boolean,
  warn: (message: string) => void
): Promise<Checkpointed> {
  const { podman } = options
  const { spec } = plan
  let volumes: ContainerVolume[]
  try {
    volumes = await containerVolumes(podman, spec.name)
  } catch (error) {
    warn(`no checkpoint: the volumes of ${spec.name} cannot be read: ${message(error)}`)
    return { ok: false }
  }
  const checkpoint = join(workDir, 'checkpoint.tar')
  try {
    await timings.time('checkpoint', () =>
      podman.checkpoint(spec.name, {
        exportPath: checkpoint,
        keep: true,
        fileLocks: spec.fileLocks,
        tcpEstablished: spec.tcpEstablished,
        compress: 'none',
        ignoreVolumes: true
      })
    )
  } catch (error) {
    warn(`checkpoint failed, the service keeps running without one: ${message(error)}`)
    const running = (await podman.inspectContainer(spec.name)).State.Running
    if (running) return { ok: false }
    // CRIU stopped it after all: start again cold, without another checkpoint attempt.
    await restartCold(plan, options, timings)
    return { ok: false }
  }
  let archived: Array<{ volume: ContainerVolume; slices: VolumeSlice[] }> = []
  let volumeError: unknown
  try {
    archived = await timings.time('volumes', async () => {
      const files = []
      for (const volume of volumes) {
        const slices = await archiveVolume(podman, volume, workDir, {
          compress,
          fileSlices: FILE_SLICES
        })
        files.push({ volume, slices })
      }
      return files
    })
  } catch (error) {
    volumeError = error
  }
  const resumed = await resumeInPlace(plan, options, timings, warn)
  if (volumeError) {
    warn(
      `no checkpoint: the volumes of ${spec.name} could not be archived: ${message(volumeError)}`
    )
    if (!resumed) await restartCold(plan, options, timings)
    return { ok: false }
  }
  return { ok: true, checkpoint, volumes: archived, resumed }
}

/** Restores the just checkpointed service in place; false (with a warning) when it failed. */
async function resumeInPlace(
  plan: Plan,
  options: EngineOptions,
  timings: Timings,
  warn: (message: string) => void
): Promise<boolean> {
  const { podman } = options
  const { spec } = plan
  try {
    await timings.time('resume', async () => {
      await podman.restore({
        container: spec.name,
        fileLocks: spec.fileLocks,
        tcpEstablished: spec.tcpEstablished
      })
      await waitUntilReady(plan.probe, probeContext(plan, options), spec.readyTimeoutSeconds)
    })
    return true
  } catch (error) {
    warn(
      `resuming ${spec.name} in place failed, importing its checkpoint instead: ${message(error)}`
    )
    return false
  }
}

/**
 * Lays the parts end to end in `archive` (the checkpoint part is moved there, the volume parts
 * appended and removed) and hashes each part and the whole on the way.
 */
async function assembleArchive(
  archive: string,
  checkpointFile: string,
  volumes: Array<{ volume: ContainerVolume; slices: VolumeSlice[] }>
): Promise<{ parts: ArchivePart[]; sha256: string }> {
  const whole = createHash('sha256')
  renameSync(checkpointFile, archive)
  const first = await hashPart(archive, whole)
  const parts: ArchivePart[] = [{ kind: 'checkpoint', offset: 0, ...first }]
  let offset = first.bytes
  const slices = volumes.flatMap(({ volume, slices }) =>
    slices.map((slice) => ({ volume, ...slice }))
  )
  for (const { volume, path, slice, unpackedBytes } of slices) {
    const part = await hashPart(path, whole, archive)
    rmSync(path, { force: true })
    parts.push({
      kind: 'volume',
      offset,
      ...part,
      name: volume.name,
      destination: volume.destination,
      uid: volume.uid,
      gid: volume.gid,
      slice,
      unpackedBytes
    })
    offset += part.bytes
  }
  return { parts, sha256: whole.digest('hex') }
}

/** Reads a part's file once: its size and SHA-256, into `whole` too, appended to `appendTo` if given. */
async function hashPart(
  path: string,
  whole: ReturnType<typeof createHash>,
  appendTo?: string
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256')
  let bytes = 0
  const source = createReadStream(path).on('data', (chunk) => {
    hash.update(chunk)
    whole.update(chunk)
    bytes += chunk.length
  })
  if (appendTo) await pipeline(source, createWriteStream(appendTo, { flags: 'a' }))
  else await finished(source)
  return { bytes, sha256: hash.digest('hex') }
}

/**
 * How many slices a volume's files are archived in, to be unpacked side by side: one tar and one
 * zstd each. Two measured 15-40% faster than one on a 2-core machine (730 MB of PostgreSQL data);
 * more would only help hosts with more cores than GitHub's standard runners.
 */
const FILE_SLICES = Math.min(4, Math.max(2, availableParallelism()))
