#!/usr/bin/env node
// `npm run demo`: warmstart's main job, end to end, on the embedded default (a local store).
// Runs PostgreSQL with a real warm-up (migrations, seed data, indexes, ANALYZE) cold, removes it,
// runs it again warm from the store, checks both answer the same query the same way, and prints
// cold seconds, warm seconds, speed-up and archive size. Needs `npm run setup` and
// `npm run images` (the npm script runs them first).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'dist', 'cli', 'index.js')
const specFile = join(root, 'examples', 'postgres', 'spec.json')
const spec = JSON.parse(readFileSync(specFile, 'utf8'))
const port = Number(spec.ports[0].split(':')[0])
const store = mkdtempSync(join(tmpdir(), 'warmstart-demo-store-'))

function warmstart(...args) {
  // Progress goes to the terminal (stderr); the outputs come back as JSON on stdout.
  const run = spawnSync('node', [cli, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8'
  })
  if (run.status !== 0) throw new Error(`warmstart ${args.join(' ')} exited with ${run.status}`)
  return run.stdout.trim() ? JSON.parse(run.stdout) : undefined
}

function query() {
  const sql = 'SELECT count(*), sum(total), count(DISTINCT account_id) FROM orders'
  return execFileSync(
    'psql',
    ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-XAtc', sql],
    {
      encoding: 'utf8'
    }
  ).trim()
}

function phases(timings) {
  return Object.entries(timings)
    .map(([phase, seconds]) => `${phase} ${seconds.toFixed(1)} s`)
    .join(', ')
}

try {
  console.error(`\n### Cold run: start PostgreSQL, warm it up, checkpoint it into ${store}\n`)
  const cold = warmstart('up', '--spec', specFile, '--store', store, '--replace', '--json')
  const coldAnswer = query()
  warmstart('down', spec.name)

  console.error('\n### Warm run: the same service, restored from its checkpoint\n')
  const warm = warmstart('up', '--spec', specFile, '--store', store, '--json')
  const warmAnswer = query()
  warmstart('down', spec.name)

  const rows = [
    ['cold start + warm-up', `${cold['startup-seconds'].toFixed(1)} s`],
    ['warm restore', `${warm['startup-seconds'].toFixed(1)} s`],
    ['speed-up', `${(cold['startup-seconds'] / warm['startup-seconds']).toFixed(1)}x`],
    [
      'checkpoint made on the cold run',
      `${['checkpoint', 'volumes', 'resume', 'compress', 'assemble', 'store']
        .reduce((sum, phase) => sum + (cold.timings[phase] ?? 0), 0)
        .toFixed(1)} s`
    ],
    ['warm phases', phases(warm.timings)],
    ['cold phases', phases(cold.timings)],
    ['archive size', `${(cold['checkpoint-bytes'] / 1024 ** 2).toFixed(1)} MiB`],
    [
      'same answer both times',
      coldAnswer === warmAnswer ? `yes (${warmAnswer})` : `NO: ${coldAnswer} vs ${warmAnswer}`
    ]
  ]
  console.log('\n| warmstart demo: PostgreSQL 15 | |\n| --- | --- |')
  for (const [name, value] of rows) console.log(`| ${name} | ${value} |`)
  if (!warm.restored) throw new Error('the warm run did not restore from the checkpoint')
  if (coldAnswer !== warmAnswer) throw new Error('the warm run answered differently')
} catch (error) {
  console.error(`demo failed: ${error.message}`)
  process.exitCode = 1
} finally {
  spawnSync('node', [cli, 'down', spec.name], { stdio: 'ignore' })
  rmSync(store, { recursive: true, force: true })
}
