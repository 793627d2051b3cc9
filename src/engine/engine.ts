// The warm loop. `up` restores a service from its checkpoint when the store has one, and else
// starts it cold, warms it up and checkpoints it for next time. `down` removes it.
//
// `up` reads (facts.ts), decides (decide.ts), then acts: the phases (restore.ts, service.ts,
// checkpoint.ts) each report what happened, and what follows is decided here alone.
//
// Failure policy, in one place (this file): anything wrong on the warm path (a failed lookup, a
// damaged archive, a restore, refresh or readiness failure) falls back to a cold start with a
// warning; anything wrong with checkpointing or storing is a warning and the service stays up
// (started cold again, with a warning, when the checkpoint left it stopped and its archive could
// not bring it back). Only a service that cannot be started at all, or a warm-up that fails,
// fails `up`.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildManifest } from '../archive/manifest.js'
import { formatBytes, message } from '../format.js'
import { nonRootUsers } from '../host/userns.js'
import { fetchImage, readImage } from '../image.js'
import { restoreKeyPrefixes } from '../key.js'
import type { Podman, RestoreStats } from '../podman.js'
import type { ServiceSpec } from '../spec.js'
import type { StoreHit } from '../store/store.js'
import { Timings, type PhaseTimings } from '../timings.js'
import { makeCheckpoint } from './checkpoint.js'
import { decidePlan, otherUsersFix, UnknownImageError } from './decide.js'
import { gatherFacts, type Facts, type FactSources } from './facts.js'
import { UpError, type EngineOptions, type Plan } from './plan.js'
import { restoreArchive, restoreWarm } from './restore.js'
import { fileSource } from '../archive/source.js'
import {
  containerId,
  ensureImage,
  refresh,
  removeService,
  restartCold,
  startCold,
  warmUp
} from './service.js'

// The engine's API, in one place for its callers (the CLI, the Action, the benchmark).
export { formatBytes, message } from '../format.js'
export { UpError, type EngineOptions } from './plan.js'
export { serviceEnvironment } from './decide.js'

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
  /** Whether a fresh checkpoint was stored, or staged for the store's later upload. */
  saved: boolean
  timings: PhaseTimings
  /**
   * Where a warm restore's `restore` phase went, by podman's, runc's and CRIU's own clocks
   * (each includes the next): what podman spends around the runtime, and the runtime around CRIU.
   */
  restoreStats?: RestoreStats
  /** Why no checkpoint was made when one was wanted (CRIU's reason, or why none could be). */
  checkpointFailure?: string
  /** What went wrong on the way, each with its reason; the service is up regardless. */
  warnings: string[]
}

/**
 * The plan `up` would follow for this spec here, without acting: what `warmstart key` prints.
 * Throws UpError when the image is neither here nor known to its registry.
 */
export async function planFor(spec: ServiceSpec, sources: FactSources): Promise<Plan> {
  const facts = await gatherFacts(spec, sources)
  try {
    return decidePlan(spec, facts)
  } catch (error) {
    if (error instanceof UnknownImageError) throw new UpError(`image ${error.message}`)
    throw error
  }
}

export async function up(spec: ServiceSpec, options: EngineOptions): Promise<UpResult> {
  const timings = new Timings()
  const warnings: string[] = []
  const { podman, store, logger } = options
  const warn = (message: string): void => {
    warnings.push(message)
    logger.warning(message)
  }

  const { plan, imageReady } = await logger.group(`Prepare ${spec.name}`, async () => {
    // Side by side: reading the host and the image does not depend on the name being free.
    const [cleared, read] = await Promise.allSettled([
      clearName(spec, options),
      readFacts(spec, options, timings)
    ])
    if (cleared.status === 'rejected') throw cleared.reason
    if (read.status === 'rejected') throw read.reason
    const facts = read.value
    const decided = decidePlan(spec, facts)
    const plan = options.restoreImages
      ? { ...decided, restoreImages: options.restoreImages }
      : decided
    // Before any start or restore: runc hands CRIU this file for the container (see
    // src/host/criu-config.ts). Without it CRIU runs with its defaults: said, not fatal.
    await podman
      .writeRootFile(plan.criuConfig.path, plan.criuConfig.content)
      .catch((error: unknown) =>
        warn(
          `could not write ${plan.criuConfig.path} (CRIU's options for ${spec.name}): ${message(error)}`
        )
      )
    if (facts.image.where === 'registry')
      logger.info(`pulling ${facts.image.pullReference} while the checkpoint is looked up`)
    if (plan.userNamespace)
      logger.info(
        `${spec.image} runs as ${facts.image.where !== 'unknown' ? facts.image.user : '?'}: using a user namespace on the host network (see docs/host-setup.md)`
      )
    return { plan, imageReady: fetchImage(podman, spec.image, facts.image, timings) }
  })
  logger.info(`cache key: ${plan.key.key}`)
  for (const [name, value] of Object.entries(plan.key.components)) {
    logger.debug(`key ${name}: ${value}`)
  }
  const result = (outcome: {
    cacheHit: boolean
    restored: boolean
    id: string
    startupSeconds: number
    bytes: number
    saved: boolean
    checkpointFailure?: string
    restoreStats?: RestoreStats
  }): UpResult => ({
    cacheHit: outcome.cacheHit,
    restored: outcome.restored,
    containerId: outcome.id,
    containerName: spec.name,
    cacheKey: plan.key.key,
    startupSeconds: outcome.startupSeconds,
    checkpointBytes: outcome.bytes,
    saved: outcome.saved,
    ...(outcome.checkpointFailure ? { checkpointFailure: outcome.checkpointFailure } : {}),
    ...(outcome.restoreStats ? { restoreStats: outcome.restoreStats } : {}),
    timings: timings.phases(),
    warnings
  })

  // The warm path.
  let cacheHit = false
  const hit = plan.restore.ok ? await lookup(plan, options, timings, warn) : undefined
  if (!plan.restore.ok) warn(`${plan.restore.reason}: starting cold without a checkpoint`)
  if (hit) {
    cacheHit = hit.key === plan.key.key
    logger.info(`found checkpoint ${hit.key} (${formatBytes(hit.bytes)}) in ${store.description}`)
    const restored = await logger
      .group(`Restore ${spec.name}`, async () => {
        const done = await restoreWarm(plan, hit, imageReady, options, timings)
        // A restore key matched: bring the older checkpoint up to date before it is saved anew.
        if (!cacheHit) await refresh(plan, options, timings)
        return done
      })
      .then(
        (done) => ({ ok: true as const, ...done }),
        (error: unknown) => ({ ok: false as const, reason: message(error) })
      )
    if (restored.ok && cacheHit) {
      const startupSeconds = timings.sinceStart()
      return result({
        cacheHit,
        restored: true,
        id: restored.id,
        startupSeconds,
        bytes: hit.bytes,
        saved: false,
        restoreStats: restored.stats
      })
    }
    if (restored.ok) {
      const startupSeconds = timings.sinceStart()
      const stored = await checkpointAndStore(plan, imageReady, options, timings, warn)
      return result({
        cacheHit,
        restored: true,
        startupSeconds,
        restoreStats: restored.stats,
        ...stored
      })
    }
    warn(`restore from ${hit.key} failed, starting cold instead: ${restored.reason}`)
    await removeService(podman, spec.name).catch((e: unknown) =>
      warn(`could not remove what the failed restore left: ${message(e)}`)
    )
    if (cacheHit) await store.discard(hit.key).catch(() => undefined)
  }

  // The cold path.
  await logger.group(`Start ${spec.name}`, async () => {
    const pulledByName = await ensureImage(plan, imageReady, options, timings)
    if (pulledByName) warn(pulledByName)
    await startCold(plan, options, timings)
  })
  await warmUp(plan, options, timings)
  const startupSeconds = timings.sinceStart()
  const stored = await checkpointAndStore(plan, Promise.resolve(), options, timings, warn)
  return result({ cacheHit, restored: false, startupSeconds, ...stored })
}

/**
 * Why a checkpoint cannot work, when the service (root in its image) dropped to another user this
 * host cannot dump (src/host/userns.ts): the checkpoint is skipped rather than tried and failed.
 * Undefined when every process runs as root, or when the users cannot be read (then it is tried).
 */
async function usersThisHostCannotDump(plan: Plan, podman: Podman): Promise<string | undefined> {
  const users = await podman.processUsers(plan.spec.name).catch(() => [])
  const others = nonRootUsers(users)
  if (!others.length) return undefined
  return `${plan.spec.image} starts as root and its processes run as ${others.join(', ')}: ${otherUsersFix(plan.spec)}`
}

/** Removes the service's container, whatever state it is in, and the volumes warmstart made for it. */
export async function down(name: string, options: { podman: Podman }): Promise<void> {
  await removeService(options.podman, name)
}

/** A container already holding the name is an error, unless `replace` asks to remove it. */
async function clearName(spec: ServiceSpec, options: EngineOptions): Promise<void> {
  if (!(await options.podman.containerExists(spec.name))) return
  if (!options.replace) {
    throw new UpError(
      `a container named ${spec.name} already exists: remove it (warmstart down ${spec.name}), pick another name, or pass --replace`
    )
  }
  options.logger.info(`replacing the existing container ${spec.name}`)
  await removeService(options.podman, spec.name)
}

/**
 * The facts `up` decides on. An image neither here nor known to its registry (no skopeo, a
 * registry that cannot be asked without pulling) is pulled by name first, as podman would.
 */
async function readFacts(
  spec: ServiceSpec,
  options: EngineOptions,
  timings: Timings
): Promise<Facts> {
  const facts = await gatherFacts(spec, options)
  if (facts.image.where !== 'unknown') return facts
  await timings
    .time('pull', () => options.podman.pull(spec.image))
    .catch((error: unknown) => {
      throw new UpError(
        `image ${spec.image} is not here and could not be pulled: ${message(error)}`
      )
    })
  const image = await readImage(options.podman, spec.image)
  if (image.where !== 'here')
    throw new UpError(`image ${spec.image} was pulled but cannot be inspected`)
  return { ...facts, image }
}

/** The store's entry for the plan's key or restore keys; a failed lookup is a warning and a miss. */
async function lookup(
  plan: Plan,
  options: EngineOptions,
  timings: Timings,
  warn: (message: string) => void
): Promise<StoreHit | undefined> {
  const { store, logger } = options
  const restoreKeys = restoreKeyPrefixes(plan.key.prefix, plan.spec.restoreKeys)
  const hit = await timings
    .time('lookup', () => store.lookup(plan.key.key, restoreKeys))
    .catch((error: unknown) => {
      warn(`checkpoint lookup in ${store.description} failed: ${message(error)}; starting cold`)
      return undefined
    })
  if (!hit) logger.info(`no checkpoint for this key in ${store.description}: starting cold`)
  return hit
}

/**
 * Checkpoints the running, warmed-up service and stores the archive. Never fails `up`: each
 * failure is a warning, and the service is up afterwards whatever the checkpoint did to it.
 */
async function checkpointAndStore(
  plan: Plan,
  imageReady: Promise<void>,
  options: EngineOptions,
  timings: Timings,
  warn: (message: string) => void
): Promise<{ id: string; bytes: number; saved: boolean; checkpointFailure?: string }> {
  const { podman, logger, store } = options
  const { spec } = plan
  const notSaved = async (checkpointFailure?: string) => ({
    id: await containerId(podman, spec.name),
    bytes: 0,
    saved: false,
    checkpointFailure
  })
  if (options.checkpoint === false) {
    logger.info('no checkpoint is made: this run does not save one')
    return notSaved()
  }
  if (!plan.checkpoint.ok) {
    // A CRIU problem was said when the warm path was skipped; say any other one here.
    if (plan.restore.ok) warn(`no checkpoint: ${plan.checkpoint.reason}`)
    return notSaved(plan.checkpoint.reason)
  }
  if (plan.checkUidsBeforeCheckpoint) {
    const doomed = await usersThisHostCannotDump(plan, podman)
    if (doomed) {
      warn(`no checkpoint: ${doomed}`)
      return notSaved(doomed)
    }
  }
  const workDir = mkdtempSync(join(options.workDir ?? tmpdir(), 'warmstart-'))
  try {
    const made = await logger.group(`Checkpoint ${spec.name}`, () =>
      makeCheckpoint(plan, options, timings, workDir)
    )
    if (!made.made) {
      warn(`no checkpoint: ${made.reason}`)
      if (made.service === 'stopped') {
        warn(`the checkpoint left ${spec.name} stopped: starting it again cold, warm-up included`)
        await restartCold(plan, options, timings)
      }
      return notSaved(made.reason)
    }
    if (made.service === 'stopped') {
      // The archive may be fine; only the container could not be resumed in place. Import it.
      warn(
        `resuming ${spec.name} in place failed, importing its checkpoint instead: ${made.resumeFailure}`
      )
      await removeService(podman, spec.name)
      try {
        // Timed by its own phases (unpack, restore, ready): a phase around them would count twice.
        await restoreArchive(
          plan,
          fileSource(made.archive),
          made.parts,
          imageReady,
          options,
          timings
        )
      } catch (error) {
        warn(
          `importing the checkpoint failed too, starting ${spec.name} again cold: ${message(error)}`
        )
        await removeService(podman, spec.name)
        await restartCold(plan, options, timings)
        return notSaved(`the service could not be resumed from its checkpoint: ${message(error)}`)
      }
    }
    const metadata = buildManifest({
      key: plan.key,
      sha256: made.sha256,
      bytes: made.bytes,
      parts: made.parts,
      image: spec.image,
      createdAt: new Date()
    })
    const outcome = await timings
      .time('store', () => store.save(plan.key.key, made.archive, metadata))
      .catch((error: unknown) => {
        warn(
          `the checkpoint could not be stored in ${store.description}: ${message(error)}; the service is up`
        )
        return { saved: false, staged: false, bytes: made.bytes, reason: undefined }
      })
    const handed = outcome.saved || outcome.staged === true
    if (outcome.saved) logger.info(`stored ${formatBytes(made.bytes)} under ${plan.key.key}`)
    else if (handed)
      logger.info(`${formatBytes(made.bytes)} staged for upload under ${plan.key.key}`)
    else if (outcome.reason) logger.info(`not stored: ${outcome.reason}`)
    return { id: await containerId(podman, spec.name), bytes: made.bytes, saved: handed }
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}
