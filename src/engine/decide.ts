// Decide: from what was read (facts.ts), how the service runs, what `up` may try, and the key.
// Pure: no podman, no files, no clock. `up`, `warmstart key`, the Action and the benchmark all
// come through here, so the key a user asks for is the key `up` uses.
import { mustLoadPodmanProfile } from '../host/apparmor.js'
import { CRIU_CONFIG_ANNOTATION, criuConfigFile } from '../host/criu-config.js'
import { composeKey } from '../key.js'
import type { RunOptions } from '../podman.js'
import { parseProbe } from '../ready.js'
import { hostPorts, type ServiceSpec } from '../spec.js'
import { USERNS_RUN_OPTIONS, decideUserNamespace } from '../host/userns.js'
import type { Facts } from './facts.js'
import type { Plan } from './plan.js'

export class UnknownImageError extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'UnknownImageError'
  }
}

/** The plan for one `up`; throws UnknownImageError when the image's identity is not known. */
export function decidePlan(spec: ServiceSpec, facts: Facts): Plan {
  if (facts.image.where === 'unknown') throw new UnknownImageError(facts.image.reason)
  const imageUser = facts.image.user
  const criuProblem = facts.criu.ok ? undefined : (facts.criu.reason ?? 'CRIU does not work here')
  const variant = decideUserNamespace(
    { canDumpOtherUsers: facts.canDumpOtherUsers },
    imageUser,
    hostPorts(spec.ports)
  )
  const userNamespace = variant === 'userns'
  // In a user namespace the service shares the host's network and cannot be remapped: a service
  // that needs one runs as asked, without a checkpoint that could never be made.
  const portProblem =
    variant === 'no-checkpoint'
      ? `${spec.image} runs as user ${imageUser}, which ${otherUsersFix(spec)}`
      : undefined
  const checkpointProblem = criuProblem ?? portProblem
  const criuConfig = criuConfigFile(spec, facts.runcCriuConfig)
  const annotation = `--annotation=${CRIU_CONFIG_ANNOTATION}=${criuConfig.path}`
  const run: RunOptions = {
    image: spec.image,
    name: spec.name,
    ports: userNamespace ? [] : spec.ports,
    env: spec.env,
    options: [annotation, ...(userNamespace ? USERNS_RUN_OPTIONS : []), ...spec.options],
    command: spec.command
  }
  return {
    spec,
    run,
    userNamespace,
    probe: parseProbe(spec.ready, spec.ports),
    key: composeKey({
      spec,
      imageId: facts.image.identity,
      warmupScript: facts.warmupScript,
      host: facts.host,
      userNamespace,
      criuConfigDigest: criuConfig.digest
    }),
    restore: criuProblem ? { ok: false, reason: criuProblem } : { ok: true },
    checkUidsBeforeCheckpoint: variant === 'plain-check-uids',
    loadAppArmorProfile: mustLoadPodmanProfile(facts.appArmor),
    restoreImages: restoreImagesWhere(facts.runtimeWrapper),
    checkpoint: checkpointProblem ? { ok: false, reason: checkpointProblem } : { ok: true },
    serviceEnv: serviceEnvironment(spec),
    criuConfig
  }
}

/**
 * Why a service running as another user than root cannot be checkpointed on this host, and the
 * fix: the one sentence the plan and the check before a checkpoint share.
 */
export function otherUsersFix(spec: ServiceSpec): string {
  const ports = spec.ports.length ? ` (${spec.ports.join(', ')})` : ''
  return `this host can only checkpoint on the host network, where ports cannot be remapped${ports}; publish the same port on both sides (e.g. 5432:5432) and make the service listen on it to get checkpoints (docs/host-setup.md)`
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

/**
 * The oldest runtime wrapper (scripts/lib/runtime-wrapper.sh) that points runc at CRIU images
 * unpacked in memory. An older wrapper, or plain runc, gets podman's whole import, as always.
 */
export const WRAPPER_WITH_IMAGE_REDIRECT = 2

export function restoreImagesWhere(runtimeWrapper: number): Plan['restoreImages'] {
  return runtimeWrapper >= WRAPPER_WITH_IMAGE_REDIRECT ? 'memory' : 'podman'
}
