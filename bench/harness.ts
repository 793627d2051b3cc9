// One scenario, end to end: prime the warm store and the data directory once, then run the
// peers interleaved (cold, datadir, warm, floor) for each round, and summarize. Every container
// and temporary file is removed at the end, whatever happened.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../src/logger.js'
import { Podman } from '../src/podman.js'
import { hostInfo } from './machine.js'
import {
  primeDatadir,
  primeWarm,
  runCold,
  runDatadir,
  runFloor,
  runWarm,
  type BenchContext,
  type PeerRun
} from './peers.js'
import {
  formatMs,
  formatSeconds,
  round as round3,
  summarize,
  type BenchResult,
  type RoundSample
} from './report.js'
import type { Scenario } from './scenarios.js'
import { activeCleanups, Cleanup, freePort } from './system.js'

/** Writes one progress line (to stderr). */
export type Progress = (line: string) => void

export async function runScenario(
  scenario: Scenario,
  runs: number,
  progress: Progress
): Promise<BenchResult> {
  const say = (line: string): void => progress(`bench ${scenario.name}: ${line}`)
  const podman = new Podman()
  const names = {
    warm: `warmstart-bench-${scenario.name}-warm`,
    cold: `warmstart-bench-${scenario.name}-cold`,
    datadir: `warmstart-bench-${scenario.name}-datadir`
  }
  const cleanup = new Cleanup()
  activeCleanups.add(cleanup)
  try {
    const workDir = mkdtempSync(join(tmpdir(), `warmstart-bench-${scenario.name}-`))
    // Traversable (not readable) for services in a user namespace, whose data is mounted below.
    chmodSync(workDir, 0o711)
    cleanup.add(`removing ${workDir}`, () => rmSync(workDir, { recursive: true, force: true }))
    for (const name of Object.values(names)) {
      cleanup.add(`removing container ${name}`, () => podman.forceRemove(name))
      await podman.forceRemove(name) // left by a run that was killed
    }
    const ctx: BenchContext = {
      scenario,
      podman,
      logger: quietLogger(say),
      port: await freePort(),
      workDir,
      names
    }
    const host = await hostInfo(podman)
    const date = new Date()

    say('priming the warm store: a cold run that checkpoints')
    const warm = await primeWarm(ctx)
    say(
      `primed: cold ${formatSeconds(warm.coldSeconds)}, then checkpoint ${formatSeconds(warm.checkpointSeconds)}, archive ${warm.archiveBytes} bytes`
    )
    say('priming the data directory: a cold run, a clean stop, tar + zstd')
    const datadir = await primeDatadir(ctx)
    say(`primed: data directory ${datadir.unpackedBytes} bytes, archive ${datadir.bytes} bytes`)

    const rounds: RoundSample[] = []
    let workloadRequests = 0
    for (let round = 1; round <= runs; round++) {
      const step = (peer: string, seconds: number, ms?: number, rps?: number[]): void =>
        say(
          `round ${round}/${runs} ${peer} ${formatSeconds(seconds)}${ms === undefined ? '' : `, first query ${formatMs(ms)}`}${rps ? `, requests/s by second ${rps.join(' ')}` : ''}`
        )
      const cold = await runCold(ctx, round)
      step('cold', cold.seconds, cold.query.ms, cold.throughput)
      const fromDatadir = await runDatadir(ctx, datadir, round, warm.volumeStorage)
      step('datadir', fromDatadir.seconds, fromDatadir.query.ms, fromDatadir.throughput)
      const restored = await runWarm(ctx, warm)
      step('warm', restored.seconds, restored.query.ms, restored.throughput)
      // The same restore the way hosts without warmstart's runtime wrapper do it.
      const imported = await runWarm(ctx, warm, 'podman')
      step('warm (podman imports it all)', imported.seconds, imported.query.ms)
      const floor = await runFloor(warm.archivePath)
      step('floor', floor)
      const peers = { cold, datadir: fromDatadir, warm: restored, imported }
      assertSameAnswers('first query', peers, (peer) => peer.query)
      assertSameAnswers('first workload', peers, (peer) => peer.workload)
      workloadRequests = restored.workload.requests
      say(
        `round ${round}/${runs} first workload (${restored.workload.requests} requests): cold ${formatSeconds(cold.workload.seconds)}, datadir ${formatSeconds(fromDatadir.workload.seconds)}, warm ${formatSeconds(restored.workload.seconds)}`
      )
      rounds.push({
        round,
        cold_s: round3(cold.seconds),
        datadir_s: round3(fromDatadir.seconds),
        warm_s: round3(restored.seconds),
        warm_podman_import_s: round3(imported.seconds),
        floor_s: round3(floor),
        warm_restored: restored.restored === true,
        first_query_ms: {
          cold: round3(cold.query.ms),
          datadir: round3(fromDatadir.query.ms),
          warm: round3(restored.query.ms)
        },
        workload_s: {
          cold: round3(cold.workload.seconds),
          datadir: round3(fromDatadir.workload.seconds),
          warm: round3(restored.workload.seconds)
        },
        warm_phases: roundAll(restored.phases),
        warm_podman_import_phases: roundAll(imported.phases),
        datadir_phases: roundAll(fromDatadir.phases),
        warm_restore_stats: roundAll(restored.restoreStats ?? {}),
        ...throughputFields(cold.throughput, fromDatadir.throughput, restored.throughput)
      })
    }
    return summarize({
      scenario: scenario.name,
      description: scenario.description,
      priming: {
        archive_bytes: warm.archiveBytes,
        checkpoint_s: warm.checkpointSeconds,
        prime_cold_s: warm.coldSeconds,
        datadir_bytes: datadir.bytes,
        datadir_unpacked_bytes: datadir.unpackedBytes,
        memory_bytes: warm.memoryBytes,
        volume_storage: warm.volumeStorage,
        workload_requests: workloadRequests
      },
      rounds,
      host,
      date
    })
  } finally {
    say('cleaning up')
    await cleanup.run(say)
    activeCleanups.delete(cleanup)
  }
}

/**
 * The engine's log, kept quiet: warnings go to the progress stream, the rest is dropped (when
 * `up` fails, its error carries the reason and the warm-up's last output).
 */
function quietLogger(say: Progress): Logger {
  return {
    debug: () => undefined,
    info: () => undefined,
    warning: (message) => say(`warning: ${message}`),
    group: (_title, work) => work()
  }
}

/** Every peer must have served the same data: the same answer from each. */
function assertSameAnswers(
  what: string,
  peers: Record<string, PeerRun>,
  pick: (peer: PeerRun) => { answer: string }
): void {
  const answers = Object.fromEntries(
    Object.entries(peers).map(([name, peer]) => [name, pick(peer)])
  )
  if (new Set(Object.values(answers).map((answer) => answer.answer)).size !== 1) {
    throw new Error(`the peers answered the ${what} differently: ${JSON.stringify(answers)}`)
  }
}

/** rps_1s and rps_5s per peer, when the scenario measured throughput on every peer. */
function throughputFields(
  cold: number[] | undefined,
  datadir: number[] | undefined,
  warm: number[] | undefined
): Pick<RoundSample, 'rps_1s' | 'rps_5s'> {
  if (!cold || !datadir || !warm) return {}
  const at = (second: number) => ({
    cold: cold[second] ?? 0,
    datadir: datadir[second] ?? 0,
    warm: warm[second] ?? 0
  })
  return { rps_1s: at(0), rps_5s: at(4) }
}

function roundAll(phases: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(phases).map(([phase, s]) => [phase, round3(s)]))
}
