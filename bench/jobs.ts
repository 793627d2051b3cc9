// `npm run bench:cache -- [--scenario NAME]... [--runs N] [--out DIR]`: the Action's main step
// as a job sees it, per scenario, through real stores: a cold job (start, warm up, checkpoint,
// stage; its upload timed apart, as the post step does it), then warm jobs on a runner with
// nothing left (no container, empty store directories), interleaved:
//   cache     the GitHub Actions cache through the local cache service double (@actions/cache,
//             Twirp + azurite): download, untar, then warmstart unpacks and restores
//   registry  an OCI registry (Debian's docker-registry on loopback, htpasswd): each part
//             streamed from its blob straight into its unpack, side by side, then restored
// Both warm jobs restore the same checkpoint (the cold job's, pushed to both stores). What the
// main step spends preparing the runner (install) is not included: it is the same on both.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { down, up, type UpResult } from '../src/engine/engine.js'
import type { Logger } from '../src/logger.js'
import { Podman } from '../src/podman.js'
import { parseSpec } from '../src/spec.js'
import { ActionsCacheStore } from '../src/store/actions-cache.js'
import { parseOciLocation } from '../src/store/oci/artifact.js'
import { OciRegistryStore } from '../src/store/oci-registry.js'
import { DeferredUploadStore, readStagedEntry } from '../src/store/staging.js'
import { withEnv } from '../tools/cache-double/env.js'
import { startCacheDouble } from '../tools/cache-double/server.js'
import { startTestRegistry } from '../tools/registry/server.js'
import { markdownTable, median, ratio, round } from './report.js'
import { scenarioNamed, type Scenario } from './scenarios.js'
import { freePort, repoRoot, timed } from './system.js'

const DEFAULT = ['postgres-migrate', 'redis-dataset', 'postgres-bulk']

const say = (line: string): void => void process.stderr.write(`bench:cache ${line}\n`)

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: (message) => say(`warning: ${message}`),
  group: (_title, work) => work()
}

export interface JobsResult {
  scenario: string
  runs: number
  archive_bytes: number
  /** The cold job's main step: start, ready, warm-up, checkpoint, stage. */
  cold_main_s: number
  /** Uploading that checkpoint (the post step's work): to the Actions cache, to the registry. */
  upload_s: { cache: number; registry: number }
  /** Medians of the warm job's main step (`up` from nothing to ready). */
  warm_main_s: { cache: number; registry: number }
  /**
   * Medians of the warm `up`'s lookup (the cache: the download; the registry: the manifest and
   * a HEAD per blob) and unpack + restore phases (the registry's download happens in unpack).
   */
  warm_lookup_s: { cache: number; registry: number }
  warm_unpack_restore_s: { cache: number; registry: number }
  /** cold_main_s over each warm main step. */
  speedup_vs_cold: { cache: number; registry: number }
  /** The cache path's warm main step over the registry's. */
  registry_vs_cache: number
  samples: Array<{ round: number; cache_s: number; registry_s: number }>
  date: string
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      scenario: { type: 'string', multiple: true },
      runs: { type: 'string', default: '3' },
      out: { type: 'string', default: join(repoRoot(), 'bench', 'results') }
    }
  })
  const runs = Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: "${values.runs}" is not >= 1`)
  const scenarios = (values.scenario?.length ? values.scenario : DEFAULT).map(scenarioNamed)
  const podman = new Podman()
  const double = await startCacheDouble({ protocol: 'v2' })
  const registry = await startTestRegistry()
  const work = mkdtempSync(join(tmpdir(), 'warmstart-bench-jobs-'))
  const tables: string[] = []
  try {
    for (const scenario of scenarios) {
      const result = await withEnv(double.env, () =>
        runScenario(scenario, runs, podman, registry, work)
      )
      mkdirSync(values.out as string, { recursive: true })
      writeFileSync(
        join(values.out as string, `jobs-${scenario.name}.json`),
        `${JSON.stringify(result, null, 2)}\n`
      )
      tables.push(renderJobs(result))
    }
  } finally {
    await double.stop()
    await registry.stop()
    rmSync(work, { recursive: true, force: true })
  }
  process.stdout.write(`${tables.join('\n\n')}\n`)
}

async function runScenario(
  scenario: Scenario,
  runs: number,
  podman: Podman,
  registry: Awaited<ReturnType<typeof startTestRegistry>>,
  work: string
): Promise<JobsResult> {
  const name = `warmstart-bench-jobs-${scenario.name}`
  const spec = parseSpec({
    ...scenario.spec(name, await freePort()),
    key: `bench-jobs-${scenario.name}-${Date.now()}`
  })
  const options = { podman, logger: quiet, replace: true, workDir: join(work, 'work') }
  mkdirSync(options.workDir, { recursive: true })
  // The Action's layout: one entry directory per service, the same path in every job.
  const cacheDir = join(work, 'cache', name)
  const oci = (): OciRegistryStore =>
    new OciRegistryStore({
      location: parseOciLocation(`oci://${registry.host}/warmstart/bench-${scenario.name}`),
      credentials: { username: registry.username, password: registry.password }
    })
  try {
    say(`${scenario.name}: the cold job (start, warm up, checkpoint, stage)`)
    const cacheStore = new ActionsCacheStore({ dir: cacheDir })
    // As the Action's main step: a lookup that misses (a fresh key), a save that only stages.
    const staging = new DeferredUploadStore(cacheStore, (archive, metadata) =>
      cacheStore.stage(archive, metadata)
    )
    const cold = await up(spec, { ...options, store: staging })
    await down(name, { podman })
    if (!cold.checkpointBytes) throw new Error(`${scenario.name}: the cold job made no checkpoint`)
    const staged = readStagedEntry(cacheDir)
    // The registry's push first: the Actions cache upload tars the entry directory it reads.
    const registryUpload = await timed(() =>
      oci().save(cold.cacheKey, staged.archivePath, staged.metadata)
    )
    const cacheUpload = await timed(() => cacheStore.upload(cold.cacheKey))
    if (!cacheUpload.value.saved) throw new Error(`${scenario.name}: ${cacheUpload.value.reason}`)
    say(
      `${scenario.name}: cold main ${cold.startupSeconds.toFixed(1)} s; upload: cache ${cacheUpload.seconds.toFixed(2)} s, registry ${registryUpload.seconds.toFixed(2)} s`
    )

    const samples: JobsResult['samples'] = []
    const phases = { cache: [] as UpResult[], registry: [] as UpResult[] }
    for (let round = 1; round <= runs; round++) {
      const warm = async (which: 'cache' | 'registry'): Promise<UpResult> => {
        // A fresh runner: nothing of the last job's is here.
        rmSync(cacheDir, { recursive: true, force: true })
        const store = which === 'cache' ? new ActionsCacheStore({ dir: cacheDir }) : oci()
        const result = await up(spec, { ...options, store, checkpoint: false })
        await down(name, { podman })
        if (!result.restored) {
          throw new Error(
            `${scenario.name}: the ${which} job did not restore: ${result.warnings.join('; ')}`
          )
        }
        phases[which].push(result)
        return result
      }
      const fromCache = await warm('cache')
      const fromRegistry = await warm('registry')
      samples.push({
        round,
        cache_s: round3(fromCache.startupSeconds),
        registry_s: round3(fromRegistry.startupSeconds)
      })
      say(
        `${scenario.name}: round ${round}/${runs} warm main: cache ${fromCache.startupSeconds.toFixed(2)} s, registry ${fromRegistry.startupSeconds.toFixed(2)} s`
      )
    }
    const med = (results: UpResult[], pick: (r: UpResult) => number): number =>
      round3(median(results.map(pick)))
    const warmMain = {
      cache: med(phases.cache, (r) => r.startupSeconds),
      registry: med(phases.registry, (r) => r.startupSeconds)
    }
    const unpackRestore = (r: UpResult): number =>
      (r.timings.unpack ?? 0) + (r.timings.restore ?? 0)
    return {
      scenario: scenario.name,
      runs,
      archive_bytes: cold.checkpointBytes,
      cold_main_s: round3(cold.startupSeconds),
      upload_s: { cache: round3(cacheUpload.seconds), registry: round3(registryUpload.seconds) },
      warm_main_s: warmMain,
      warm_lookup_s: {
        cache: med(phases.cache, (r) => r.timings.lookup ?? 0),
        registry: med(phases.registry, (r) => r.timings.lookup ?? 0)
      },
      warm_unpack_restore_s: {
        cache: med(phases.cache, unpackRestore),
        registry: med(phases.registry, unpackRestore)
      },
      speedup_vs_cold: {
        cache: ratio(cold.startupSeconds, warmMain.cache),
        registry: ratio(cold.startupSeconds, warmMain.registry)
      },
      registry_vs_cache: ratio(warmMain.cache, warmMain.registry),
      samples,
      date: new Date().toISOString()
    }
  } finally {
    await down(name, { podman })
    rmSync(cacheDir, { recursive: true, force: true })
  }
}

function renderJobs(result: JobsResult): string {
  const s = (seconds: number): string => `${seconds.toFixed(2)} s`
  const runs = result.runs === 1 ? '1 run' : `medians of ${result.runs} runs`
  return [
    `### ${result.scenario}: the Action's main step, cold job vs warm jobs (${runs}, archive ${(result.archive_bytes / 2 ** 20).toFixed(0)} MiB)`,
    '',
    ...markdownTable(
      [
        ['job', 'main step', 'lookup', 'unpack + restore', 'upload (post)', 'vs cold'],
        ['cold', s(result.cold_main_s), '', '', '', ''],
        ...(['cache', 'registry'] as const).map((store) => [
          store === 'cache' ? 'warm, Actions cache' : 'warm, OCI registry',
          s(result.warm_main_s[store]),
          s(result.warm_lookup_s[store]),
          s(result.warm_unpack_restore_s[store]),
          s(result.upload_s[store]),
          `${result.speedup_vs_cold[store].toFixed(1)}x`
        ])
      ],
      ['---', '--:', '--:', '--:', '--:', '--:']
    )
  ].join('\n')
}

function round3(value: number): number {
  return round(value, 3)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:cache failed: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
