// `npm run bench:compression`: which archive compression makes the Action faster end to end, measured
// through the real @actions/cache client against the local cache service double (v2: Twirp +
// azurite). For each choice, interleaved: a cold `up` that checkpoints and uploads, then a warm
// `up` on an empty cache directory that downloads and restores. @actions/cache compresses what it
// stores with zstd itself, so `none` is compressed once (by it) and `zstd` twice (by warmstart,
// then again by it, for little gain).
//   none: the parts are plain tars; @actions/cache's download writes the whole plain archive to
//         disk, then warmstart reads it back;
//   zstd: the parts are zstd frames; the download writes the compressed archive, and warmstart
//         decompresses the parts side by side while unpacking them.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCacheDouble } from '../tools/cache-double/server.js'
import { withEnv } from '../tools/cache-double/env.js'
import { down, up } from '../src/engine/engine.js'
import type { Logger } from '../src/logger.js'
import { Podman } from '../src/podman.js'
import { parseSpec } from '../src/spec.js'
import { ActionsCacheStore } from '../src/store/actions-cache.js'
import { repoRoot } from './system.js'

const PORT = 25499
const ROUNDS = Number(process.env.ROUNDS ?? 2)

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: (message) => process.stderr.write(`warning: ${message}\n`),
  group: (_title, work) => work()
}

async function main(): Promise<void> {
  const podman = new Podman()
  const double = await startCacheDouble({ protocol: 'v2' })
  const work = mkdtempSync(join(tmpdir(), 'warmstart-cache-bench-'))
  const rows: string[] = []
  try {
    await withEnv(double.env, async () => {
      for (let round = 1; round <= ROUNDS; round++) {
        for (const compress of ['none', 'zstd'] as const) {
          const name = `warmstart-bench-cache-${compress}`
          const spec = parseSpec({
            image: 'localhost/warmstart/postgres:15',
            name,
            ports: [`${PORT}:${PORT}`],
            env: [`PGPORT=${PORT}`],
            ready: `cmd:pg_isready -q -h 127.0.0.1 -p ${PORT}`,
            warmup: `MIGRATIONS=50 SEED_ROWS=600000 '${join(repoRoot(), 'examples', 'postgres', 'warmup.sh')}'`,
            key: `bench-cache-${compress}-${round}-${Date.now()}`
          })
          const options = { podman, logger: quiet, replace: true, compress, workDir: work }
          // One path for both jobs, as the Action uses (RUNNER_TEMP/warmstart-cache/<name>):
          // @actions/cache's entry version covers the paths it stored.
          const dir = join(work, 'cache', name)
          const cold = await up(spec, { ...options, store: new ActionsCacheStore({ dir }) })
          await down(name, { podman })
          rmSync(dir, { recursive: true, force: true }) // the next job starts on a fresh runner
          const warm = await up(spec, {
            ...options,
            store: new ActionsCacheStore({ dir }),
            checkpoint: false
          })
          rmSync(dir, { recursive: true, force: true })
          await down(name, { podman })
          if (!warm.restored) throw new Error(`${compress}: the warm run did not restore`)
          const t = (n?: number) => (n ?? 0).toFixed(2)
          const row = `| ${compress} | ${round} | ${(cold.checkpointBytes / 2 ** 20).toFixed(0)} MiB | ${t(cold.timings.compress)} s | ${t(cold.timings.store)} s | ${t(warm.timings.lookup)} s | ${t(warm.timings.unpack)} s | ${t(warm.timings.restore)} s | ${t(warm.startupSeconds)} s |`
          process.stderr.write(`${row}\n`)
          rows.push(row)
        }
      }
    })
  } finally {
    await double.stop()
    rmSync(work, { recursive: true, force: true })
  }
  process.stdout.write(
    [
      '| archive | round | size | compress (cold) | upload (cold) | download (warm) | unpack (warm) | restore (warm) | warm up total |',
      '| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
      ...rows
    ].join('\n') + '\n'
  )
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:compression failed: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
