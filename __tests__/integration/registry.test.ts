// The image on a fresh runner: not there yet. A local registry (Debian's docker-registry) serves
// the Redis image; `up` resolves its digest in the registry (skopeo), composes the key from it, and
// pulls it by that digest while the checkpoint is looked up. A cold job, then a job whose image was
// removed again, which restores warm onto the image pulled by digest.
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { listening } from '../../tools/net.js'
import { join } from 'node:path'
import { down, up } from '../../src/engine/engine.js'
import type { Logger } from '../../src/logger.js'
import { Podman } from '../../src/podman.js'
import { runCommand } from '../../src/process.js'
import { parseSpec } from '../../src/spec.js'
import { LocalDirectoryStore } from '../../src/store/local.js'
import { IMAGES, freePort, redisCli, requireHost, tempDir } from './host.js'

// jest gives each test file its own copy of process.env, which child processes do not inherit:
// every command gets the test's registries.conf explicitly.
const registriesConf = () => join(dir.path, 'registries.conf')
const podman = new Podman({
  runner: (argv, options) =>
    runCommand(argv, {
      env: { ...options?.env, CONTAINERS_REGISTRIES_CONF: registriesConf() }
    })
})
const name = 'warmstart-it-registry'
const dir = tempDir('registry')
let registry: ChildProcess | undefined
let registryPort = 0
const savedRegistriesConf = process.env.CONTAINERS_REGISTRIES_CONF

const lines: string[] = []
const logger: Logger = {
  debug: () => undefined,
  info: (message) => void lines.push(message),
  warning: (message) => void lines.push(`warning: ${message}`),
  group: (_title, work) => work()
}

beforeAll(async () => {
  await requireHost(podman, [IMAGES.redis])
  for (const tool of ['docker-registry', 'skopeo']) {
    const found = await new Promise<boolean>((resolve) =>
      spawn('sh', ['-c', `command -v ${tool}`]).once('exit', (code) => resolve(code === 0))
    )
    if (!found) throw new Error(`this test needs ${tool}; run npm run setup`)
  }
  registryPort = await freePort()
  const config = join(dir.path, 'registry.yml')
  writeFileSync(
    config,
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir.path, 'data')}\nhttp:\n  addr: 127.0.0.1:${registryPort}\n`
  )
  registry = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
  for (let i = 0; i < 100 && !(await listening(registryPort)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  if (!(await listening(registryPort))) throw new Error('docker-registry did not start')
  // A plain-HTTP registry on loopback: podman and skopeo read this instead of registries.conf.
  writeFileSync(
    registriesConf(),
    `[[registry]]\nlocation = "127.0.0.1:${registryPort}"\ninsecure = true\n`
  )
  process.env.CONTAINERS_REGISTRIES_CONF = registriesConf()
  await podman.podman(['push', '--quiet', IMAGES.redis, image()])
})

afterAll(async () => {
  await down(name, { podman })
  await podman.attempt(['rmi', image()])
  registry?.kill()
  if (savedRegistriesConf === undefined) delete process.env.CONTAINERS_REGISTRIES_CONF
  else process.env.CONTAINERS_REGISTRIES_CONF = savedRegistriesConf
  dir.remove()
})

const cli = new URL('../../dist/cli/index.js', import.meta.url).pathname

/** The bundled CLI, seeing the test's registry as a user's shell would. */
function warmstart(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('node', [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CONTAINERS_REGISTRIES_CONF: registriesConf() }
  })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

function image(): string {
  return `127.0.0.1:${registryPort}/warmstart/redis:7`
}

test('an image that is not here is pulled by digest while the checkpoint is looked up', async () => {
  const port = await freePort()
  const store = new LocalDirectoryStore({ dir: join(dir.path, 'store') })
  const spec = parseSpec({
    image: image(),
    name,
    ports: [`127.0.0.1:${port}:6379`],
    warmup: 'redis-cli -p "$WARMSTART_PORT" set warmed yes'
  })
  const { digest } = await podman.inspectRemoteImage(image())
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)

  await podman.attempt(['rmi', image()])
  const cold = await up(spec, { podman, store, logger, replace: true })
  expect(cold).toMatchObject({ restored: false, saved: true, warnings: [] })
  expect(lines.join('\n')).toContain(
    `pulling 127.0.0.1:${registryPort}/warmstart/redis@${digest} while the checkpoint is looked up`
  )
  expect(cold.timings.pull).toBeGreaterThan(0)
  expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
  await down(name, { podman })

  // A fresh runner: the image is gone again.
  await podman.podman(['rmi', image()])
  expect(await podman.imageExists(image())).toBe(false)
  const warm = await up(spec, { podman, store, logger, replace: true })
  expect(warm).toMatchObject({ restored: true, cacheHit: true, warnings: [] })
  expect(warm.cacheKey).toBe(cold.cacheKey)
  expect(warm.timings.pull).toBeGreaterThan(0)
  expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
  // The restored container runs the image pulled by the digest the key names.
  const pulled = await podman.inspectImage(image())
  expect(pulled.RepoDigests).toContain(`127.0.0.1:${registryPort}/warmstart/redis@${digest}`)
})

test('a digest that cannot be pulled: the warm job falls back cold, pulling by name, with warnings', async () => {
  // The registry no longer serves the digest (deleted, or pruned), while the name still resolves.
  class DigestGone extends Podman {
    override async pull(reference: string): Promise<void> {
      if (reference.includes('@')) throw new Error(`manifest unknown: ${reference}`)
      await super.pull(reference)
    }
  }
  const gone = new DigestGone({
    runner: (argv, options) =>
      runCommand(argv, {
        env: { ...options?.env, CONTAINERS_REGISTRIES_CONF: registriesConf() }
      })
  })
  const port = await freePort()
  const store = new LocalDirectoryStore({ dir: join(dir.path, 'store-digest-gone') })
  const spec = parseSpec({
    image: image(),
    name,
    ports: [`127.0.0.1:${port}:6379`],
    warmup: 'redis-cli -p "$WARMSTART_PORT" set warmed yes'
  })

  await podman.attempt(['rmi', image()])
  const cold = await up(spec, { podman: gone, store, logger, replace: true })
  expect(cold).toMatchObject({ restored: false, saved: true })
  expect(cold.warnings.join('\n')).toMatch(
    /pulling 127\.0\.0\.1:\d+\/warmstart\/redis:7 by digest failed \(.*manifest unknown.*\); pulling it by name/
  )
  expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
  await down(name, { podman })

  await podman.podman(['rmi', image()])
  const warm = await up(spec, { podman: gone, store, logger, replace: true })
  expect(warm).toMatchObject({ restored: false, cacheHit: true })
  expect(warm.warnings.join('\n')).toMatch(
    /restore from .* failed, starting cold instead: the image could not be pulled by digest/
  )
  expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
})

test('warmstart key equals the cache-key of up: the image here after a push and a retag, and known only from its registry', async () => {
  const port = await freePort()
  const store = join(dir.path, 'store-key')
  const retagged = 'localhost/warmstart/redis-retagged:7'
  const flags = (image: string) => [
    '--image',
    image,
    '--name',
    name,
    '--ports',
    `127.0.0.1:${port}:6379`,
    '--warmup',
    'redis-cli -p "$WARMSTART_PORT" set warmed yes'
  ]
  const keyOf = (image: string): string => {
    const run = warmstart('key', ...flags(image), '--json')
    expect(run.stderr).toBe('')
    return (JSON.parse(run.stdout) as { 'cache-key': string })['cache-key']
  }
  const upKeyOf = (image: string): string => {
    const run = warmstart('up', ...flags(image), '--store', store, '--json', '--replace')
    expect(run.status).toBe(0)
    return (JSON.parse(run.stdout) as { 'cache-key': string })['cache-key']
  }
  // Pushed (it now carries the registry's repository digest beside its own) and retagged.
  await podman.podman(['push', '--quiet', IMAGES.redis, image()])
  await podman.podman(['tag', IMAGES.redis, retagged])
  try {
    const here = keyOf(IMAGES.redis)
    expect(upKeyOf(IMAGES.redis)).toBe(here)
    expect(keyOf(retagged)).toBe(here)
    expect(upKeyOf(retagged)).toBe(here)

    // Only in its registry: composed from what the registry says, without pulling.
    await podman.attempt(['rmi', image()])
    expect(await podman.imageExists(image())).toBe(false)
    const fromRegistry = keyOf(image())
    expect(await podman.imageExists(image())).toBe(false)
    expect(fromRegistry).toBe(here)
    expect(upKeyOf(image())).toBe(here)
  } finally {
    await down(name, { podman })
    await podman.attempt(['rmi', retagged])
  }
})
