// The peers, each on real Podman and CRIU through warmstart's own engine, so that every peer
// pays the same `up` overhead (reading the host and image, the readiness probe):
//   cold     `up` without a checkpoint: start, ready, warm-up (what a workflow does today)
//   datadir  unpack a tar.zst of the warmed-up data directory, `up` with it bind-mounted; onto
//            the storage warm's volumes get (a tmpfs when warm's are in memory), so neither
//            wins on storage
//   warm     `up` restored from a store primed once by a checkpointing cold run
//   floor    read and decompress warmstart's stored archive to nowhere
// Each service peer ends with the scenario's first query and first workload, and removes its
// container.
import { mkdirSync, rmSync, statSync } from 'node:fs'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import { decodeParts, isVolumePart } from '../src/archive/layout.js'
import { inspectArchive } from '../src/archive/inspect.js'
import { down, up, type EngineOptions, type UpResult } from '../src/engine/engine.js'
import type { Logger } from '../src/logger.js'
import type { Podman } from '../src/podman.js'
import { startPipeline } from '../src/process.js'
import { parseSpec, type RawSpec } from '../src/spec.js'
import { LocalDirectoryStore } from '../src/store/local.js'
import { chooseVolumeStorage, type VolumeStorage } from '../src/volumes.js'
import type { QueryResult } from './clients.js'
import { withPrepare } from './report.js'
import type { Scenario } from './scenarios.js'
import { bash, timed } from './system.js'
import type { WorkloadResult } from './workloads.js'

export interface BenchContext {
  scenario: Scenario
  podman: Podman
  /** The engine's logger: quiet, keeps what it said for error messages. */
  logger: Logger
  /** One host port for every peer; only one service runs at a time. */
  port: number
  /** Everything the run writes goes under here; removed at the end. */
  workDir: string
  names: { warm: string; cold: string; datadir: string }
}

export interface PeerRun {
  seconds: number
  phases: Record<string, number>
  query: QueryResult
  /** Whether `up` restored a checkpoint. */
  restored: boolean
  /** The warm peer's restore by podman's, runc's and CRIU's own clocks (seconds, each includes the next). */
  restoreStats?: Record<string, number>
  /** The scenario's fixed first workload, right after the first query. */
  workload: WorkloadResult
  /** Requests per second, second by second, after the workload (scenarios that measure it). */
  throughput?: number[]
}

export interface WarmPrimed {
  /** The service's memory as the checkpoint holds it (CRIU's page images). */
  memoryBytes: number
  store: LocalDirectoryStore
  archivePath: string
  archiveBytes: number
  checkpointSeconds: number
  coldSeconds: number
  /** Where a warm restore puts the volumes, as the engine decides it for this archive. */
  volumeStorage: VolumeStorage
}

export interface DatadirPrimed {
  archivePath: string
  bytes: number
  unpackedBytes: number
}

/** The phases of the cold run that made the checkpoint and that a cold run without one skips. */
const CHECKPOINT_PHASES = [
  'checkpoint',
  'volumes',
  'resume',
  'compress',
  'assemble',
  'store'
] as const

/** A cold `up` that checkpoints into a fresh store, as a workflow's first run would. */
export async function primeWarm(ctx: BenchContext): Promise<WarmPrimed> {
  const store = new LocalDirectoryStore({ dir: join(ctx.workDir, 'warm-store') })
  const result = await serviceUp(ctx, ctx.names.warm, {}, { store })
  await down(ctx.names.warm, ctx)
  if (result.restored || !result.saved) {
    throw new Error(`the priming run stored no checkpoint: ${describeWarnings(result)}`)
  }
  const [entry] = await store.list()
  if (!entry) throw new Error(`the priming run's checkpoint is not in ${store.description}`)
  const checkpointSeconds = CHECKPOINT_PHASES.reduce((sum, p) => sum + (result.timings[p] ?? 0), 0)
  const parts = decodeParts(entry.metadata.parts, entry.bytes)
  const volumeBytes = parts.filter(isVolumePart).reduce((sum, p) => sum + p.unpackedBytes, 0)
  const spec = parseSpec(ctx.scenario.spec(ctx.names.warm, ctx.port))
  return {
    memoryBytes: await checkpointPageBytes(entry.archivePath, entry.metadata.parts, entry.bytes),
    store,
    archivePath: entry.archivePath,
    archiveBytes: entry.bytes,
    checkpointSeconds,
    coldSeconds: result.startupSeconds,
    // The engine's own rule (src/engine/restore.ts), so the datadir peer can follow it.
    volumeStorage: chooseVolumeStorage(spec.volumeStorage, volumeBytes, totalmem())
  }
}

/**
 * The service's memory as the checkpoint holds it: the sizes of CRIU's page images
 * (checkpoint/pages-*.img) in the archive's checkpoint part. Process counters would miss shared
 * memory no live process has touched (PostgreSQL's prewarmed buffers), which CRIU still dumps.
 */
async function checkpointPageBytes(
  archivePath: string,
  parts: unknown,
  bytes: number
): Promise<number> {
  const [checkpoint] = decodeParts(parts, bytes)
  const listing = await inspectArchive(archivePath, { range: checkpoint })
  return listing.entries
    .filter((entry) => /(^|\/)checkpoint\/pages-\d+\.img$/.test(entry.path))
    .reduce((sum, entry) => sum + entry.size, 0)
}

/**
 * `down`, then `up` from the primed store; it must restore. `restoreImages: 'podman'` restores
 * the way hosts without warmstart's runtime wrapper do (podman imports the whole checkpoint).
 */
export async function runWarm(
  ctx: BenchContext,
  primed: WarmPrimed,
  restoreImages?: 'podman'
): Promise<PeerRun> {
  await down(ctx.names.warm, ctx)
  return withService(ctx, ctx.names.warm, async () => {
    const result = await serviceUp(ctx, ctx.names.warm, {}, { store: primed.store, restoreImages })
    if (!result.restored) {
      throw new Error(`the warm run started cold instead of restoring: ${describeWarnings(result)}`)
    }
    return {
      seconds: result.startupSeconds,
      phases: phasesOf(result),
      restored: result.restored,
      restoreStats: result.restoreStats
        ? {
            podman: result.restoreStats.podman,
            runtime: result.restoreStats.runtime,
            criu: result.restoreStats.criu
          }
        : undefined
    }
  })
}

/** Start, ready, warm-up, no checkpoint: what a workflow without warmstart does. */
export async function runCold(ctx: BenchContext, round: number): Promise<PeerRun> {
  const store = new LocalDirectoryStore({ dir: join(ctx.workDir, `cold-store-${round}`) })
  try {
    return await withService(ctx, ctx.names.cold, async () => {
      const result = await serviceUp(ctx, ctx.names.cold, {}, { store, checkpoint: false })
      return { seconds: result.startupSeconds, phases: phasesOf(result), restored: result.restored }
    })
  } finally {
    rmSync(store.dir, { recursive: true, force: true })
  }
}

/**
 * A cold run with an empty data directory bind-mounted (`:U` hands it to the service's user),
 * then a clean stop (after `persist`, for Redis) and a tar + zstd of the directory.
 */
export async function primeDatadir(ctx: BenchContext): Promise<DatadirPrimed> {
  const { datadir } = ctx.scenario
  const dir = join(ctx.workDir, 'datadir-prime')
  const archivePath = join(ctx.workDir, 'datadir.tar.zst')
  mkdirSync(dir, { mode: 0o700 })
  try {
    await serviceUp(ctx, ctx.names.datadir, datadirSpec(ctx, `${dir}:${datadir.path}:U`), {
      store: emptyStore(ctx, 'datadir-prime-store'),
      checkpoint: false
    })
    await datadir.persist?.(ctx.port)
    if (datadir.stopSignal) {
      // The service's own clean stop (memcached: SIGUSR1 saves its restartable cache and exits).
      await ctx.podman.podman(['kill', '--signal', datadir.stopSignal, ctx.names.datadir])
      await ctx.podman.podman(['wait', ctx.names.datadir])
    } else {
      // A clean stop: PostgreSQL checkpoints and shuts down, as a workflow caching it would.
      await ctx.podman.podman(['stop', '--time', '120', ctx.names.datadir])
    }
    await bash('tar --numeric-owner -C "$1" -cf - . | zstd -q -3 -T0 -o "$2"', [dir, archivePath])
    const unpackedBytes = Number((await bash('du -sb "$1"', [dir])).split('\t')[0])
    return { archivePath, bytes: statSync(archivePath).size, unpackedBytes }
  } finally {
    await down(ctx.names.datadir, ctx)
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Unpacks a fresh copy of the data directory and starts the service on it (no warm-up). The copy
 * goes where warm's volumes go: into a tmpfs of its own when `storage` is memory (mounting it is
 * part of the unpack's time), else onto the work directory's disk.
 */
export async function runDatadir(
  ctx: BenchContext,
  primed: DatadirPrimed,
  round: number,
  storage: VolumeStorage
): Promise<PeerRun> {
  const copy = join(ctx.workDir, `datadir-${round}`)
  let mounted = false
  try {
    return await withService(ctx, ctx.names.datadir, async () => {
      // Numeric owners as archived: the service's user, mapped as the container maps it.
      const unpack = await timed(async () => {
        mkdirSync(copy, { mode: 0o700 })
        if (storage === 'memory') {
          // A tmpfs may grow to half the memory, as warm's memory volumes may.
          await bash('mount -t tmpfs -o size=50%,mode=0700 warmstart-bench-datadir "$1"', [copy])
          mounted = true
        }
        await bash('zstd -dcq "$1" | tar --numeric-owner -xf - -C "$2"', [primed.archivePath, copy])
      })
      const result = await serviceUp(
        ctx,
        ctx.names.datadir,
        { ...datadirSpec(ctx, `${copy}:${ctx.scenario.datadir.path}`), warmup: '' },
        { store: emptyStore(ctx, `datadir-store-${round}`), checkpoint: false }
      )
      return {
        seconds: unpack.seconds + result.startupSeconds,
        phases: { unpack: unpack.seconds, ...phasesOf(result) },
        restored: result.restored
      }
    })
  } finally {
    // withService removed the container: nothing holds the tmpfs any more.
    if (mounted) await bash('umount "$1"', [copy])
    rmSync(copy, { recursive: true, force: true })
  }
}

/** Seconds to read and decompress the stored archive to nowhere: `zstd -dc ARCHIVE > /dev/null`. */
export async function runFloor(archivePath: string): Promise<number> {
  const { seconds } = await timed(
    () =>
      startPipeline(['zstd', '-dcq', archivePath], `zstd -dc ${archivePath}`, {
        stdout: 'ignore'
      }).exited
  )
  return seconds
}

/**
 * Brings a peer's service up, sends the first query, then the first workload (and the
 * throughput load, where the scenario has one), and always removes the container.
 */
async function withService(
  ctx: BenchContext,
  name: string,
  start: () => Promise<Omit<PeerRun, 'query' | 'workload' | 'throughput'>>
): Promise<PeerRun> {
  try {
    const started = await start()
    const query = await ctx.scenario.firstQuery(ctx.port)
    const workload = await ctx.scenario.workload(ctx.port)
    const throughput = await ctx.scenario.throughput?.(ctx.port)
    return { ...started, query, workload, ...(throughput ? { throughput } : {}) }
  } finally {
    await down(name, ctx)
  }
}

async function serviceUp(
  ctx: BenchContext,
  name: string,
  overrides: Partial<RawSpec>,
  options: Pick<EngineOptions, 'store' | 'checkpoint' | 'restoreImages'>
): Promise<UpResult> {
  const spec = parseSpec({ ...ctx.scenario.spec(name, ctx.port), ...overrides })
  return up(spec, {
    podman: ctx.podman,
    logger: ctx.logger,
    replace: true,
    workDir: ctx.workDir,
    ...options
  })
}

/** The scenario's spec with the data directory mounted (and, for Redis, told to live there). */
function datadirSpec(ctx: BenchContext, volume: string): Partial<RawSpec> {
  const base = ctx.scenario.spec(ctx.names.datadir, ctx.port)
  const options = Array.isArray(base.options) ? (base.options as string[]) : []
  return {
    options: [...options, `--volume=${volume}`],
    ...(ctx.scenario.datadir.command ? { command: ctx.scenario.datadir.command } : {})
  }
}

/** A store nothing was ever saved to: `up` misses and starts cold. */
function emptyStore(ctx: BenchContext, label: string): LocalDirectoryStore {
  return new LocalDirectoryStore({ dir: join(ctx.workDir, label) })
}

function phasesOf(result: UpResult): Record<string, number> {
  return withPrepare(result.startupSeconds, result.timings)
}

function describeWarnings(result: UpResult): string {
  return result.warnings.join('; ') || 'no warning said why'
}
