// The warm loop. `up` restores a service from its checkpoint when the store has one, and else
// starts it cold, warms it up and checkpoints it for next time. `down` removes it.
//
// Failure policy, in one place: anything wrong on the warm path (a miss, a damaged archive, a
// restore or readiness failure) falls back to a cold start with a warning; anything wrong with
// checkpointing or storing is a warning and the service stays up. Only a service that cannot be
// started at all, or a warm-up that fails, fails `up`.
import { createHash } from 'node:crypto'
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync
} from 'node:fs'
import { availableParallelism, tmpdir, totalmem } from 'node:os'
import { pipeline } from 'node:stream/promises'
import { join } from 'node:path'
import { HostReader, type CriuStatus, type HostFingerprint } from './host.js'
import { locateImage } from './image.js'
import { archiveProblems, compressArchive, inspectArchive, streamRange } from './archive.js'
import { composeKey, restoreKeyPrefixes, type CacheKey } from './key.js'
import {
  decodeParts,
  volumeGroups,
  type ArchivePart,
  type CheckpointPart,
  type VolumePart
} from './layout.js'
import { buildManifest, manifestDifferences } from './manifest.js'
import type { Logger } from './logger.js'
import { PodmanError, type Podman, type RunOptions } from './podman.js'
import { describeProbe, parseProbe, waitUntilReady, type Probe } from './ready.js'
import { runShell } from './shell.js'
import { hostPorts, splitWords, type ServiceSpec } from './spec.js'
import type { CheckpointStore, StoreHit } from './store/store.js'
import { Timings, type PhaseTimings } from './timings.js'
import { USERNS_RUN_OPTIONS, needsUserNamespace } from './userns.js'
import {
  archiveVolume,
  chooseVolumeStorage,
  containerVolumes,
  createVolumeFor,
  refuseDevices,
  removeVolumesOf,
  unpackVolume,
  type ContainerVolume,
  type VolumeSlice
} from './volumes.js'

export interface EngineOptions {
  podman: Podman
  store: CheckpointStore
  logger: Logger
  /** Where checkpoint archives are written before the store takes them; default: a temp dir. */
  workDir?: string
  /** Replace a container of the same name instead of failing. */
  replace?: boolean
  /** Make a checkpoint on a cold start (default true); false when it could not be kept anyway. */
  checkpoint?: boolean
  /** How the stored archive is compressed: zstd (default), or none when the store compresses. */
  compress?: 'zstd' | 'none'
  /** Reads the host; tests substitute one that plays a host without CRIU. */
  host?: HostReader
}

export interface UpResult {
  /** The store had an entry for the exact key. */
  cacheHit: boolean
  /** The service was restored from a checkpoint (false: started cold). */
  restored: boolean
  containerId: string
  containerName: string
  cacheKey: string
  /** Seconds from the start of `up` until the service was ready (and warmed up, when cold). */
  startupSeconds: number
  /** Size of the checkpoint restored from, or of the one made and stored; 0 when none. */
  checkpointBytes: number
  /** Whether a fresh checkpoint was handed to the store. */
  saved: boolean
  timings: PhaseTimings
  /** What went wrong on the way, each with its reason; the service is up regardless. */
  warnings: string[]
}

/** `up` failed: the service could not be started. `exitCode` is the warm-up's when it failed. */
export class UpError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1
  ) {
    super(message)
    this.name = 'UpError'
  }
}

/** Everything about one `up`, gathered before anything starts. */
interface Plan {
  spec: ServiceSpec
  run: RunOptions
  probe: Probe
  key: CacheKey
  criu: CriuStatus
  /** Why no checkpoint can be made here, if none can. */
  noCheckpointReason?: string
  serviceEnv: Record<string, string>
  /** Settles when the image is here (it may still be pulling by digest: see src/image.ts). */
  imageReady: Promise<void>
}

export async function up(spec: ServiceSpec, options: EngineOptions): Promise<UpResult> {
  const timings = new Timings()
  const warnings: string[] = []
  const { podman, store, logger } = options
  const warn = (message: string): void => {
    warnings.push(message)
    logger.warning(message)
  }

  const plan = await logger.group(`Prepare ${spec.name}`, () => prepare(spec, options, timings))
  logger.info(`cache key: ${plan.key.key}`)
  for (const [name, value] of Object.entries(plan.key.components)) {
    logger.debug(`key ${name}: ${value}`)
  }
  const result = (outcome: Outcome): UpResult => ({
    cacheHit: outcome.cacheHit,
    restored: outcome.restored,
    containerId: outcome.id,
    containerName: spec.name,
    cacheKey: plan.key.key,
    startupSeconds: outcome.startupSeconds,
    checkpointBytes: outcome.bytes,
    saved: outcome.saved,
    timings: timings.phases(),
    warnings
  })

  let cacheHit = false
  if (plan.criu.ok) {
    const restoreKeys = restoreKeyPrefixes(plan.key.prefix, spec.restoreKeys)
    const hit = await timings
      .time('lookup', () => store.lookup(plan.key.key, restoreKeys))
      .catch((error: unknown) => {
        warn(`checkpoint lookup in ${store.description} failed: ${message(error)}; starting cold`)
        return undefined
      })
    if (hit) {
      cacheHit = hit.key === plan.key.key
      logger.info(`found checkpoint ${hit.key} (${formatBytes(hit.bytes)}) in ${store.description}`)
      try {
        const id = await logger.group(`Restore ${spec.name}`, () =>
          restoreWarm(plan, hit, options, timings)
        )
        if (cacheHit) {
          const startupSeconds = timings.sinceStart()
          return result({
            cacheHit,
            restored: true,
            id,
            startupSeconds,
            bytes: hit.bytes,
            saved: false
          })
        }
        // A restore key matched: bring the older checkpoint up to date, save it under this key.
        await refresh(plan, options, timings)
        const startupSeconds = timings.sinceStart()
        const stored = await checkpointAndStore(plan, options, timings, warn)
        return result({ cacheHit, restored: true, startupSeconds, ...stored })
      } catch (error) {
        warn(`restore from ${hit.key} failed, starting cold instead: ${message(error)}`)
        await removeService(podman, spec.name).catch((e: unknown) =>
          warn(`could not remove what the failed restore left: ${message(e)}`)
        )
        if (cacheHit) await store.discard(hit.key).catch(() => undefined)
      }
    } else {
      logger.info(`no checkpoint for this key in ${store.description}: starting cold`)
    }
  } else {
    warn(`${plan.criu.reason}: starting cold without a checkpoint`)
  }

  await logger.group(`Start ${spec.name}`, () => startCold(plan, options, timings))
  await warmUp(plan, options, timings)
  const startupSeconds = timings.sinceStart()
  const stored = await checkpointAndStore(plan, options, timings, warn)
  return result({ cacheHit, restored: false, startupSeconds, ...stored })
}

interface Outcome {
  cacheHit: boolean
  restored: boolean
  id: string
  startupSeconds: number
  bytes: number
  saved: boolean
}

/** Removes the service's container, whatever state it is in, and the volumes warmstart made for it. */
export async function down(name: string, options: { podman: Podman }): Promise<void> {
  await removeService(options.podman, name)
}

async function removeService(podman: Podman, name: string): Promise<void> {
  await podman.forceRemove(name)
  await removeVolumesOf(podman, name)
}

/** Reads the host and the image, decides how to run the service, composes the key. */
async function prepare(spec: ServiceSpec, options: EngineOptions, timings: Timings): Promise<Plan> {
  const { podman, logger } = options
  if (await podman.containerExists(spec.name)) {
    if (!options.replace) {
      throw new UpError(
        `a container named ${spec.name} already exists: remove it (warmstart down ${spec.name}), pick another name, or pass --replace`
      )
    }
    logger.info(`replacing the existing container ${spec.name}`)
    await removeService(podman, spec.name)
  }
  const image = await locateImage(podman, spec.image, timings).catch((error: unknown) => {
    throw new UpError(`image ${spec.image} is not here and could not be pulled: ${message(error)}`)
  })
  if (image.pulling) logger.info(`pulling ${image.pulling} while the checkpoint is looked up`)
  const host = options.host ?? new HostReader({ podman })
  const criu = await host.criuStatus()
  const fingerprint: HostFingerprint = await host.fingerprint(criu)
  let userNamespace = needsUserNamespace(
    { canDumpOtherUsers: host.canDumpOtherUsers() },
    image.user
  )
  let noCheckpointReason: string | undefined
  if (userNamespace && hostPorts(spec.ports).some((port) => port.host !== port.container)) {
    // In a user namespace the service shares the host's network and cannot be remapped.
    noCheckpointReason = `${spec.image} runs as user ${image.user}, which this host can only checkpoint on the host network, where ports cannot be remapped (${spec.ports.join(', ')}); publish the same port on both sides and make the service listen on it to get checkpoints`
    userNamespace = false
  }
  const run: RunOptions = {
    image: spec.image,
    name: spec.name,
    ports: userNamespace ? [] : spec.ports,
    env: spec.env,
    options: userNamespace ? [...USERNS_RUN_OPTIONS, ...spec.options] : spec.options,
    command: spec.command
  }
  if (userNamespace)
    logger.info(
      `${spec.image} runs as ${image.user}: using a user namespace on the host network (see docs/host-setup.md)`
    )
  const key = composeKey({
    spec,
    imageId: image.identity,
    warmupScript: warmupScriptContents(spec.warmup),
    host: fingerprint,
    userNamespace
  })
  return {
    spec,
    run,
    probe: parseProbe(spec.ready, spec.ports),
    key,
    criu,
    noCheckpointReason,
    serviceEnv: serviceEnvironment(spec),
    imageReady: image.ready
  }
}

/** Restores from a stored archive, after checking that its manifest fits this host and run. */
async function restoreWarm(
  plan: Plan,
  hit: StoreHit,
  options: EngineOptions,
  timings: Timings
): Promise<string> {
  const differences = manifestDifferences(hit.metadata, plan.key, hit.key)
  if (differences.length) {
    throw new Error(`its manifest does not match this run: ${differences.join('; ')}`)
  }
  const bytes = statSync(hit.archivePath).size
  if (bytes !== hit.metadata.bytes) {
    throw new Error(`the archive is ${bytes} bytes, ${hit.metadata.bytes} were stored (truncated?)`)
  }
  return restoreArchive(
    plan,
    hit.archivePath,
    decodeParts(hit.metadata.parts, bytes),
    options,
    timings
  )
}

/**
 * Puts the volumes back and decompresses the checkpoint part, side by side, checking every
 * part's SHA-256 and the checkpoint's tar entries on the way; then has podman restore the
 * processes and waits until the service answers. What a failure leaves is for the caller to remove.
 */
async function restoreArchive(
  plan: Plan,
  archivePath: string,
  parts: ArchivePart[],
  options: EngineOptions,
  timings: Timings
): Promise<string> {
  const { podman } = options
  const checkpoint = parts[0] as CheckpointPart
  const volumes = volumeGroups(parts)
  const scratch = mkdtempSync(join(scratchParent(checkpoint, options), 'warmstart-restore-'))
  try {
    const importPath = await timings.time('unpack', async () => {
      const unpackedBytes = volumes.flat().reduce((sum, part) => sum + part.unpackedBytes, 0)
      const storage = chooseVolumeStorage(plan.spec.volumeStorage, unpackedBytes, totalmem())
      if (volumes.length) {
        options.logger.info(
          `unpacking ${volumes.length} volume(s), ${formatBytes(unpackedBytes)}, ${storage === 'memory' ? 'into memory (tmpfs)' : 'onto disk'}`
        )
      }
      const mountpoints: string[] = []
      for (const [first] of volumes) {
        mountpoints.push(
          await createVolumeFor(podman, first as VolumePart, plan.spec.name, storage)
        )
      }
      const checkpointPath = checkCheckpointPart(
        archivePath,
        checkpoint,
        join(scratch, 'checkpoint.tar')
      )
      const volumesDone = volumes.map((slices, i) =>
        unpackVolumeSlices(podman, archivePath, slices, mountpoints[i] as string)
      )
      // allSettled: nothing may still be writing into a volume when a failure is cleaned up.
      const settled = await Promise.allSettled([checkpointPath, ...volumesDone])
      const failed = settled.find((result) => result.status === 'rejected')
      if (failed) throw failed.reason
      return (settled[0] as PromiseFulfilledResult<string>).value
    })
    await plan.imageReady.catch((error: unknown) => {
      throw new Error(`the image could not be pulled by digest: ${message(error)}`)
    })
    const id = await timings.time('restore', () =>
      podman.restore({
        importPath,
        name: plan.spec.name,
        fileLocks: plan.spec.fileLocks,
        tcpEstablished: plan.spec.tcpEstablished,
        ignoreVolumes: parts.length > 1
      })
    )
    await timings.time('ready', () =>
      waitUntilReady(plan.probe, probeContext(plan, options), plan.spec.readyTimeoutSeconds)
    )
    return id
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

/**
 * Where the checkpoint part is decompressed for podman to import: /dev/shm when it has room to
 * spare (a checkpoint's memory pages compress about 6:1; writing them to a tmpfs and reading
 * them back costs less than going through the disk), else the work directory.
 */
function scratchParent(checkpoint: CheckpointPart, options: EngineOptions): string {
  const fallback = options.workDir ?? tmpdir()
  try {
    const shm = statfsSync(SHM)
    if (shm.bavail * shm.bsize > checkpoint.bytes * 20) return SHM
  } catch {
    // No /dev/shm here.
  }
  return fallback
}

const SHM = '/dev/shm'

/** The checkpoint part, decompressed to `decompressTo` for podman, if it is what was stored. */
async function checkCheckpointPart(
  archivePath: string,
  part: CheckpointPart,
  decompressTo: string
): Promise<string> {
  const inspection = await inspectArchive(archivePath, { decompressTo, range: part })
  if (inspection.sha256 !== part.sha256) {
    throw new Error(
      `the checkpoint part's SHA-256 is ${inspection.sha256}, ${part.sha256} was stored (damaged?)`
    )
  }
  const problems = archiveProblems(inspection, MAX_UNPACKED_BYTES)
  if (problems.length) {
    throw new Error(
      `the archive holds what a checkpoint must not: ${problems.slice(0, 5).join('; ')}`
    )
  }
  if (inspection.importPath === decompressTo) return decompressTo
  // A plain part: podman imports a file, so a part inside a larger file is copied out.
  if (part.offset === 0 && part.bytes === statSync(archivePath).size) return archivePath
  await pipeline(createReadStream(archivePath, streamRange(part)), createWriteStream(decompressTo))
  return decompressTo
}

/** A volume's directories first, then its file slices side by side, each checked. */
async function unpackVolumeSlices(
  podman: Podman,
  archivePath: string,
  slices: VolumePart[],
  mountpoint: string
): Promise<void> {
  const [directories, ...files] = slices as [VolumePart, ...VolumePart[]]
  await unpackChecked(podman, archivePath, directories, mountpoint)
  const settled = await Promise.allSettled(
    files.map((part) => unpackChecked(podman, archivePath, part, mountpoint))
  )
  const failed = settled.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
  await refuseDevices(podman, directories.name, mountpoint)
}

async function unpackChecked(
  podman: Podman,
  archivePath: string,
  part: VolumePart,
  mountpoint: string
): Promise<void> {
  const sha256 = await unpackVolume(podman, archivePath, part, mountpoint)
  if (sha256 !== part.sha256) {
    throw new Error(
      `the part of volume ${part.name} has SHA-256 ${sha256}, ${part.sha256} was stored (damaged?)`
    )
  }
}

/** Starts the container and waits until it is ready; nothing is left behind when that fails. */
async function startCold(plan: Plan, options: EngineOptions, timings: Timings): Promise<string> {
  const { podman, logger } = options
  await plan.imageReady.catch(async (error: unknown) => {
    // The digest the key names may be gone from the registry while the tag still resolves.
    logger.warning(
      `pulling ${plan.spec.image} by digest failed (${message(error)}); pulling it by name`
    )
    await timings
      .time('pull', () => podman.pull(plan.spec.image))
      .catch((e: unknown) => {
        throw new UpError(`image ${plan.spec.image} could not be pulled: ${message(e)}`)
      })
  })
  let id: string
  try {
    id = await timings.time('start', () => podman.run(plan.run))
  } catch (error) {
    await podman.forceRemove(plan.spec.name).catch(() => undefined)
    throw new UpError(
      `could not start ${plan.spec.name}: ${await explainStartFailure(error, podman)}`
    )
  }
  logger.info(`waiting for ${describeProbe(plan.probe)} (up to ${plan.spec.readyTimeoutSeconds} s)`)
  try {
    await timings.time('ready', () =>
      waitUntilReady(plan.probe, probeContext(plan, options), plan.spec.readyTimeoutSeconds)
    )
  } catch (error) {
    await podman.forceRemove(plan.spec.name).catch(() => undefined)
    throw new UpError(message(error))
  }
  return id
}

/** Runs the warm-up; when it fails, the service is removed and `up` fails with its exit code. */
async function warmUp(plan: Plan, options: EngineOptions, timings: Timings): Promise<void> {
  const { podman, logger } = options
  const { spec } = plan
  if (!spec.warmup) return
  const { exitCode, output } = await logger.group(`Warm up ${spec.name}`, () =>
    timings.time('warmup', () => runLogged(spec.warmup, plan, logger))
  )
  if (exitCode === 0) return
  logger.info(`last log lines of ${spec.name}:\n${await podman.logs(spec.name)}`)
  await podman.forceRemove(spec.name).catch(() => undefined)
  throw new UpError(
    `the warm-up failed with exit code ${exitCode}; nothing was saved and ${spec.name} was removed. Its last output:\n${output.join('\n')}`,
    exitCode
  )
}

/** Runs `refresh` on a service restored from an older checkpoint; throws when it fails. */
async function refresh(plan: Plan, options: EngineOptions, timings: Timings): Promise<void> {
  const { logger } = options
  const { spec } = plan
  const { exitCode, output } = await logger.group(`Refresh ${spec.name}`, () =>
    timings.time('refresh', () => runLogged(spec.refresh, plan, logger))
  )
  if (exitCode !== 0) {
    throw new Error(
      `the refresh failed with exit code ${exitCode}. Its last output:\n${output.join('\n')}`
    )
  }
}

/** Runs a host command with the service's environment, its lines in the log; keeps the last ones. */
async function runLogged(
  command: string,
  plan: Plan,
  logger: Logger
): Promise<{ exitCode: number; output: string[] }> {
  const output: string[] = []
  const exitCode = await runShell(command, {
    env: plan.serviceEnv,
    onLine: (line) => {
      logger.info(`  ${line}`)
      output.push(line)
      if (output.length > WARMUP_OUTPUT_LINES) output.shift()
    }
  })
  return { exitCode, output }
}

/** How much of a failed warm-up's output its error repeats. */
const WARMUP_OUTPUT_LINES = 15

/** Checkpoints the warmed-up service and hands the archive to the store; failures only warn. */
async function checkpointAndStore(
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

/** Starts the service again from scratch, warm-up included: when its checkpoint left it stopped. */
async function restartCold(plan: Plan, options: EngineOptions, timings: Timings): Promise<void> {
  await removeService(options.podman, plan.spec.name)
  await startCold(plan, options, timings)
  await warmUp(plan, options, timings)
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
  const first = await hashFile(archive, whole)
  const parts: ArchivePart[] = [{ kind: 'checkpoint', offset: 0, ...first }]
  let offset = first.bytes
  const slices = volumes.flatMap(({ volume, slices }) =>
    slices.map((slice) => ({ volume, ...slice }))
  )
  for (const { volume, path, slice, unpackedBytes } of slices) {
    const hash = createHash('sha256')
    let bytes = 0
    const source = createReadStream(path)
    source.on('data', (chunk) => {
      hash.update(chunk)
      whole.update(chunk)
      bytes += chunk.length
    })
    await pipeline(source, createWriteStream(archive, { flags: 'a' }))
    rmSync(path, { force: true })
    parts.push({
      kind: 'volume',
      offset,
      bytes,
      sha256: hash.digest('hex'),
      name: volume.name,
      destination: volume.destination,
      uid: volume.uid,
      gid: volume.gid,
      slice,
      unpackedBytes
    })
    offset += bytes
  }
  return { parts, sha256: whole.digest('hex') }
}

/** Hashes a file into its own SHA-256 and into `also`. */
function hashFile(path: string, also: ReturnType<typeof createHash>) {
  return new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
    const hash = createHash('sha256')
    let bytes = 0
    createReadStream(path)
      .on('data', (chunk) => {
        hash.update(chunk)
        also.update(chunk)
        bytes += chunk.length
      })
      .on('error', reject)
      .on('end', () => resolve({ bytes, sha256: hash.digest('hex') }))
  })
}

/**
 * How many slices a volume's files are archived in, to be unpacked side by side: one tar and one
 * zstd each. Two measured 25-40% faster than one on a 2-core machine (730 MB of PostgreSQL data);
 * more would only help hosts with more cores than GitHub's standard runners.
 */
const FILE_SLICES = Math.min(4, Math.max(2, availableParallelism()))

/** The largest unpacked size accepted for a checkpoint archive's top level. */
const MAX_UNPACKED_BYTES = 32 * 1024 ** 3

/** What the warm-up and `cmd:` probes learn about the service, besides the inherited environment. */
export function serviceEnvironment(spec: ServiceSpec): Record<string, string> {
  const env: Record<string, string> = {
    WARMSTART_CONTAINER: spec.name,
    WARMSTART_IMAGE: spec.image,
    WARMSTART_HOST: '127.0.0.1'
  }
  const ports = hostPorts(spec.ports)
  if (ports[0]) env.WARMSTART_PORT = String(ports[0].host)
  for (const port of ports) env[`WARMSTART_PORT_${port.container}`] = String(port.host)
  return env
}

/** The contents of a script file the warm-up's first word names, so that editing it changes the key. */
export function warmupScriptContents(warmup: string): string | undefined {
  if (!warmup) return undefined
  let words: string[]
  try {
    words = splitWords(warmup)
  } catch {
    return undefined
  }
  const candidates = words.slice(0, 2).filter((word) => /[/.]/.test(word) && existsSync(word))
  const file = candidates.find((word) => statSync(word).isFile())
  return file ? readFileSync(file, 'utf8') : undefined
}

function probeContext(plan: Plan, options: EngineOptions) {
  return { podman: options.podman, container: plan.spec.name, env: plan.serviceEnv }
}

async function containerId(podman: Podman, name: string): Promise<string> {
  return (await podman.inspectContainer(name)).Id
}

/** Names the port and its holder when the start failed because a port was taken. */
async function explainStartFailure(error: unknown, podman: Podman): Promise<string> {
  const text = message(error)
  const port = /listen tcp[46]? [^:]*:(\d+): bind: address already in use/.exec(text)?.[1]
  if (!port) return text
  const holder = (await podman.containersPublishing(Number(port)).catch(() => [])).join(', ')
  return `port ${port} is already in use${holder ? ` by container ${holder}` : ' on this host'}: pick another host port in ports`
}

export function message(error: unknown): string {
  return error instanceof PodmanError || error instanceof Error ? error.message : String(error)
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}
