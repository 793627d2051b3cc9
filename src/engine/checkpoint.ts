// The cold path's last step: checkpoint the warmed-up service with it stopped, archive its volumes
// in slices, resume it, and lay the parts end to end in one archive. It reports what it made and
// the state it left the service in; what follows (store it, resume from the archive, start cold
// again) is the engine's decision (src/engine/engine.ts).
import { statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { compressArchive } from '../archive/inspect.js'
import type { ArchivePart } from '../archive/layout.js'
import { waitUntilReady } from '../ready.js'
import type { Timings } from '../timings.js'
import {
  archiveVolume,
  containerVolumes,
  type ContainerVolume,
  type VolumeSlice
} from '../volumes.js'
import { assembleArchive } from '../archive/assemble.js'
import { message } from '../format.js'
import { PodmanTimeoutError } from '../podman.js'
import { checkpointTimeoutSeconds } from './limits.js'
import { probeContext, type EngineOptions, type Plan } from './plan.js'

/** Where the service stands after a checkpoint attempt. */
export type ServiceState = 'running' | 'stopped'

export type CheckpointResult =
  | {
      made: true
      /** The archive, in the work directory: parts end to end. */
      archive: string
      parts: ArchivePart[]
      sha256: string
      bytes: number
      service: ServiceState
      /** Why the service could not be resumed in place, when it is stopped. */
      resumeFailure?: string
    }
  | { made: false; reason: string; service: ServiceState }

/**
 * Checkpoints the running service into `workDir` and resumes it in place. Never throws for a
 * failure of its own: the result says what was made and whether the service runs.
 */
export async function makeCheckpoint(
  plan: Plan,
  options: EngineOptions,
  timings: Timings,
  workDir: string
): Promise<CheckpointResult> {
  const compress = options.compress !== 'none'
  const made = await checkpointConsistently(plan, options, timings, workDir, compress)
  if (!made.made) return made
  // podman exports a plain tar; zstd compresses it with every core (podman's own zstd is
  // single-threaded, and importing a plain tar is twice as fast as letting podman decompress).
  try {
    let checkpointFile = made.checkpoint
    if (compress) {
      checkpointFile = `${made.checkpoint}.zst`
      await timings.time('compress', () => compressArchive(made.checkpoint, checkpointFile))
    }
    const archive = join(workDir, `${plan.spec.name}.checkpoint`)
    const { parts, sha256 } = await timings.time('assemble', () =>
      assembleArchive(archive, checkpointFile, made.volumes)
    )
    return {
      made: true,
      archive,
      parts,
      sha256,
      bytes: statSync(archive).size,
      service: made.resumeFailure ? 'stopped' : 'running',
      resumeFailure: made.resumeFailure
    }
  } catch (error) {
    return {
      made: false,
      reason: `the archive could not be assembled: ${message(error)}`,
      service: made.resumeFailure ? 'stopped' : 'running'
    }
  }
}

/** What a checkpoint left in the work directory: the podman export and the volumes' slices. */
type Checkpointed =
  | { made: false; reason: string; service: ServiceState }
  | {
      made: true
      /** podman's export, without the volumes' contents. */
      checkpoint: string
      volumes: Array<{ volume: ContainerVolume; slices: VolumeSlice[] }>
      /** Why the service could not be resumed in place; undefined when it runs again. */
      resumeFailure?: string
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
  compress: boolean
): Promise<Checkpointed> {
  const { podman } = options
  const { spec } = plan
  let volumes: ContainerVolume[]
  try {
    volumes = await containerVolumes(podman, spec.name)
  } catch (error) {
    return {
      made: false,
      reason: `the volumes of ${spec.name} cannot be read: ${message(error)}`,
      service: 'running'
    }
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
        ignoreVolumes: true,
        timeoutSeconds: checkpointTimeoutSeconds(spec)
      })
    )
  } catch (error) {
    // A CRIU stopped at its limit may leave the service frozen while podman says it runs:
    // count it as stopped, so that it is started again.
    const running =
      !(error instanceof PodmanTimeoutError) &&
      (await podman
        .inspectContainer(spec.name)
        .then((info) => info.State.Running)
        .catch(() => false))
    return {
      made: false,
      reason: `checkpoint failed: ${message(error)}`,
      service: running ? 'running' : 'stopped'
    }
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
  const resumeFailure = await resumeInPlace(plan, options, timings)
  if (volumeError) {
    return {
      made: false,
      reason: `the volumes of ${spec.name} could not be archived: ${message(volumeError)}`,
      service: resumeFailure ? 'stopped' : 'running'
    }
  }
  return { made: true, checkpoint, volumes: archived, resumeFailure }
}

/** Restores the just checkpointed service in place; returns why not when it failed. */
async function resumeInPlace(
  plan: Plan,
  options: EngineOptions,
  timings: Timings
): Promise<string | undefined> {
  const { podman } = options
  const { spec } = plan
  try {
    await timings.time('resume', async () => {
      await podman.restore({
        container: spec.name,
        fileLocks: spec.fileLocks,
        tcpEstablished: spec.tcpEstablished,
        timeoutSeconds: checkpointTimeoutSeconds(spec)
      })
      await waitUntilReady(plan.probe, probeContext(plan, podman), spec.readyTimeoutSeconds)
    })
    return undefined
  } catch (error) {
    return message(error)
  }
}

/**
 * How many slices a volume's files are archived in, to be unpacked side by side: one tar and one
 * zstd each. Two measured 15-40% faster than one on a 2-core machine (730 MB of PostgreSQL data);
 * more would only help hosts with more cores than GitHub's standard runners.
 */
const FILE_SLICES = Math.min(4, Math.max(2, availableParallelism()))
