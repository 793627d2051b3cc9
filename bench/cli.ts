// `npm run bench -- [--scenario NAME]... [--runs N] [--out DIR]`: runs the scenarios, writes
// DIR/<scenario>.json (default bench/results), prints a markdown table per scenario on stdout
// and a progress line per step on stderr.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runScenario } from './harness.js'
import { renderTable, type BenchResult } from './report.js'
import { DEFAULT_SCENARIOS, SCENARIOS, scenarioNamed, type Scenario } from './scenarios.js'
import { repoRoot } from './system.js'

export interface BenchArgs {
  scenarios: Scenario[]
  runs: number
  outDir: string
  help: boolean
}

export const USAGE = `usage: npm run bench -- [--scenario NAME]... [--runs N] [--out DIR]

Compares, interleaved, on real Podman and CRIU: a cold start with warm-up, a start from a cached
data directory, a warm restore from warmstart's checkpoint, and reading that checkpoint (floor).

  --scenario NAME  run only this scenario (repeatable; default: ${DEFAULT_SCENARIOS.join(', ')};
                   also known: ${SCENARIOS.map((s) => s.name)
                     .filter((name) => !DEFAULT_SCENARIOS.includes(name))
                     .join(', ')}, the quick smoke scenario)
  --runs N         interleaved rounds per scenario; medians are reported (default 3)
  --out DIR        where <scenario>.json goes (default bench/results)`

export function parseBenchArgs(argv: string[], root = repoRoot()): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', multiple: true },
      runs: { type: 'string', default: '3' },
      out: { type: 'string', default: join(root, 'bench', 'results') },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true,
    allowPositionals: false
  })
  const runs = Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`--runs must be a whole number >= 1, got ${values.runs}`)
  }
  const names = values.scenario?.length ? values.scenario : DEFAULT_SCENARIOS
  const scenarios = names.map(scenarioNamed)
  return { scenarios, runs, outDir: values.out as string, help: values.help === true }
}

export interface BenchIO {
  /** The tables. */
  stdout: (text: string) => void
  /** Progress, one line per step. */
  stderr: (line: string) => void
}

const processIO: BenchIO = {
  stdout: (text) => void process.stdout.write(`${text}\n`),
  stderr: (line) => void process.stderr.write(`${line}\n`)
}

/** Runs the benchmark as the command line asks; resolves with each scenario's result. */
export async function runBench(argv: string[], io: BenchIO = processIO): Promise<BenchResult[]> {
  const args = parseBenchArgs(argv)
  if (args.help) {
    io.stdout(USAGE)
    return []
  }
  const results: BenchResult[] = []
  for (const scenario of args.scenarios) {
    const result = await runScenario(scenario, args.runs, io.stderr)
    const file = writeResult(args.outDir, result)
    io.stderr(`bench ${scenario.name}: wrote ${file}`)
    io.stdout(`${renderTable(result)}\n`)
    results.push(result)
  }
  return results
}

/** Writes DIR/<scenario>.json through a temp file, so a reader never sees half of it. */
export function writeResult(dir: string, result: BenchResult): string {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${result.scenario}.json`)
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, `${JSON.stringify(result, null, 2)}\n`)
  renameSync(temp, file)
  return file
}
