// `npm run bench:table`: the README's summary table, one row per scenario, from the JSON files
// `npm run bench` wrote (bench/results, or the directory given), in the benchmark's order.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { renderSummaryTable, type BenchResult } from './report.js'
import { SCENARIOS } from './scenarios.js'
import { repoRoot } from './system.js'

const dir = process.argv[2] ?? join(repoRoot(), 'bench', 'results')
const order = SCENARIOS.map((scenario) => scenario.name)
const results = readdirSync(dir)
  .filter((file) => order.includes(file.replace(/\.json$/, '')))
  .map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as BenchResult)
  .sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario))
process.stdout.write(`${renderSummaryTable(results)}\n`)
const hosts = [
  ...new Set(
    results.map(
      (r) => `${r.host.cpu}, load ${r.host.load_average.toFixed(1)}, ${r.date.slice(0, 10)}`
    )
  )
]
process.stderr.write(`from ${results.length} result(s): ${hosts.join('; ')}\n`)
