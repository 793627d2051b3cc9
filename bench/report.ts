// The benchmark's statistics and report: pure functions from the measured rounds to the result
// JSON and the markdown table. No I/O here (see harness.ts for the measuring).
import { formatBytes } from '../src/engine/engine.js'

/** The three peers that end with a running service, each measured until it is ready. */
export const SERVICE_PEERS = ['cold', 'datadir', 'warm'] as const
export type ServicePeer = (typeof SERVICE_PEERS)[number]
export type PeerValues = Record<ServicePeer, number>

/** One interleaved round: cold, datadir, warm, floor, in that order. */
export interface RoundSample {
  round: number
  cold_s: number
  datadir_s: number
  warm_s: number
  /** The warm restore with podman importing the whole checkpoint (no in-memory CRIU images). */
  warm_podman_import_s?: number
  floor_s: number
  /** Whether the warm peer's `up` restored the checkpoint (it must). */
  warm_restored: boolean
  first_query_ms: PeerValues
  /** Seconds of the scenario's fixed first workload, right after the first query. */
  workload_s?: PeerValues
  /** Seconds per phase of the warm `up` (lookup, unpack, restore, ready; prepare is the rest). */
  warm_phases: Record<string, number>
  /** Seconds per phase of the datadir peer (unpack, then the `up`'s prepare, start, ready). */
  datadir_phases: Record<string, number>
  warm_podman_import_phases?: Record<string, number>
  /** The warm `restore` phase by podman's, runc's and CRIU's own clocks (each includes the next). */
  warm_restore_stats?: Record<string, number>
  /**
   * Scenarios that measure throughput (jvm-jit): requests per second in the first and in the
   * fifth second of load right after ready, per peer.
   */
  rps_1s?: PeerValues
  rps_5s?: PeerValues
}

/** What was made once, before the rounds. */
export interface Priming {
  /** Size of warmstart's stored checkpoint archive (zstd). */
  archive_bytes: number
  /** Extra time the priming cold run spent on checkpoint, volumes, resume, compress, assemble and store. */
  checkpoint_s: number
  /** The priming cold run's own start + ready + warm-up seconds (not a cold sample). */
  prime_cold_s: number
  /** Size of the data directory archive (tar + zstd). */
  datadir_bytes: number
  /** Size of the data directory on disk. */
  datadir_unpacked_bytes: number
  /** The service's memory as the checkpoint holds it: CRIU's page images. */
  memory_bytes?: number
  /** Where warm's volumes (and so the datadir peer's copy) were unpacked. */
  volume_storage?: 'memory' | 'disk'
  /** Requests in the first workload. */
  workload_requests?: number
}

export interface HostInfo {
  cpu: string
  cores: number
  kernel: string
  podman: string
  criu: string
  runtime: string
  /** 1-minute load average when the run started: other work on the machine skews the numbers. */
  load_average: number
}

export interface BenchResult {
  scenario: string
  description: string
  runs: number
  /** Medians over the rounds, in seconds. */
  cold_s: number
  datadir_s: number
  warm_s: number
  floor_s: number
  /**
   * The same restore with podman importing the whole checkpoint onto its storage, as on hosts
   * without warmstart's runtime wrapper; and how much faster the in-memory CRIU images make it.
   */
  warm_podman_import_s?: number
  images_in_memory_speedup?: number
  /** Median latency of the scenario's fixed first query on each peer's fresh service. */
  first_query_ms: PeerValues
  /** Until ready, per peer (the same medians as cold_s, datadir_s, warm_s). */
  ready_s: PeerValues
  /** The fixed first workload's seconds, and until ready plus them (per-round sums), per peer. */
  workload_s?: PeerValues
  ready_plus_workload_s?: PeerValues
  /** datadir's ready_plus_workload_s over warm's. */
  workload_speedup_vs_datadir?: number
  workload_requests?: number
  /** Where warm's volumes and the datadir peer's copy were unpacked: a tmpfs, or the disk. */
  volume_storage?: 'memory' | 'disk'
  archive_bytes: number
  datadir_bytes: number
  datadir_unpacked_bytes: number
  checkpoint_s: number
  prime_cold_s: number
  /** The service's memory as the checkpoint holds it: the sizes of CRIU's page images. */
  memory_bytes?: number
  /** The warm `restore` phase (podman and CRIU) per GiB of that memory. */
  restore_s_per_gib?: number
  speedup_vs_cold: number
  speedup_vs_datadir: number
  warm_over_floor: number
  warm_phases: Record<string, number>
  datadir_phases: Record<string, number>
  /** Medians of the warm restore's own clocks: podman, runc (runtime), CRIU. */
  warm_restore_stats: Record<string, number>
  /** Medians of the requests per second in the first and fifth second after ready (jvm-jit). */
  rps_1s?: PeerValues
  rps_5s?: PeerValues
  host: HostInfo
  date: string
  samples: RoundSample[]
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const upper = sorted[middle] as number
  return sorted.length % 2 ? upper : ((sorted[middle - 1] as number) + upper) / 2
}

/** `numerator / denominator`, rounded to 2 decimals; NaN when the denominator is not positive. */
export function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? round(numerator / denominator, 2) : Number.NaN
}

export function round(value: number, decimals = 3): number {
  const scale = 10 ** decimals
  return Math.round(value * scale) / scale
}

/** Per-phase medians; a phase missing from a round counts as 0 s there. */
export function phaseMedians(rounds: Array<Record<string, number>>): Record<string, number> {
  const phases = [...new Set(rounds.flatMap((phases) => Object.keys(phases)))]
  return Object.fromEntries(
    phases.map((phase) => [phase, round(median(rounds.map((phases) => phases[phase] ?? 0)))])
  )
}

/**
 * The phases of one `up` plus `prepare`: what its total spent outside them (reading the host
 * and image, composing the key), so that the phases add up to the total.
 */
export function withPrepare(
  totalSeconds: number,
  phases: Record<string, number | undefined>
): Record<string, number> {
  const measured = Object.entries(phases).filter(
    (entry): entry is [string, number] => entry[1] !== undefined
  )
  const spent = measured.reduce((sum, [, seconds]) => sum + seconds, 0)
  return { prepare: round(Math.max(0, totalSeconds - spent)), ...Object.fromEntries(measured) }
}

export function summarize(input: {
  scenario: string
  description: string
  priming: Priming
  rounds: RoundSample[]
  host: HostInfo
  date: Date
}): BenchResult {
  const { rounds, priming } = input
  const med = (pick: (sample: RoundSample) => number): number => round(median(rounds.map(pick)))
  const cold = med((r) => r.cold_s)
  const datadir = med((r) => r.datadir_s)
  const warm = med((r) => r.warm_s)
  const floor = med((r) => r.floor_s)
  return {
    scenario: input.scenario,
    description: input.description,
    runs: rounds.length,
    cold_s: cold,
    datadir_s: datadir,
    warm_s: warm,
    floor_s: floor,
    ...importedMedians(rounds, warm),
    first_query_ms: {
      cold: med((r) => r.first_query_ms.cold),
      datadir: med((r) => r.first_query_ms.datadir),
      warm: med((r) => r.first_query_ms.warm)
    },
    ready_s: { cold, datadir, warm },
    ...workloadMedians(rounds),
    ...(priming.workload_requests ? { workload_requests: priming.workload_requests } : {}),
    ...(priming.volume_storage ? { volume_storage: priming.volume_storage } : {}),
    archive_bytes: priming.archive_bytes,
    datadir_bytes: priming.datadir_bytes,
    datadir_unpacked_bytes: priming.datadir_unpacked_bytes,
    checkpoint_s: round(priming.checkpoint_s),
    prime_cold_s: round(priming.prime_cold_s),
    ...(priming.memory_bytes
      ? {
          memory_bytes: priming.memory_bytes,
          // podman's restore: what the warm path spends on the service's memory once its
          // images are unpacked (which `unpack` does beside the volumes).
          restore_s_per_gib: ratio(
            median(rounds.map((r) => r.warm_phases.restore ?? 0)),
            priming.memory_bytes / 2 ** 30
          )
        }
      : {}),
    speedup_vs_cold: ratio(cold, warm),
    speedup_vs_datadir: ratio(datadir, warm),
    warm_over_floor: ratio(warm, floor),
    warm_phases: phaseMedians(rounds.map((r) => r.warm_phases)),
    datadir_phases: phaseMedians(rounds.map((r) => r.datadir_phases)),
    warm_restore_stats: phaseMedians(rounds.map((r) => r.warm_restore_stats ?? {})),
    ...peerMedians('rps_1s', rounds),
    ...peerMedians('rps_5s', rounds),
    host: input.host,
    date: input.date.toISOString(),
    samples: rounds
  }
}

/** The podman-import restore's median and its ratio to warm's, when every round measured it. */
function importedMedians(
  rounds: RoundSample[],
  warm: number
): Pick<BenchResult, 'warm_podman_import_s' | 'images_in_memory_speedup'> {
  const values = rounds.map((r) => r.warm_podman_import_s)
  if (values.length === 0 || values.some((value) => value === undefined)) return {}
  const imported = round(median(values as number[]))
  return { warm_podman_import_s: imported, images_in_memory_speedup: ratio(imported, warm) }
}

/**
 * The first workload's medians per peer, until ready plus the workload (each round's sum, then
 * the median), and datadir's over warm's; nothing when a round did not measure it.
 */
function workloadMedians(
  rounds: RoundSample[]
): Pick<BenchResult, 'workload_s' | 'ready_plus_workload_s' | 'workload_speedup_vs_datadir'> {
  if (rounds.length === 0 || rounds.some((r) => r.workload_s === undefined)) return {}
  const per = (pick: (r: RoundSample, peer: ServicePeer) => number): PeerValues => {
    const peer = (name: ServicePeer): number => round(median(rounds.map((r) => pick(r, name))))
    return { cold: peer('cold'), datadir: peer('datadir'), warm: peer('warm') }
  }
  const workload = per((r, peer) => (r.workload_s as PeerValues)[peer])
  const total = per((r, peer) => r[`${peer}_s`] + (r.workload_s as PeerValues)[peer])
  return {
    workload_s: workload,
    ready_plus_workload_s: total,
    workload_speedup_vs_datadir: ratio(total.datadir, total.warm)
  }
}

/** `{ [field]: per-peer medians }` when every round measured `field`; nothing otherwise. */
function peerMedians(
  field: 'rps_1s' | 'rps_5s',
  rounds: RoundSample[]
): Partial<Record<'rps_1s' | 'rps_5s', PeerValues>> {
  const samples = rounds.map((r) => r[field])
  if (samples.length === 0 || samples.some((sample) => sample === undefined)) return {}
  const values = samples as PeerValues[]
  const peer = (name: ServicePeer): number => round(median(values.map((v) => v[name])), 1)
  return { [field]: { cold: peer('cold'), datadir: peer('datadir'), warm: peer('warm') } }
}

export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`
}

export function formatMs(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`
}

function formatPhases(phases: Record<string, number>): string {
  return Object.entries(phases)
    .map(([phase, seconds]) => `${phase} ${formatSeconds(seconds)}`)
    .join(', ')
}

function times(value: number): string {
  return `${value.toFixed(1)}x`
}

/** The result as a markdown table: one row per peer, then the derived figures. */
export function renderTable(result: BenchResult): string {
  const q = result.first_query_ms
  const runs = result.runs === 1 ? '1 run' : `medians of ${result.runs} runs`
  const total = result.ready_plus_workload_s
  const plus = (peer: ServicePeer): string => (total ? formatSeconds(total[peer]) : '')
  const storage = result.volume_storage === 'memory' ? ' into a tmpfs' : ''
  const rows: string[][] = [
    ['peer', 'until ready', 'first query', 'ready + first workload', 'what it does'],
    [
      'cold',
      formatSeconds(result.cold_s),
      formatMs(q.cold),
      plus('cold'),
      'start, wait until ready, warm up'
    ],
    [
      'datadir',
      formatSeconds(result.datadir_s),
      formatMs(q.datadir),
      plus('datadir'),
      `unpack the data directory (${formatBytes(result.datadir_bytes)} tar.zst)${storage}, start, wait until ready`
    ],
    [
      'warm',
      formatSeconds(result.warm_s),
      formatMs(q.warm),
      plus('warm'),
      `restore warmstart's checkpoint (${formatBytes(result.archive_bytes)} tar.zst)`
    ],
    ...(result.warm_podman_import_s === undefined
      ? []
      : [
          [
            'warm, podman importing',
            formatSeconds(result.warm_podman_import_s),
            '',
            '',
            'the same restore with podman importing the whole checkpoint onto its storage (hosts without warmstart’s runtime wrapper)'
          ]
        ]),
    ['floor', formatSeconds(result.floor_s), '', '', '`zstd -dc` of that archive to /dev/null']
  ]
  const figures: string[][] = [
    ['figure', 'value'],
    ['warm speed-up vs cold', times(result.speedup_vs_cold)],
    ['warm speed-up vs datadir', times(result.speedup_vs_datadir)],
    ...(result.workload_speedup_vs_datadir === undefined
      ? []
      : [
          [
            `warm speed-up vs datadir, until ready + first workload (${result.workload_requests ?? '?'} requests)`,
            times(result.workload_speedup_vs_datadir)
          ]
        ]),
    ['warm / floor', times(result.warm_over_floor)],
    ...(result.images_in_memory_speedup === undefined
      ? []
      : [
          ['CRIU images in memory vs podman importing them', times(result.images_in_memory_speedup)]
        ]),
    ['checkpoint cost (once, on a cold run)', formatSeconds(result.checkpoint_s)],
    ['warm phases', formatPhases(result.warm_phases)],
    ['datadir phases', formatPhases(result.datadir_phases)],
    ['warm restore by its own clocks', formatPhases(result.warm_restore_stats ?? {})],
    ...(result.rps_1s && result.rps_5s
      ? [
          [
            'requests/s in the 1st second after ready',
            `cold ${result.rps_1s.cold}, datadir ${result.rps_1s.datadir}, warm ${result.rps_1s.warm}`
          ],
          [
            'requests/s in the 5th second after ready',
            `cold ${result.rps_5s.cold}, datadir ${result.rps_5s.datadir}, warm ${result.rps_5s.warm}`
          ]
        ]
      : []),
    ...(result.memory_bytes
      ? [
          [
            'memory in the checkpoint (CRIU pages)',
            `${formatBytes(result.memory_bytes)}; restore ${formatSeconds(result.restore_s_per_gib ?? 0)} per GiB of it`
          ]
        ]
      : []),
    [
      'data directory',
      `${formatBytes(result.datadir_unpacked_bytes)} on disk, ${formatBytes(result.datadir_bytes)} tar.zst`
    ],
    [
      'host',
      `${result.host.cpu} (${result.host.cores} cores, load ${result.host.load_average.toFixed(2)}), kernel ${result.host.kernel}, podman ${result.host.podman}, ${result.host.runtime}, CRIU ${result.host.criu}`
    ]
  ]
  return [
    `### ${result.scenario}: ${result.description} (${runs})`,
    '',
    ...markdownTable(rows, ['---', '--:', '--:', '--:', '---']),
    '',
    ...markdownTable(figures, ['---', '---'])
  ].join('\n')
}

export function markdownTable(rows: string[][], alignment: string[]): string[] {
  const [header, ...body] = rows
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(header ?? []), line(alignment), ...body.map(line)]
}

/**
 * One row per scenario, for the README: medians, the ratios the targets are about, and the
 * first workload. From the `bench/results` JSON files of one run (`npm run bench:table`).
 */
export function renderSummaryTable(results: BenchResult[]): string {
  const s = formatSeconds
  const peers = (values: PeerValues | undefined, format: (n: number) => string): string =>
    values ? `${format(values.cold)} / ${format(values.datadir)} / ${format(values.warm)}` : ''
  const ms = (n: number): string => (n < 10 ? n.toFixed(1) : n.toFixed(0))
  const rows: string[][] = [
    [
      'scenario',
      'cold',
      'datadir',
      'warm',
      'floor',
      'warm vs cold',
      'warm vs datadir',
      'ready + first workload: cold / datadir / warm',
      'warm vs datadir, ready + workload',
      'warm / floor',
      'checkpoint (once)',
      'first query cold / datadir / warm'
    ],
    ...results.map((r) => [
      `\`${r.scenario}\``,
      s(r.cold_s),
      s(r.datadir_s),
      s(r.warm_s),
      s(r.floor_s),
      times(r.speedup_vs_cold),
      times(r.speedup_vs_datadir),
      peers(r.ready_plus_workload_s, (n) => n.toFixed(2)),
      r.workload_speedup_vs_datadir === undefined ? '' : times(r.workload_speedup_vs_datadir),
      r.warm_over_floor.toFixed(2),
      s(r.checkpoint_s),
      `${peers(r.first_query_ms, ms)} ms`
    ])
  ]
  return markdownTable(rows, ['---', ...Array<string>(rows[0]!.length - 1).fill('--:')]).join('\n')
}
