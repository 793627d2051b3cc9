// One GitHub Actions job around warmstart's bundles, as the runner runs it: `main`, then the job's
// own steps while the service is up, then `post` with the state main saved, each step with
// INPUT_* variables and fresh runner files (GITHUB_STATE, GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH,
// GITHUB_STEP_SUMMARY). Where a step runs (this machine as a runner-like user, or the runner
// twin) is the Runner's business; this file knows only the protocol between runner and action.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { inputDefaults } from './action-yml.js'

export interface StepResult {
  status: number | null
  stdout: string
}

/** Where a job's steps run. Paths are as the steps see them; `local` maps them for this process. */
export interface Runner {
  /** A new empty directory the runner user owns. */
  makeDir(prefix: string): Promise<string>
  /** Creates an empty file the runner user owns. */
  makeFile(path: string): Promise<void>
  /** `path` (as the steps see it) as this process can read it. */
  local(path: string): string
  /** Runs `node <action>/dist/<bundle>/index.js` as the runner user with exactly `env`. */
  step(bundle: 'main' | 'post', env: Record<string, string>, cwd: string): Promise<StepResult>
}

export interface Job {
  main: StepResult
  post: StepResult
  outputs: Record<string, string>
  summary: string
}

/** The `name<<delimiter ... delimiter` records of a GITHUB_STATE or GITHUB_OUTPUT file. */
export function readCommandFile(path: string): Record<string, string> {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return {}
  }
  const records: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = /^([^<]+)<<(.+)$/.exec(lines[i] as string)
    if (!start) continue
    const value: string[] = []
    while (++i < lines.length && lines[i] !== start[2]) value.push(lines[i] as string)
    records[start[1] as string] = value.join('\n')
  }
  return records
}

/**
 * Runs one job: main, then `during` (the job's own steps), then post with the state main left.
 * `env` is the runner's environment for every step (cache service, RUNNER_TEMP, HOME, ...).
 */
export async function runJob(
  runner: Runner,
  env: Record<string, string>,
  inputs: Record<string, string>,
  during: () => Promise<void> = async () => undefined
): Promise<Job> {
  const files = await runner.makeDir('runner-files')
  const paths = {
    GITHUB_STATE: join(files, 'state'),
    GITHUB_OUTPUT: join(files, 'output'),
    GITHUB_ENV: join(files, 'env'),
    GITHUB_PATH: join(files, 'path'),
    GITHUB_STEP_SUMMARY: join(files, 'summary')
  }
  for (const path of Object.values(paths)) await runner.makeFile(path)
  const inputEnv: Record<string, string> = {}
  for (const [input, value] of Object.entries({ ...inputDefaults(), ...inputs })) {
    inputEnv[`INPUT_${input.toUpperCase()}`] = value
  }
  const stepEnv = {
    ...env,
    ...inputEnv,
    ...paths,
    GITHUB_WORKSPACE: files,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'push'
  }
  const main = await runner.step('main', stepEnv, files)
  await during()
  const state = readCommandFile(runner.local(paths.GITHUB_STATE))
  const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]))
  const post = await runner.step('post', { ...stepEnv, ...stateEnv }, files)
  return {
    main,
    post,
    outputs: readCommandFile(runner.local(paths.GITHUB_OUTPUT)),
    summary: readFileSync(runner.local(paths.GITHUB_STEP_SUMMARY), 'utf8')
  }
}
