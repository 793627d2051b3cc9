// The Action on the runner twin (scripts/twin.sh): Debian sid's podman 5.8, runc 1.3, CRIU 4.2.1
// and Node 24, as user `runner` with passwordless sudo, each job on a fresh twin prepared from its
// bare state by `install: true`, exactly the bundles a workflow runs (`node dist/main/index.js`,
// then `dist/post`), and the cache service double on this machine as the Actions cache. A cold
// job saves the checkpoint and the packages install fetched; a warm job on another fresh twin
// installs from those packages without `apt-get update` and restores the service warm, with its
// data read back by the job's own step as `runner`. Nothing is left running or mounted.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile, spawn } from 'node:child_process'
import {
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmdirSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { startCacheDouble, type CacheDouble } from '../../tools/cache-double/server.js'
import { freePort } from '../integration/host.js'
import { runJob, type Job, type Runner, type StepResult } from '../runner-job.js'

const run = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname
const twinScript = join(root, 'scripts', 'twin.sh')
/** The image the twin's jobs run: carried in as a runner would have pulled it. */
const IMAGE = 'localhost/warmstart/redis:7'
const RUNNER_UID = 1001
const ACTION = '/home/runner/work/_actions/warmstart/warmstart/local'
const RUNNER_TEMP = '/home/runner/work/_temp'
const NAME = 'warmstart-twin-redis'

async function twin(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [twinScript, ...args], { maxBuffer: 64 << 20 })
  return stdout
}

/** One runner VM: a fresh twin session with the action checked out and the image pulled. */
class TwinSession implements Runner {
  private count = 0
  private constructor(
    readonly dir: string,
    private readonly rootPath: string
  ) {}

  static async start(): Promise<TwinSession> {
    const dir = join(mkdtempSync(join(tmpdir(), 'warmstart-twin-')), 'session')
    await twin('start', dir)
    const session = new TwinSession(dir, (await twin('root', dir)).trim())
    await twin('load', dir, IMAGE)
    // The action's checkout, owned by runner, where a workflow's `uses:` puts it.
    for (const part of ['dist', 'scripts', 'action.yml']) {
      cpSync(join(root, part), session.local(join(ACTION, part)), { recursive: true })
    }
    await session.ownDir(ACTION)
    mkdirSync(session.local(RUNNER_TEMP), { recursive: true })
    await session.ownDir('/home/runner/work')
    return session
  }

  local(path: string): string {
    return join(this.rootPath, path)
  }

  async makeDir(prefix: string): Promise<string> {
    const path = join(RUNNER_TEMP, `${prefix}-${++this.count}`)
    mkdirSync(this.local(path), { recursive: true })
    chownSync(this.local(path), RUNNER_UID, RUNNER_UID)
    return path
  }

  async makeFile(path: string): Promise<void> {
    writeFileSync(this.local(path), '')
    chownSync(this.local(path), RUNNER_UID, RUNNER_UID)
  }

  /** As the runner runs a step: only the given environment, the runner user, the job's Node. */
  step(bundle: 'main' | 'post', env: Record<string, string>, cwd: string): Promise<StepResult> {
    const envArgs = Object.entries(env).flatMap(([name, value]) => ['--env', `${name}=${value}`])
    return new Promise((resolve, reject) => {
      // Asynchronous: the cache double answers from this very process.
      const child = spawn('bash', [
        twinScript,
        'exec',
        this.dir,
        '--user',
        'runner',
        '--cwd',
        cwd,
        ...envArgs,
        '--',
        'node',
        join(ACTION, 'dist', bundle, 'index.js')
      ])
      let stdout = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stderr.on('data', (chunk) => (stdout += chunk))
      child.on('error', reject)
      child.on('close', (status) => resolve({ status, stdout }))
    })
  }

  /** A command in the twin as `runner`, as a workflow's `run:` step runs it. */
  async asRunner(...command: string[]): Promise<string> {
    return twin('exec', this.dir, '--user', 'runner', '--', ...command)
  }

  async asRoot(...command: string[]): Promise<string> {
    return twin('exec', this.dir, '--', ...command)
  }

  private async ownDir(path: string): Promise<void> {
    await run('chown', ['-R', `${RUNNER_UID}:${RUNNER_UID}`, this.local(path)])
  }

  async stop(): Promise<void> {
    await twin('stop', this.dir)
    // The session's parent, from mkdtemp, is empty once the twin stopped; rmdir (never rm -r: a
    // twin that failed to stop may still have mounts below) leaves it when it is not.
    try {
      rmdirSync(dirname(this.dir))
    } catch {
      // Not empty: the twin's own stop said what went wrong.
    }
  }
}

/** What the job left inside the twin: containers, and mounts of podman's or warmstart's. */
async function leftovers(session: TwinSession): Promise<{ containers: string; mounts: string[] }> {
  const containers = (await session.asRoot('podman', 'ps', '-aq')).trim()
  const mounts = (await session.asRoot('findmnt', '-rn', '-o', 'TARGET'))
    .split('\n')
    .filter((target) => /containers\/storage\/overlay\/|warmstart/.test(target))
  return { containers, mounts }
}

/** The `install: the runner was prepared in N s` line of the action, as seconds. */
function installSeconds(log: string): number | undefined {
  const match = /install: the runner was prepared in ([\d.]+) s/.exec(log)
  return match ? Number(match[1]) : undefined
}

/** With WARMSTART_TWIN_LOGS=DIR, each job's main and post output is kept there to read. */
function keepLog(name: string, job: Job): void {
  const dir = process.env.WARMSTART_TWIN_LOGS
  if (!dir) return
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${name}.log`), `${job.main.stdout}\n--- post ---\n${job.post.stdout}`)
}

let double: CacheDouble
const sessions: TwinSession[] = []

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error('the runner twin needs root: run `sudo npm run test:twin`')
  for (const command of ['debootstrap', 'skopeo', 'unshare', 'nsenter', 'podman']) {
    await run('sh', ['-c', `command -v ${command}`]).catch(() => {
      throw new Error(`the runner twin needs ${command}: run \`npm run setup\` first`)
    })
  }
  await run('podman', ['image', 'exists', IMAGE]).catch(() => {
    throw new Error(`the runner twin carries in ${IMAGE}: run \`npm run images\` first`)
  })
  // Built once and cached; rebuilt when its recipe in scripts/twin.sh changes.
  await twin('build')
  double = await startCacheDouble({ protocol: 'v2' })
}, 600_000)

afterAll(async () => {
  try {
    for (const session of sessions) await session.stop()
  } finally {
    await double?.stop()
  }
})

describe('the runner twin', () => {
  test('a cold job on a bare twin, then a warm job on another: restored, data read as runner', async () => {
    const port = await freePort()
    const inputs = {
      image: IMAGE,
      name: NAME,
      ports: `127.0.0.1:${port}:6379`,
      install: 'true',
      warmup: 'sleep 1; redis-cli -p "$WARMSTART_PORT" set warmed-by "the cold job"',
      key: 'twin'
    }
    // A runner's environment: its own variables and the cache service's, nothing of this machine's.
    const env: Record<string, string> = {
      // The cache service's variables first: the double also names a RUNNER_TEMP of this machine.
      ...Object.fromEntries(Object.entries(double.env).filter(([, value]) => value !== '')),
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/home/runner',
      USER: 'runner',
      RUNNER_TEMP,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      CI: 'true'
    }

    // --- The cold job, on a bare twin -------------------------------------------------------
    const cold = await TwinSession.start()
    sessions.push(cold)
    const bare = await twin('versions', cold.dir)
    expect(bare).toMatch(/^podman not installed$/m)
    let coldRead = ''
    const coldJob = await runJob(cold, env, inputs, async () => {
      coldRead = (await cold.asRunner('redis-cli', '-p', String(port), 'get', 'warmed-by')).trim()
    })
    keepLog('cold', coldJob)
    const versions = await twin('versions', cold.dir)
    console.log(`runner twin:\n${versions}`)
    expect(coldJob.main.stdout).toMatch(/install: installing podman, runc, CRIU >= 4\.2/)
    expect(coldJob.main.stdout).toMatch(/install: criu 4\.2\.\S+ from archive dumps a TCP listener/)
    expect(coldJob.main.stdout).toMatch(
      /install: cached the fetched packages as warmstart-packages-v1-debian-/
    )
    // The second script run found the lists the policy read had just refreshed.
    expect(coldJob.main.stdout.match(/install: apt-get update/g)).toHaveLength(1)
    expect(coldJob.main.status).toBe(0)
    expect(coldJob.outputs).toMatchObject({ 'cache-hit': 'false', restored: 'false' })
    expect(coldRead).toBe('the cold job')
    expect(coldJob.post.status).toBe(0)
    expect(coldJob.post.stdout).toMatch(/saved .* under warmstart-/)
    expect(await leftovers(cold)).toEqual({ containers: '', mounts: [] })
    expect(versions).toMatch(/^podman 5\./m)
    expect(versions).toMatch(/^criu 4\.2/m)
    expect(versions).toMatch(/^node v24\./m)
    await cold.stop()
    expect(existsSync(cold.dir)).toBe(false)

    // --- The warm job, on another bare twin -------------------------------------------------
    const warm = await TwinSession.start()
    sessions.push(warm)
    let warmRead = ''
    const warmJob = await runJob(warm, env, inputs, async () => {
      warmRead = (await warm.asRunner('redis-cli', '-p', String(port), 'get', 'warmed-by')).trim()
    })
    keepLog('warm', warmJob)
    expect(warmJob.main.stdout).toMatch(
      /install: packages from the Actions cache .*no apt-get update/
    )
    expect(warmJob.main.stdout).not.toMatch(/install: apt-get update/)
    expect(warmJob.main.status).toBe(0)
    expect(warmJob.outputs).toMatchObject({
      'cache-hit': 'true',
      restored: 'true',
      'cache-key': coldJob.outputs['cache-key']
    })
    expect(warmRead).toBe('the cold job')
    // Through warmstart's runtime wrapper, which install put in place: the CRIU images were
    // unpacked in memory and podman was handed the slim archive.
    expect(warmJob.main.stdout).toMatch(
      /podman container restore --import \/dev\/shm\/warmstart-images\/restore\.\w+\/slim\.tar/
    )
    expect(warmJob.post.status).toBe(0)
    expect(await leftovers(warm)).toEqual({ containers: '', mounts: [] })
    console.log(
      [
        `runner twin: install took ${installSeconds(coldJob.main.stdout)} s on the cold job (apt),`,
        `${installSeconds(warmJob.main.stdout)} s on the warm job (cached packages);`,
        `startup-seconds cold ${coldJob.outputs['startup-seconds']}, warm ${warmJob.outputs['startup-seconds']}`
      ].join(' ')
    )
    await warm.stop()
    expect(existsSync(warm.dir)).toBe(false)
  }, 900_000)
})
