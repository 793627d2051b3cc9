// Small process helpers for the benchmark: shell scripts, timing, free ports, and a clean-up
// list that runs on success, failure and (through main.ts) Ctrl-C.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describeFailure, runCommand } from '../src/process.js'

export { freePort } from '../tools/net.js'

/** Runs a bash script with `pipefail`, arguments as $1..; resolves with its stdout. */
export async function bash(script: string, args: string[] = []): Promise<string> {
  const result = await runCommand(['bash', '-o', 'pipefail', '-c', script, 'bash', ...args])
  if (result.exitCode !== 0) {
    throw new Error(describeFailure(`\`${script}\``, result.exitCode, result.stderr))
  }
  return result.stdout
}

/** Runs `work`; resolves with its value and the seconds it took. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now()
  const value = await work()
  return { value, seconds: (performance.now() - start) / 1000 }
}

/** The repository's root: the nearest directory above this module with a package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'examples'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the repository root above the bench module')
    dir = parent
  }
  return dir
}

/** Clean-up steps, run last in, first out; every step runs even when one fails. */
export class Cleanup {
  private readonly steps: Array<{ label: string; step: () => unknown }> = []
  private ran?: Promise<void>

  add(label: string, step: () => unknown): void {
    this.steps.push({ label, step })
  }

  /** Runs the steps once (later calls wait for the first); reports failures through `warn`. */
  run(warn: (message: string) => void): Promise<void> {
    this.ran ??= (async () => {
      for (const { label, step } of this.steps.reverse()) {
        try {
          await step()
        } catch (error) {
          warn(`clean-up: ${label} failed: ${(error as Error).message}`)
        }
      }
    })()
    return this.ran
  }
}

/** The clean-ups of the runs in progress, for main.ts to run on SIGINT and SIGTERM. */
export const activeCleanups = new Set<Cleanup>()
