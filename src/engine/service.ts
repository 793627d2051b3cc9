// The service's container on the host: start it cold and wait until it is ready, run the warm-up
// or the refresh, remove it with the volumes warmstart made for it.
import type { Logger } from '../logger.js'
import { message } from '../format.js'
import { probeContext, UpError, type EngineOptions, type Plan } from './plan.js'
import type { Podman } from '../podman.js'
import { describeProbe, waitUntilReady } from '../ready.js'
import { runShell } from '../process.js'
import type { Timings } from '../timings.js'
import { removeVolumesOf } from '../volumes.js'

export async function removeService(podman: Podman, name: string): Promise<void> {
  await podman.forceRemove(name)
  await removeVolumesOf(podman, name)
}

/**
 * Waits for the image a cold start needs: the pull by digest when one is under way, else (the
 * digest the key names may be gone from the registry while the name still resolves) a pull by
 * name. Returns the warning to give when the pull by digest failed.
 */
export async function ensureImage(
  plan: Plan,
  imageReady: Promise<void>,
  options: EngineOptions,
  timings: Timings
): Promise<string | undefined> {
  const { podman } = options
  const failed = await imageReady.then(
    () => undefined,
    (error: unknown) => message(error)
  )
  if (failed === undefined) return undefined
  await timings
    .time('pull', () => podman.pull(plan.spec.image))
    .catch((e: unknown) => {
      throw new UpError(`image ${plan.spec.image} could not be pulled: ${message(e)}`)
    })
  return `pulling ${plan.spec.image} by digest failed (${failed}); pulling it by name`
}

/**
 * Starts the container and waits until it is ready; nothing is left behind when that fails.
 * The image must be here (ensureImage).
 */
export async function startCold(
  plan: Plan,
  options: EngineOptions,
  timings: Timings
): Promise<string> {
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
      waitUntilReady(plan.probe, probeContext(plan, options.podman), plan.spec.readyTimeoutSeconds)
    )
  } catch (error) {
    await podman.forceRemove(plan.spec.name).catch(() => undefined)
    throw new UpError(message(error))
  }
  return id
}

/** Runs the warm-up; when it fails, the service is removed and `up` fails with its exit code. */
export async function warmUp(plan: Plan, options: EngineOptions, timings: Timings): Promise<void> {
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
export async function refresh(plan: Plan, options: EngineOptions, timings: Timings): Promise<void> {
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

/** Starts the service again from scratch, warm-up included: when its checkpoint left it stopped. */
export async function restartCold(
  plan: Plan,
  options: EngineOptions,
  timings: Timings
): Promise<void> {
  await removeService(options.podman, plan.spec.name)
  await startCold(plan, options, timings)
  await warmUp(plan, options, timings)
}

export async function containerId(podman: Podman, name: string): Promise<string> {
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
