// How long one checkpoint or restore may take before warmstart stops it. CRIU has hung on
// GitHub's runners (criu issue 2709, a restore on ubuntu-24.04-arm); without a limit a hang holds
// the job until its 6-hour timeout. Pure: the spec's setting, else a bound from the size.
import type { ServiceSpec } from '../spec.js'

/** A checkpoint writes the service's memory once; 10 minutes is far beyond any seen here. */
export const AUTO_CHECKPOINT_SECONDS = 600

/**
 * A restore reads the archive once. Measured here: 5-10 s per GB of memory restored, and a zstd
 * archive holds about 6 GB per GB stored; 60 s per GiB stored leaves room for a slow disk, and
 * the 120 s base for podman, the runtime and a small service.
 */
export const AUTO_RESTORE_BASE_SECONDS = 120
export const AUTO_RESTORE_SECONDS_PER_GIB = 60

export function checkpointTimeoutSeconds(spec: ServiceSpec): number {
  return spec.criuTimeoutSeconds ?? AUTO_CHECKPOINT_SECONDS
}

export function restoreTimeoutSeconds(spec: ServiceSpec, archiveBytes: number): number {
  if (spec.criuTimeoutSeconds !== undefined) return spec.criuTimeoutSeconds
  return Math.round(
    AUTO_RESTORE_BASE_SECONDS + (AUTO_RESTORE_SECONDS_PER_GIB * archiveBytes) / 1024 ** 3
  )
}
