// The warm loop. `up` restores a service from its checkpoint when the store has one, and else
// starts it cold, warms it up and checkpoints it for next time. `down` removes it.
//
// Failure policy, in one place: anything wrong on the warm path (a miss, a damaged archive, a
// restore or readiness failure) falls back to a cold start with a warning; anything wrong with
// checkpointing or storing is a warning and the service stays up. Only a service that cannot be
// started at all, or a warm-up that fails, fails `up`.
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HostReader, type CriuStatus, type HostFingerprint } from './host.js'
import { archiveProblems, compressArchive, inspectArchive } from './archive.js'
import { composeKey, restoreKeyPrefixes, type CacheKey } from './key.js'
import { buildManifest, manifestDifferences } from './manifest.js'
import type { Logger } from './logger.js'
import { PodmanError, type Podman, type RunOptions } from './podman.js'
import { describeProbe, parseProbe, waitUntilReady, type Probe } from './ready.js'
import { runShell } from './shell.js'
import { hostPorts, splitWords, type ServiceSpec } from './spec.js'
import type { CheckpointStore, StoreHit } from './store/store.js'
import { Timings, type PhaseTimings } from './timings.js'
import { USERNS_RUN_OPTIONS, needsUserNamespace } from './userns.js'

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
        await podman
          .forceRemove(spec.name)
          .catch((e: unknown) =>
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

/** Removes the service's container, whatever state it is in. */
export async function down(name: string, options: { podman: Podman }): Promise<void> {
  await options.podman.forceRemove(name)
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
    await podman.forceRemove(spec.name)
  }
  if (!(await podman.imageExists(spec.image))) {
    await timings
      .time('pull', () => podman.pull(spec.image))
      .catch((error: unknown) => {
        throw new UpError(
          `image ${spec.image} is not here and could not be pulled: ${message(error)}`
        )
      })
  }
  const image = await podman.inspectImage(spec.image)
  const host = options.host ?? new HostReader({ podman })
  const criu = await host.criuStatus()
  const fingerprint: HostFingerprint = await host.fingerprint(criu)
  let userNamespace = needsUserNamespace(
    { canDumpOtherUsers: host.canDumpOtherUsers() },
    image.Config?.User
  )
  let noCheckpointReason: string | undefined
  if (userNamespace && hostPorts(spec.ports).some((port) => port.host !== port.container)) {
    // In a user namespace the service shares the host's network and cannot be remapped.
    noCheckpointReason = `${spec.image} runs as user ${image.Config?.User}, which this host can only checkpoint on the host network, where ports cannot be remapped (${spec.ports.join(', ')}); publish the same port on both sides and make the service listen on it to get checkpoints`
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
      `${spec.image} runs as ${image.Config?.User}: using a user namespace on the host network (see docs/host-setup.md)`
    )
  const key = composeKey({
    spec,
    imageId: image.Digest ?? image.Id,
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
    serviceEnv: serviceEnvironment(spec)
  }
}

/** Restores from a stored archive, checks it first, and waits until the service answers. */
async function restoreWarm(
  plan: Plan,
  hit: StoreHit,
  options: EngineOptions,
  timings: Timings
): Promise<string> {
  const { podman } = options
  const scratch = mkdtempSync(join(options.workDir ?? tmpdir(), 'warmstart-restore-'))
  try {
    const importPath = await timings.time('verify', () =>
      checkArchive(plan, hit, join(scratch, 'checkpoint.tar'))
    )
    const id = await timings.time('restore', () =>
      podman.restore({
        importPath,
        name: plan.spec.name,
        fileLocks: plan.spec.fileLocks,
        tcpEstablished: plan.spec.tcpEstablished
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

/** Starts the container and waits until it is ready; nothing is left behind when that fails. */
async function startCold(plan: Plan, options: EngineOptions, timings: Timings): Promise<string> {
  const { podman, logger } = options
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
    // podman exports a plain tar; zstd compresses it with every core (podman's own zstd is
    // single-threaded, and importing a plain tar is twice as fast as letting podman decompress).
    const plain = join(workDir, `${spec.name}.tar`)
    const checkpointed = await logger.group(`Checkpoint ${spec.name}`, () =>
      checkpointConsistently(plan, options, timings, plain, warn)
    )
    if (!checkpointed.ok) return { id: checkpointed.id, bytes: 0, saved: false }
    let archive = plain
    if (options.compress !== 'none') {
      archive = `${plain}.zst`
      await timings.time('compress', () => compressArchive(plain, archive))
    }
    const bytes = statSync(archive).size
    const sha256 = await timings.time('hash', () => sha256File(archive))
    const metadata = buildManifest({
      key: plan.key,
      sha256,
      bytes,
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
    return { id: checkpointed.id, bytes, saved: outcome.saved }
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}

/**
 * Checkpoints with the service stopped, then restores it in place: the archive's files and memory
 * are from the same instant. (`--leave-running` resumes the service before podman tars its files,
 * so a database writing in the background would leave files newer than its memory.)
 */
async function checkpointConsistently(
  plan: Plan,
  options: EngineOptions,
  timings: Timings,
  archive: string,
  warn: (message: string) => void
): Promise<{ ok: boolean; id: string }> {
  const { podman } = options
  const { spec } = plan
  try {
    await timings.time('checkpoint', () =>
      podman.checkpoint(spec.name, {
        exportPath: archive,
        keep: true,
        fileLocks: spec.fileLocks,
        tcpEstablished: spec.tcpEstablished,
        compress: 'none'
      })
    )
  } catch (error) {
    warn(`checkpoint failed, the service keeps running without one: ${message(error)}`)
    const running = (await podman.inspectContainer(spec.name)).State.Running
    if (running) return { ok: false, id: await containerId(podman, spec.name) }
    // CRIU stopped it after all: start again cold, without another checkpoint attempt.
    await podman.forceRemove(spec.name)
    await startCold(plan, options, timings)
    await warmUp(plan, options, timings)
    return { ok: false, id: await containerId(podman, spec.name) }
  }
  try {
    await timings.time('resume', async () => {
      await podman.restore({
        container: spec.name,
        fileLocks: spec.fileLocks,
        tcpEstablished: spec.tcpEstablished
      })
      await waitUntilReady(plan.probe, probeContext(plan, options), spec.readyTimeoutSeconds)
    })
    return { ok: true, id: await containerId(podman, spec.name) }
  } catch (error) {
    // The archive is fine; only this container could not be resumed. Import it instead.
    warn(
      `resuming ${spec.name} in place failed, importing its checkpoint instead: ${message(error)}`
    )
    await podman.forceRemove(spec.name)
    const id = await timings.time('resume', async () => {
      const restored = await podman.restore({
        importPath: archive,
        name: spec.name,
        fileLocks: spec.fileLocks,
        tcpEstablished: spec.tcpEstablished
      })
      await waitUntilReady(plan.probe, probeContext(plan, options), spec.readyTimeoutSeconds)
      return restored
    })
    return { ok: true, id }
  }
}

/** The largest unpacked size accepted for a checkpoint archive's top level. */
const MAX_UNPACKED_BYTES = 32 * 1024 ** 3

/**
 * Before podman sees a stored checkpoint: its manifest must describe this host and run, the
 * archive must be the one stored (size, SHA-256), and hold only what a checkpoint holds.
 */
async function checkArchive(plan: Plan, hit: StoreHit, decompressTo: string): Promise<string> {
  const differences = manifestDifferences(hit.metadata, plan.key, hit.key)
  if (differences.length) {
    throw new Error(`its manifest does not match this run: ${differences.join('; ')}`)
  }
  const inspection = await inspectArchive(hit.archivePath, { decompressTo })
  if (inspection.bytes !== hit.metadata.bytes) {
    throw new Error(
      `the archive is ${inspection.bytes} bytes, ${hit.metadata.bytes} were stored (truncated?)`
    )
  }
  if (inspection.sha256 !== hit.metadata.sha256) {
    throw new Error(
      `the archive's SHA-256 is ${inspection.sha256}, ${hit.metadata.sha256} was stored (damaged?)`
    )
  }
  const problems = archiveProblems(inspection, MAX_UNPACKED_BYTES)
  if (problems.length) {
    throw new Error(
      `the archive holds what a checkpoint must not: ${problems.slice(0, 5).join('; ')}`
    )
  }
  return inspection.importPath
}

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

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
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
