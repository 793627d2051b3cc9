// A real OCI registry for tests and the benchmark: Debian's docker-registry (the open-source
// distribution registry) on loopback, plain HTTP, with htpasswd authentication (bcrypt, written
// by htpasswd from apache2-utils) and deletes enabled, in a directory of its own. Both are
// installed by `npm run setup`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, listening } from '../net.js'

export interface TestRegistry {
  /** host:port, as an oci:// store address and an auth file name it. */
  host: string
  port: number
  /** The user the registry accepts, and its password. */
  username: string
  password: string
  /** Where the registry keeps its blobs and manifests (docker/registry/v2/...). */
  dataDir: string
  /** Stops it (SIGTERM, then SIGKILL); `keepData` leaves the directory for a restart. */
  stop(options?: { keepData?: boolean }): Promise<void>
  /** Starts it again on the same port and data (after a stop with keepData). */
  restart(): Promise<void>
}

export async function startTestRegistry(
  options: { username?: string; password?: string } = {}
): Promise<TestRegistry> {
  for (const tool of ['docker-registry', 'htpasswd']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      throw new Error(
        `${tool} is missing: the registry store's tests need Debian's docker-registry and apache2-utils (npm run setup installs them)`
      )
    }
  }
  const username = options.username ?? 'warmstart'
  const password = options.password ?? 'registry-secret-q9'
  const dir = mkdtempSync(join(tmpdir(), 'warmstart-registry-'))
  const dataDir = join(dir, 'data')
  const htpasswd = spawnSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' })
  if (htpasswd.status !== 0) throw new Error(`htpasswd failed: ${htpasswd.stderr}`)
  writeFileSync(join(dir, 'htpasswd'), htpasswd.stdout, { mode: 0o600 })
  const port = await freePort()
  const config = join(dir, 'config.yml')
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dataDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'auth:',
      '  htpasswd:',
      '    realm: warmstart-test',
      `    path: ${join(dir, 'htpasswd')}`,
      ''
    ].join('\n')
  )
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const started = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
    child = started
    for (let i = 0; i < 200; i++) {
      if (await listening(port)) return
      if (started.exitCode !== null) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    started.kill('SIGKILL')
    throw new Error(`docker-registry did not start listening on 127.0.0.1:${port}`)
  }
  const stopChild = async (): Promise<void> => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGTERM')
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  await start()
  return {
    host: `127.0.0.1:${port}`,
    port,
    username,
    password,
    dataDir,
    restart: start,
    stop: async ({ keepData = false } = {}) => {
      await stopChild()
      if (!keepData) rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** An auth file as `podman login` writes it, for REGISTRY_AUTH_FILE. */
export function writeAuthFile(
  path: string,
  host: string,
  username: string,
  password: string
): void {
  const auth = Buffer.from(`${username}:${password}`).toString('base64')
  writeFileSync(path, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 })
}
