// The bundled command line (dist/cli) runs the same engine: a cold and a warm `up` for Redis,
// `ls`, `key`, `down` and `prune`, as a user would type them.
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { down } from '../../src/engine/engine.js'
import { Podman } from '../../src/podman.js'
import { IMAGES, freePort, redisCli, requireHost, tempDir } from './host.js'

const cli = new URL('../../dist/cli/index.js', import.meta.url).pathname
const podman = new Podman()
const name = 'warmstart-it-cli'
const store = tempDir('cli-store')

function warmstart(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('node', [cli, ...args], { encoding: 'utf8' })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

beforeAll(async () => {
  await requireHost(podman, [IMAGES.redis])
  await down(name, { podman })
})

afterAll(async () => {
  await down(name, { podman })
  store.remove()
})

test('up cold, down, up warm, ls, key, prune through the bundled CLI', async () => {
  const port = await freePort()
  const service = [
    '--image',
    IMAGES.redis,
    '--name',
    name,
    '--ports',
    `127.0.0.1:${port}:6379`,
    '--env',
    'NOT_PRINTED=s3cret-value',
    '--warmup',
    'redis-cli -p "$WARMSTART_PORT" set from-warmup yes'
  ]
  const storeFlags = ['--store', store.path]
  const cold = warmstart('up', ...service, ...storeFlags, '--json', '-v')
  expect(cold.status).toBe(0)
  const coldOutputs = JSON.parse(cold.stdout)
  expect(coldOutputs).toMatchObject({
    'cache-hit': false,
    restored: false,
    'container-name': name,
    saved: true
  })
  for (const output of ['container-id', 'cache-key', 'startup-seconds', 'checkpoint-bytes']) {
    expect(coldOutputs).toHaveProperty(output)
  }
  expect(cold.stderr).toMatch(/==> Warm up/)
  // Not even in the debug lines (-v), which show every podman command.
  expect(cold.stderr).toMatch(/debug: podman run/)
  expect(cold.stderr + cold.stdout).not.toContain('s3cret-value')

  const listed = warmstart('ls', ...storeFlags, '--json')
  expect(JSON.parse(listed.stdout).map((entry: { key: string }) => entry.key)).toEqual([
    coldOutputs['cache-key']
  ])

  const key = warmstart('key', ...service, '--json')
  expect(JSON.parse(key.stdout)).toEqual({ 'cache-key': coldOutputs['cache-key'] })

  expect(warmstart('down', name).status).toBe(0)
  expect(await podman.containerExists(name)).toBe(false)

  const warm = warmstart('up', ...service, ...storeFlags)
  expect(warm.status).toBe(0)
  expect(warm.stdout).toMatch(
    new RegExp(`^${name} is up: restored from its checkpoint in [\\d.]+ s`)
  )
  expect(await redisCli(port, 'get', 'from-warmup')).toBe('yes')

  const again = warmstart('up', ...service, ...storeFlags)
  expect(again.status).toBe(1)
  expect(again.stderr).toMatch(/already exists.*--replace/)

  const pruned = warmstart('prune', ...storeFlags, '--all')
  expect(pruned.stdout).toMatch(/^removed 1 checkpoint/)
  expect(JSON.parse(warmstart('ls', ...storeFlags, '--json').stdout)).toEqual([])
})

test('bad usage exits 2 with a message naming the problem', () => {
  const run = warmstart('up', '--image', IMAGES.redis, '--ports', 'not-a-port')
  expect(run.status).toBe(2)
  expect(run.stderr).toBe(
    'warmstart: ports: "not-a-port" is not HOST:CONTAINER (e.g. 15432:5432)\n'
  )
})
