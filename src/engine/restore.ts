// The warm path: from a stored archive to a restored service. The manifest is checked against this
// host and run first; then the volumes are unpacked straight into place while the checkpoint part
// decompresses beside them (its CRIU images straight into memory where warmstart's runtime
// wrapper can point runc there: src/engine/image-dir.ts), every part's SHA-256 checked (from a
// local archive, on warmstart's own read of the range dd feeds the tar), and podman restores the
// processes onto them.
import { createWriteStream, mkdtempSync, rmSync, statfsSync } from 'node:fs'
import { tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { assertCheckpointPart, inspectArchive } from '../archive/inspect.js'
import { fileSource, type ArchiveSource } from '../archive/source.js'
import {
  decodeParts,
  volumeGroups,
  type ArchivePart,
  type CheckpointPart,
  type VolumePart
} from '../archive/layout.js'
import { manifestDifferences } from '../archive/manifest.js'
import { formatBytes, message } from '../format.js'
import { createImageDir, removeImageDir, unpackImages } from './image-dir.js'
import { restoreTimeoutSeconds } from './limits.js'
import { probeContext, type EngineOptions, type Plan } from './plan.js'
import type { Podman, RestoreStats } from '../podman.js'
import { waitUntilReady } from '../ready.js'
import type { StoreHit } from '../store/store.js'
import type { Timings } from '../timings.js'
import {
  chooseVolumeStorage,
  createVolumeFor,
  makeDirectories,
  refuseDevices,
  unpackVolume
} from '../volumes.js'

/** The restored container, and where the restore's time went by podman's, runc's and CRIU's clocks. */
export interface Restored {
  id: string
  stats?: RestoreStats
}

/** Restores from a stored archive, after checking that its manifest fits this host and run. */
export async function restoreWarm(
  plan: Plan,
  hit: StoreHit,
  imageReady: Promise<void>,
  options: EngineOptions,
  timings: Timings
): Promise<Restored> {
  const differences = manifestDifferences(hit.metadata, plan.key, hit.key)
  if (differences.length) {
    throw new Error(`its manifest does not match this run: ${differences.join('; ')}`)
  }
  const archive = hit.source ?? fileSource(hit.archivePath as string)
  const bytes = archive.bytes
  if (bytes !== hit.metadata.bytes) {
    throw new Error(`the archive is ${bytes} bytes, ${hit.metadata.bytes} were stored (truncated?)`)
  }
  return restoreArchive(
    plan,
    archive,
    decodeParts(hit.metadata.parts, bytes),
    imageReady,
    options,
    timings
  )
}

/**
 * Puts the volumes back and decompresses the checkpoint part, side by side, checking every
 * part's SHA-256 and the checkpoint's tar entries on the way; then has podman restore the
 * processes and waits until the service answers (the image must be here: `imageReady`). What a
 * failure leaves is for the caller to remove. Also how the cold path resumes a service whose
 * in-place restore failed, from the archive it just made.
 */
export async function restoreArchive(
  plan: Plan,
  archive: ArchiveSource,
  parts: ArchivePart[],
  imageReady: Promise<void>,
  options: EngineOptions,
  timings: Timings
): Promise<Restored> {
  const { podman } = options
  const checkpoint = parts[0] as CheckpointPart
  const volumes = volumeGroups(parts)
  const scratch = mkdtempSync(join(scratchParent(checkpoint, options), 'warmstart-restore-'))
  let imageDir: string | undefined
  try {
    const importPath = await timings.time('unpack', async () => {
      const unpackedBytes = volumes.flat().reduce((sum, part) => sum + part.unpackedBytes, 0)
      const storage = chooseVolumeStorage(plan.spec.volumeStorage, unpackedBytes, totalmem())
      if (volumes.length) {
        options.logger.info(
          `unpacking ${volumes.length} volume(s), ${formatBytes(unpackedBytes)}, ${storage === 'memory' ? 'into memory (tmpfs)' : 'onto disk'}`
        )
      }
      // The checkpoint part takes longest to decompress: it starts first, while the volumes are
      // made, side by side.
      const checkpointPath = checkpointForPodman(
        plan,
        archive,
        checkpoint,
        scratch,
        options,
        (dir) => (imageDir = dir)
      )
      checkpointPath.catch(() => undefined) // awaited below; never an unhandled rejection meanwhile
      const created = await Promise.allSettled(
        volumes.map(([first]) =>
          createVolumeFor(podman, first as VolumePart, plan.spec.name, storage)
        )
      )
      const notCreated = created.find((result) => result.status === 'rejected')
      if (notCreated) {
        // Nothing may still be writing into the scratch directory when it is removed.
        await checkpointPath.catch(() => undefined)
        throw notCreated.reason
      }
      const mountpoints = created.map((result) => (result as PromiseFulfilledResult<string>).value)
      const volumesDone = volumes.map((slices, i) =>
        unpackVolumeSlices(podman, archive, slices, mountpoints[i] as string)
      )
      // allSettled: nothing may still be writing into a volume when a failure is cleaned up.
      const settled = await Promise.allSettled([checkpointPath, ...volumesDone])
      const failed = settled.find((result) => result.status === 'rejected')
      if (failed) throw failed.reason
      return (settled[0] as PromiseFulfilledResult<string>).value
    })
    await imageReady.catch((error: unknown) => {
      throw new Error(`the image could not be pulled by digest: ${message(error)}`)
    })
    const restored = await timings.time('restore', async () => {
      if (plan.loadAppArmorProfile) await loadAppArmorProfile(plan, options)
      return podman.restore({
        importPath,
        // podman rejects --tcp-established with --name (podman 4.3: "cannot be used with
        // --name"); the checkpoint was made of a container of this name, which it keeps.
        name: plan.spec.tcpEstablished ? undefined : plan.spec.name,
        fileLocks: plan.spec.fileLocks,
        tcpEstablished: plan.spec.tcpEstablished,
        ignoreVolumes: parts.length > 1,
        printStats: true,
        timeoutSeconds: restoreTimeoutSeconds(
          plan.spec,
          parts.reduce((sum, part) => sum + part.bytes, 0)
        )
      })
    })
    await timings.time('ready', () =>
      waitUntilReady(plan.probe, probeContext(plan, options.podman), plan.spec.readyTimeoutSeconds)
    )
    return restored
  } finally {
    rmSync(scratch, { recursive: true, force: true })
    if (imageDir) await removeImageDir(podman, imageDir).catch(() => undefined)
  }
}

/**
 * Where the checkpoint part goes for podman: with warmstart's runtime wrapper, CRIU's images into
 * a directory of its memory area and a slim archive for podman (src/engine/image-dir.ts); else,
 * or when /dev/shm is short of room or that area cannot be used, the whole tar decompressed for
 * podman's import.
 */
async function checkpointForPodman(
  plan: Plan,
  archive: ArchiveSource,
  checkpoint: CheckpointPart,
  scratch: string,
  options: EngineOptions,
  made: (dir: string) => void
): Promise<string> {
  // In memory only where /dev/shm has room to spare (scratchParent chose it for the scratch).
  if (plan.restoreImages === 'memory' && scratch.startsWith(`${SHM}/`)) {
    let dir: string | undefined
    try {
      dir = await createImageDir(options.podman)
    } catch (error) {
      options.logger.info(
        `CRIU's images go through podman's import (${message(error)}): the slower way`
      )
    }
    if (dir) {
      made(dir)
      return (await unpackImages(options.podman, archive, checkpoint, dir)).slimArchive
    }
  }
  return checkCheckpointPart(archive, checkpoint, join(scratch, 'checkpoint.tar'))
}

/**
 * Initialises a throwaway container of the image, which makes podman load its AppArmor profile
 * for containers (see src/host/apparmor.ts), then removes it. A failure is only logged: the
 * restore is tried anyway, and falls back cold if it fails.
 */
async function loadAppArmorProfile(plan: Plan, options: EngineOptions): Promise<void> {
  const { podman, logger } = options
  const throwaway = `${plan.spec.name}-warmstart-apparmor`
  logger.info("loading podman's AppArmor profile for containers before the restore")
  try {
    await podman.forceRemove(throwaway)
    await podman.podman(['create', '--name', throwaway, plan.spec.image])
    await podman.podman(['init', throwaway])
  } catch (error) {
    logger.info(`could not load it (${message(error)}); restoring anyway`)
  } finally {
    await podman.forceRemove(throwaway).catch(() => undefined)
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
  archive: ArchiveSource,
  part: CheckpointPart,
  decompressTo: string
): Promise<string> {
  const inspection = await inspectArchive(archive, { decompressTo, range: part })
  assertCheckpointPart(inspection, part)
  if (inspection.importPath === decompressTo) return decompressTo
  // A plain part: podman imports a file, so a part inside a larger file (or not in a file at
  // all) is copied out, and checked again on the way, since it was read anew.
  if (archive.path && part.offset === 0 && part.bytes === archive.bytes) return archive.path
  const copy = createWriteStream(decompressTo, { mode: 0o600 })
  const copied = await inspectArchive(archive, { range: part, plainSink: copy })
  await finished(copy)
  assertCheckpointPart(copied, part)
  return decompressTo
}

/**
 * A volume's file slices side by side (tar makes the directories they need), then its slice of
 * directories and links, which sets the directories' owners and modes and makes the links last:
 * no link exists while the file slices write (see splitListing). Each part is checked.
 */
async function unpackVolumeSlices(
  podman: Podman,
  archive: ArchiveSource,
  slices: VolumePart[],
  mountpoint: string
): Promise<void> {
  const [tree, ...files] = slices as [VolumePart, ...VolumePart[]]
  // Every directory first, from the tree slice's listing (checked against its SHA-256): tars
  // running side by side race to make shared parents (see makeDirectories).
  const listing = await inspectArchive(archive, { range: tree })
  if (listing.sha256 !== tree.sha256) {
    throw new Error(
      `the part of volume ${tree.name} has SHA-256 ${listing.sha256}, ${tree.sha256} was stored (damaged?)`
    )
  }
  if (listing.unreadable) throw new Error(`volume ${tree.name}: ${listing.unreadable}`)
  await makeDirectories(
    podman,
    mountpoint,
    listing.entries.filter((entry) => entry.type === '5').map((entry) => entry.path)
  )
  const settled = await Promise.allSettled(
    files.map((part) => unpackChecked(podman, archive, part, mountpoint))
  )
  const failed = settled.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
  await unpackChecked(podman, archive, tree, mountpoint)
  await refuseDevices(podman, tree.name, mountpoint)
}

async function unpackChecked(
  podman: Podman,
  archive: ArchiveSource,
  part: VolumePart,
  mountpoint: string
): Promise<void> {
  const sha256 = await unpackVolume(podman, archive, part, mountpoint)
  if (sha256 !== part.sha256) {
    throw new Error(
      `the part of volume ${part.name} has SHA-256 ${sha256}, ${part.sha256} was stored (damaged?)`
    )
  }
}
