// What `up` decided before anything starts (the Plan, made by decide.ts), the options it runs
// with, and the error that fails it. Shared by the engine's parts: engine.ts (up, down),
// service.ts (starting and warming the service), restore.ts (the warm path), checkpoint.ts (the
// cold path's checkpoint).
import type { HostReader } from '../host/host.js'
import type { CriuConfigFile } from '../host/criu-config.js'
import type { CacheKey } from '../key.js'
import type { Logger } from '../logger.js'
import type { Podman, RunOptions } from '../podman.js'
import type { Probe } from '../ready.js'
import type { ServiceSpec } from '../spec.js'
import type { CheckpointStore } from '../store/store.js'

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
  /** How the archive's parts are stored: zstd (default), or none (plain tars). */
  compress?: 'zstd' | 'none'
  /** Reads the host; tests substitute one that plays a host without CRIU. */
  host?: HostReader
  /**
   * 'podman' makes a restore import the whole checkpoint even where the runtime wrapper could
   * take the CRIU images from memory: the benchmark measures both ways side by side.
   */
  restoreImages?: 'podman'
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

/** Whether a step can be tried here, and why not when it cannot. */
export type Possible = { ok: true } | { ok: false; reason: string }

/** Everything about one `up`, decided before anything starts (see decide.ts). */
export interface Plan {
  spec: ServiceSpec
  run: RunOptions
  /** Whether the service runs in a user namespace (see src/host/userns.ts). */
  userNamespace: boolean
  probe: Probe
  key: CacheKey
  /** Whether a checkpoint can be restored here (CRIU works). */
  restore: Possible
  /**
   * Read the uids the service's processes run as before checkpointing it: its image says root,
   * but it may have dropped to another user, which this host cannot dump (src/host/userns.ts).
   */
  checkUidsBeforeCheckpoint: boolean
  /** Load podman's AppArmor profile before a restore: AppArmor is on and it is not loaded yet. */
  loadAppArmorProfile: boolean
  /**
   * Where a restore's CRIU images go: 'memory' (unpacked into warmstart's tmpfs area, podman
   * given a slim archive, the runtime wrapper pointing runc there: src/engine/image-dir.ts) or
   * 'podman' (podman imports the whole checkpoint onto its storage on the disk).
   */
  restoreImages: 'memory' | 'podman'
  /** Whether a checkpoint can be made here (CRIU works, and the service's ports allow it). */
  checkpoint: Possible
  serviceEnv: Record<string, string>
  /** CRIU's options for this container, in a file its annotation names (src/host/criu-config.ts). */
  criuConfig: CriuConfigFile
}

/** What readiness probes of the plan's service need. */
export function probeContext(plan: Plan, podman: Podman) {
  return { podman, container: plan.spec.name, env: plan.serviceEnv }
}
