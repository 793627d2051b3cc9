// Entry point of `npm run bench` (compiled to build/bench/bench/main.js). Ctrl-C or SIGTERM
// removes the benchmark's containers and temporary files before exiting. (A container that a
// podman call still in flight creates after that is removed when the scenario next runs: each
// run first removes its own fixed names, warmstart-bench-<scenario>-{cold,datadir,warm}.)
import { runBench, USAGE } from './cli.js'
import { activeCleanups } from './system.js'

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, cleaning up\n`)
    const warn = (line: string): void => void process.stderr.write(`${line}\n`)
    void Promise.all([...activeCleanups].map((cleanup) => cleanup.run(warn))).finally(() =>
      process.exit(130)
    )
  })
}

try {
  await runBench(process.argv.slice(2))
} catch (error) {
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`bench failed: ${message}\n`)
  if (/^(usage|--|unknown|Unknown option)/i.test(message)) process.stderr.write(`${USAGE}\n`)
  process.exitCode = 1
}
