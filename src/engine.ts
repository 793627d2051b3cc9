// The warm loop. `up` restores a service from its checkpoint when the store has one, and else
// starts it cold, warms it up and checkpoints it for next time. `down` removes it.
//
// Failure policy, in one place: anything wrong on the warm path (a miss, a damaged archive, a
// restore or readiness failure) falls back to a cold start with a warning; anything wrong with
// checkpointing or storing is a warning and the service stays up. Only a service that cannot be
// started at all, or a warm-up that fails, fails `up`.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { checkpointAndStore } from './checkpoint.js'
import { HostReader, type HostFingerprint } from './host.js'
import { locateImage } from './image.js'
import { composeKey, restoreKeyPrefixes } from './key.js'
import { formatBytes, message, UpError, type EngineOptions, type Plan } from './plan.js'
import type { Podman, RunOptions } from './podman.js'
import { parseProbe } from './ready.js'
import { restoreWarm } from './restore.js'
import {
  ensureImage,
  refresh,
  removeService,
  serviceEnvironment,
  startCold,
  warmUp
} from './service.js'
import { hostPorts, splitWords, type ServiceSpec } from './spec.js'
import { Timings, type PhaseTimings } from './timings.js'
import { USERNS_RUN_OPTIONS, needsUserNamespace } from './userns.js'

// The engine's API, in one place for its callers (the CLI, the Action, the benchmark).
export { formatBytes, message, UpError, type EngineOptions } from './plan.js'
export { serviceEnvironment } from './service.js'

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

  await logger.group(`Start ${spec.name}`, async () => {
    await ensureImage(plan, options, timings, warn)
    await startCold(plan, options, timings)
  })
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
