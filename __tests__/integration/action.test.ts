// The action end to end, run as the runner runs it: `node dist/main/index.js`, then
// `node dist/post/index.js`, as a non-root user with passwordless sudo (GitHub's `runner`; here
// warmstart-runner, see runnerAccount), with INPUT_* variables, the GITHUB_STATE / GITHUB_OUTPUT /
// GITHUB_STEP_SUMMARY files, and the cache variables pointing at the local cache service double.
// Every root-only step (podman, the archives podman writes, volumes, tmpfs, clean-up) goes
// through `sudo -n`, as on a runner.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  readdirSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import { runJob as runJobOn, type Job, type Runner, type StepResult } from '../runner-job.js'
import { childEnv } from '../../tools/cache-double/env.js'
import { startCacheDouble, type CacheDouble } from '../../tools/cache-double/server.js'
import { startTestRegistry } from '../../tools/registry/server.js'
import { parseOciLocation } from '../../src/store/oci/artifact.js'
import { OciRegistryStore } from '../../src/store/oci-registry.js'
import { down } from '../../src/engine/engine.js'
import { Podman } from '../../src/podman.js'
import {
  IMAGES,
  freePort,
  redisCli,
  requireHost,
  runnerAccount,
  tempDir,
  type RunnerAccount
} from './host.js'

const root = new URL('../..', import.meta.url).pathname
const podman = new Podman()
const name = 'warmstart-it-action'
const dirs: Array<{ remove: () => void }> = []
let runner: RunnerAccount
/** A copy of the bundles and scripts the runner user can read, wherever this checkout is. */
let actionDir: string

/** A temporary directory the runner user owns, as the runner's own directories are. */
function runnerDir(prefix: string): { path: string; remove: () => void } {
  const dir = tempDir(prefix)
  dirs.push(dir)
  chownSync(dir.path, runner.uid, runner.gid)
  return dir
}

/** Steps run here, as the runner user, through node's own binary. */
const here: Runner = {
  makeDir: async (prefix) => runnerDir(prefix).path,
  makeFile: async (path) => {
    writeFileSync(path, '')
    chownSync(path, runner.uid, runner.gid)
  },
  local: (path) => path,
  // Asynchronous: the cache double answers from this very process.
  step: (bundle, env, cwd) =>
    new Promise<StepResult>((resolve, reject) => {
      const asRunner = process.getuid?.() === 0 ? { uid: runner.uid, gid: runner.gid } : {}
      const child = spawn(process.execPath, [join(actionDir, 'dist', bundle, 'index.js')], {
        env,
        cwd,
        ...asRunner
      })
      let stdout = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stderr.on('data', (chunk) => (stdout += chunk))
      child.on('error', reject)
      child.on('close', (status) => resolve({ status, stdout }))
    })
}

/** One job here: the runner's environment is this process's, with the cache double's variables. */
function runJob(
  double: CacheDouble,
  runnerTemp: string,
  inputs: Record<string, string>,
  during?: () => Promise<void>
): Promise<Job> {
  const env = {
    ...(childEnv(double.env) as Record<string, string>),
    RUNNER_TEMP: runnerTemp,
    HOME: runner.home,
    USER: runner.name
  }
  return runJobOn(here, env, inputs, during)
}

function redisInputs(port: number, key: string): Record<string, string> {
  return {
    image: IMAGES.redis,
    name,
    ports: `127.0.0.1:${port}:6379`,
    env: 'SERVICE_PASSWORD=hunter2-not-logged',
    // A warm-up that takes a while, as real ones do, and leaves data behind.
    warmup: 'sleep 2; redis-cli -p "$WARMSTART_PORT" set warmed-by "the cold job"',
    key
  }
}

beforeAll(async () => {
  await requireHost(podman, [IMAGES.redis])
  await down(name, { podman })
  runner = await runnerAccount()
  const copy = tempDir('action')
  dirs.push(copy)
  actionDir = copy.path
  chmodSync(actionDir, 0o755)
  for (const part of ['dist', 'scripts']) {
    cpSync(join(root, part), join(actionDir, part), { recursive: true })
  }
})

afterEach(async () => {
  await down(name, { podman })
})

afterAll(() => {
  for (const dir of dirs) dir.remove()
})

describe.each(['v2', 'v1'] as const)('the action over the %s cache protocol', (protocol) => {
  let double: CacheDouble
  beforeAll(async () => {
    double = await startCacheDouble({ protocol })
  })
  afterAll(async () => {
    await double.stop()
  })

  test('a cold job saves its checkpoint in post; a fresh job restores it warm', async () => {
    const runnerTemp = runnerDir('runner-temp')
    const port = await freePort()
    const inputs = redisInputs(port, `${protocol}-roundtrip`)

    // While the job's steps run: what main staged for post belongs to the runner user (podman
    // wrote the archive as root, through sudo; warmstart handed it over for the upload).
    const staged: Array<{ file: string; uid: number }> = []
    const cold = await runJob(double, runnerTemp.path, inputs, async () => {
      const cacheDir = join(runnerTemp.path, 'warmstart-cache')
      for (const file of readdirSync(cacheDir, { recursive: true }).map(String)) {
        staged.push({ file, uid: statSync(join(cacheDir, file)).uid })
      }
    })
    expect(cold.main.status).toBe(0)
    expect(cold.post.status).toBe(0)
    expect(staged.length).toBeGreaterThan(0)
    expect(staged.filter((entry) => entry.uid !== runner.uid)).toEqual([])
    expect(cold.outputs).toMatchObject({
      'cache-hit': 'false',
      restored: 'false',
      'container-name': name
    })
    expect(Number(cold.outputs['checkpoint-bytes'])).toBeGreaterThan(0)
    expect(cold.post.stdout).toMatch(/saved .* under warmstart-warmstart-it-action-/)
    const entries = await double.entries()
    expect(entries.map((entry) => entry.key)).toContain(cold.outputs['cache-key'])
    expect(cold.summary).toMatch(/started cold: no checkpoint for this key/)
    expect(cold.summary).toMatch(/expected saving/)
    // Post removed the container and every temporary directory.
    expect(await podman.containerExists(name)).toBe(false)
    expect(existsSync(join(runnerTemp.path, 'warmstart-cache'))).toBe(false)
    expect(existsSync(join(runnerTemp.path, 'warmstart-work'))).toBe(false)
    // The value appears once, in the command that tells the runner to mask it, and nowhere else.
    const logged = (cold.main.stdout + cold.post.stdout).replace(/^::add-mask::.*$/m, '')
    expect(cold.main.stdout).toMatch(/^::add-mask::hunter2-not-logged$/m)
    expect(logged).not.toContain('hunter2-not-logged')

    // The same inputs in a fresh job: the container is gone, the cache holds the checkpoint.
    let served = ''
    const warm = await runJob(double, runnerTemp.path, inputs, async () => {
      served = await redisCli(port, 'get', 'warmed-by')
    })
    expect(warm.main.status).toBe(0)
    expect(warm.outputs).toMatchObject({
      'cache-hit': 'true',
      restored: 'true',
      'cache-key': cold.outputs['cache-key']
    })
    expect(served).toBe('the cold job')
    expect(Number(warm.outputs['startup-seconds'])).toBeLessThan(
      Number(cold.outputs['startup-seconds'])
    )
    expect(warm.summary).toMatch(/restored from a checkpoint/)
    expect(warm.post.status).toBe(0)
    expect(await podman.containerExists(name)).toBe(false)
  })

  test('save: false starts cold, makes no checkpoint and writes nothing', async () => {
    const runnerTemp = runnerDir('runner-temp')
    const before = (await double.entries()).length
    const job = await runJob(double, runnerTemp.path, {
      ...redisInputs(await freePort(), `${protocol}-no-save`),
      save: 'false'
    })
    expect(job.main.status).toBe(0)
    expect(job.post.status).toBe(0)
    expect(job.outputs).toMatchObject({ restored: 'false', 'checkpoint-bytes': '0' })
    expect(job.main.stdout).toMatch(/this run does not write the GitHub Actions cache: save: false/)
    expect((await double.entries()).length).toBe(before)
  })
})

describe('cache service faults never fail a job whose service starts cold', () => {
  // v1 answers faults at once; v2's client retries them for half a minute each.
  let double: CacheDouble
  beforeAll(async () => {
    double = await startCacheDouble({ protocol: 'v1' })
  })
  afterAll(async () => {
    await double.stop()
  })

  test('a lookup error: cold start with a warning', async () => {
    const runnerTemp = runnerDir('runner-temp')
    const port = await freePort()
    double.faults.lookup = 'error500'
    let served = ''
    const job = await runJob(
      double,
      runnerTemp.path,
      redisInputs(port, 'fault-lookup'),
      async () => {
        served = await redisCli(port, 'get', 'warmed-by')
      }
    )
    double.faults.lookup = undefined
    expect(job.main.status).toBe(0)
    expect(job.post.status).toBe(0)
    expect(job.outputs.restored).toBe('false')
    expect(served).toBe('the cold job')
    expect(job.main.stdout).toMatch(/::warning::/)
  })

  test('a truncated download: detected, cold start, and the job passes', async () => {
    const runnerTemp = runnerDir('runner-temp')
    const port = await freePort()
    const inputs = redisInputs(port, 'fault-download')
    const cold = await runJob(double, runnerTemp.path, inputs)
    expect(cold.outputs['cache-hit']).toBe('false')
    double.faults.download = 'truncate'
    let served = ''
    const job = await runJob(double, runnerTemp.path, inputs, async () => {
      served = await redisCli(port, 'get', 'warmed-by')
    })
    double.faults.download = undefined
    expect(job.main.status).toBe(0)
    expect(job.outputs.restored).toBe('false')
    expect(served).toBe('the cold job')
    expect(job.main.stdout).toMatch(/::warning::/)
    expect(job.post.status).toBe(0)
  })

  test('an upload error: a warning in post, and the job passes', async () => {
    const runnerTemp = runnerDir('runner-temp')
    double.faults.upload = 'quota'
    const job = await runJob(double, runnerTemp.path, redisInputs(await freePort(), 'fault-upload'))
    double.faults.upload = undefined
    expect(job.main.status).toBe(0)
    expect(job.post.status).toBe(0)
    expect(job.post.stdout).toMatch(/::warning::the checkpoint was not saved/)
    expect(job.summary).toMatch(/saved.*no:/s)
  })
})

test('a failing warm-up fails the step with its reason; post leaves nothing behind', async () => {
  const double = await startCacheDouble({ protocol: 'v1' })
  try {
    const runnerTemp = runnerDir('runner-temp')
    const job = await runJob(double, runnerTemp.path, {
      ...redisInputs(await freePort(), 'failing-warmup'),
      warmup: 'echo migration 7 failed; exit 4'
    })
    expect(job.main.status).toBe(1)
    expect(job.main.stdout).toMatch(/::error::the warm-up failed with exit code 4/)
    expect(job.main.stdout).toMatch(/migration 7 failed/)
    expect(job.post.status).toBe(0)
    expect(job.summary).toBe('')
    expect(await podman.containerExists(name)).toBe(false)
    expect(existsSync(join(runnerTemp.path, 'warmstart-work'))).toBe(false)
    expect(await double.entries()).toEqual([])
  } finally {
    await double.stop()
  }
})

test('without a cache service the service starts cold with a warning', async () => {
  const runnerTemp = runnerDir('runner-temp')
  const port = await freePort()
  const noService = {
    env: { ACTIONS_CACHE_URL: '', ACTIONS_RESULTS_URL: '', ACTIONS_CACHE_SERVICE_V2: '' }
  } as unknown as CacheDouble
  const job = await runJob(noService, runnerTemp.path, redisInputs(port, 'no-service'))
  expect(job.main.status).toBe(0)
  expect(job.outputs.restored).toBe('false')
  expect(job.main.stdout).toMatch(/::warning::the GitHub Actions cache service is not available/)
})

test('a registry as the store: the cold job pushes in post, a fresh job restores warm from it', async () => {
  const registry = await startTestRegistry()
  try {
    const runnerTemp = runnerDir('runner-temp')
    const port = await freePort()
    // No Actions cache service at all: the registry is the only store.
    const noCache = {
      env: { ACTIONS_CACHE_URL: '', ACTIONS_RESULTS_URL: '', ACTIONS_CACHE_SERVICE_V2: '' }
    } as unknown as CacheDouble
    const store = `oci://${registry.host}/warmstart/action`
    const inputs = {
      ...redisInputs(port, 'registry-store'),
      store,
      'registry-token': registry.password
    }
    const withActor = (during?: () => Promise<void>): Promise<Job> =>
      runJobOn(
        here,
        {
          ...(childEnv(noCache.env) as Record<string, string>),
          RUNNER_TEMP: runnerTemp.path,
          HOME: runner.home,
          USER: runner.name,
          GITHUB_ACTOR: registry.username
        },
        inputs,
        during
      )

    const cold = await withActor()
    expect(cold.main.status).toBe(0)
    expect(cold.post.status).toBe(0)
    expect(cold.outputs).toMatchObject({ restored: 'false' })
    expect(cold.post.stdout).toMatch(/saved .* under warmstart-warmstart-it-action-/)
    // The token is masked, and never printed otherwise.
    expect(cold.main.stdout).toMatch(new RegExp(`^::add-mask::${registry.password}$`, 'm'))
    const logged = (cold.main.stdout + cold.post.stdout).replace(/^::add-mask::.*$/gm, '')
    expect(logged).not.toContain(registry.password)
    expect(existsSync(join(runnerTemp.path, 'warmstart-cache'))).toBe(false)
    const entries = await new OciRegistryStore({
      location: parseOciLocation(store),
      credentials: { username: registry.username, password: registry.password }
    }).list()
    expect(entries.map((entry) => entry.key)).toEqual([cold.outputs['cache-key']])

    let served = ''
    const warm = await withActor(async () => {
      served = await redisCli(port, 'get', 'warmed-by')
    })
    expect(warm.main.status).toBe(0)
    expect(warm.outputs).toMatchObject({ 'cache-hit': 'true', restored: 'true' })
    expect(served).toBe('the cold job')
    expect(warm.post.status).toBe(0)
    expect(await podman.containerExists(name)).toBe(false)
    expect(existsSync(join(runnerTemp.path, 'warmstart-cache'))).toBe(false)
  } finally {
    await registry.stop()
  }
})
