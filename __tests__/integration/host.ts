// Shared by the integration tests: what the host must have, service clients, and clean-up.
// These tests use the real thing: podman, CRIU and the service images of `npm run images`,
// reached through the real clients (redis-cli, mariadb, psql).
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Podman } from '../../src/podman.js'

const run = promisify(execFile)

export const IMAGES = {
  redis: 'localhost/warmstart/redis:7',
  mariadb: 'localhost/warmstart/mariadb:10.11',
  postgres: 'localhost/warmstart/postgres:15',
  memcached: 'localhost/warmstart/memcached:1.6',
  tomcat: 'localhost/warmstart/tomcat:10',
  /** Like the official images: root in the image, gosu to the service's user at start. */
  postgresOfficial: 'localhost/warmstart/postgres-official:15',
  redisOfficial: 'localhost/warmstart/redis-official:7',
  mariadbOfficial: 'localhost/warmstart/mariadb-official:10.11'
} as const

const SET_UP = 'run `sudo npm run setup && sudo npm run images` first'

/** Fails (never skips) with what is missing when the host cannot run these tests. */
export async function requireHost(
  podman: Podman,
  images: string[] = Object.values(IMAGES)
): Promise<void> {
  if (process.getuid?.() !== 0) {
    const sudo = await run('sudo', ['-n', 'true']).then(
      () => true,
      () => false
    )
    if (!sudo)
      throw new Error(
        `integration tests need root or passwordless sudo for rootful podman; ${SET_UP}`
      )
  }
  const missing: string[] = []
  for (const tool of ['podman', 'redis-cli', 'mariadb', 'psql']) {
    const found = await run('sh', ['-c', `command -v ${tool}`]).then(
      () => true,
      () => false
    )
    if (!found) missing.push(tool)
  }
  const criu = await run('sh', ['-c', 'PATH=/usr/local/sbin:$PATH criu check']).then(
    () => true,
    () => false
  )
  if (!criu) missing.push('a CRIU that passes `criu check`')
  if (missing.length) throw new Error(`integration tests need ${missing.join(', ')}; ${SET_UP}`)
  for (const image of images) {
    if (!(await podman.imageExists(image))) throw new Error(`image ${image} is missing; ${SET_UP}`)
  }
}

export { freePort } from '../../tools/net.js'

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `warmstart-test-${prefix}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])
  return stdout.trim()
}

export async function mariadb(port: number, sql: string): Promise<string> {
  const { stdout } = await run('mariadb', [
    '-h',
    '127.0.0.1',
    '-P',
    String(port),
    '-uroot',
    '--batch',
    '--skip-column-names',
    '-e',
    sql
  ])
  return stdout.trim()
}

export async function psql(port: number, sql: string): Promise<string> {
  const { stdout } = await run('psql', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
    '-X',
    '-v',
    'ON_ERROR_STOP=1',
    '-Atc',
    sql
  ])
  return stdout.trim()
}

/** Retries `probe` until it succeeds or `seconds` pass; then throws its last error. */
export async function eventually<T>(probe: () => Promise<T>, seconds = 30): Promise<T> {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    try {
      return await probe()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

/** The user the Action's end-to-end tests run its bundles as. */
export interface RunnerAccount {
  name: string
  uid: number
  gid: number
  home: string
}

const RUNNER = 'warmstart-runner'
const RUNNER_SUDOERS = `/etc/sudoers.d/${RUNNER}`

/**
 * A non-root user with passwordless sudo, as every step on GitHub's hosted runners runs (user
 * `runner`, `NOPASSWD:ALL`, sudo's env_reset and secure_path): as root, warmstart-runner is
 * made once, with a sudoers drop-in like the runners'; as another user, that user, who must have
 * passwordless sudo already. Fails with what is missing.
 */
export async function runnerAccount(): Promise<RunnerAccount> {
  const id = async (flag: string, user?: string) =>
    Number((await run('id', [flag, ...(user ? [user] : [])])).stdout.trim())
  if (process.getuid?.() !== 0) {
    const name = (await run('id', ['-un'])).stdout.trim()
    return { name, uid: await id('-u'), gid: await id('-g'), home: process.env.HOME ?? '/tmp' }
  }
  const sudo = await run('sh', ['-c', 'command -v sudo && command -v visudo']).catch(
    () => undefined
  )
  if (!sudo) throw new Error(`the Action's end-to-end tests need sudo; ${SET_UP}`)
  const exists = await run('id', ['-u', RUNNER]).then(
    () => true,
    () => false
  )
  if (!exists) await run('useradd', ['--create-home', '--shell', '/bin/bash', RUNNER])
  const sudoers = [
    `# Written by warmstart's tests (__tests__/integration/host.ts): a user like GitHub's runner.`,
    `Defaults:${RUNNER} env_reset`,
    `Defaults:${RUNNER} secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"`,
    `${RUNNER} ALL=(ALL) NOPASSWD:ALL`,
    ''
  ].join('\n')
  const current = await readFile(RUNNER_SUDOERS, 'utf8').catch(() => '')
  if (current !== sudoers) {
    const draft = `${RUNNER_SUDOERS}.tmp`
    await writeFile(draft, sudoers, { mode: 0o440 })
    await run('visudo', ['-cf', draft])
    await rename(draft, RUNNER_SUDOERS)
  }
  const home = (await run('getent', ['passwd', RUNNER])).stdout.split(':')[5] ?? '/tmp'
  return { name: RUNNER, uid: await id('-u', RUNNER), gid: await id('-g', RUNNER), home }
}
