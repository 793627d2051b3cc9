// The services besides databases that the product's pitch names: a memcached holding a loaded
// cache, and a JVM service (Tomcat 10 on OpenJDK 17) warmed by load. Each goes through the warm
// loop with the examples' own warm-ups: a cold `up` that warms up and checkpoints, `down`, then a
// warm `up` restored from the local store, checked through the service's own protocol.
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { down, up } from '../../src/engine/engine.js'
import type { Logger } from '../../src/logger.js'
import { Podman } from '../../src/podman.js'
import { parseSpec } from '../../src/spec.js'
import { LocalDirectoryStore } from '../../src/store/local.js'
import { IMAGES, freePort, requireHost, tempDir } from './host.js'

const run = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname
const podman = new Podman()
const names = ['warmstart-it-memcached', 'warmstart-it-tomcat']
const dirs: Array<{ remove: () => void }> = []

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: () => undefined,
  group: (_title, work) => work()
}

function store(): LocalDirectoryStore {
  const dir = tempDir('store')
  dirs.push(dir)
  return new LocalDirectoryStore({ dir: dir.path })
}

/** memcached's text protocol through nc, as the example's warm-up speaks it. */
async function memcached(port: number, command: string): Promise<string> {
  const { stdout } = await run('sh', [
    '-c',
    `printf '%s\\r\\nquit\\r\\n' "$1" | nc -N 127.0.0.1 "$2"`,
    'sh',
    command,
    String(port)
  ])
  return stdout
}

async function stat(port: number, name: string): Promise<string | undefined> {
  const line = (await memcached(port, 'stats'))
    .split('\r\n')
    .find((l) => l.startsWith(`STAT ${name} `))
  return line?.split(' ')[2]
}

beforeAll(async () => {
  await requireHost(podman, [IMAGES.memcached, IMAGES.tomcat])
  for (const name of names) await down(name, { podman })
})

afterEach(async () => {
  for (const name of names) await down(name, { podman })
})

afterAll(() => {
  for (const dir of dirs) dir.remove()
})

test('memcached: a loaded cache restores warm with every item and its counters', async () => {
  const name = 'warmstart-it-memcached'
  const port = await freePort()
  const checkpoints = store()
  const spec = parseSpec({
    image: IMAGES.memcached,
    name,
    ports: [`127.0.0.1:${port}:11211`],
    env: ['MEMCACHED_MEMORY=256'],
    warmup: `KEYS=50000 sh '${join(root, 'examples', 'memcached', 'warmup.sh')}'`,
    key: 'it-memcached'
  })
  const cold = await up(spec, { podman, store: checkpoints, logger: quiet, replace: true })
  expect(cold).toMatchObject({ restored: false, saved: true, warnings: [] })
  expect(await stat(port, 'curr_items')).toBe('50000')
  await down(name, { podman })

  const warm = await up(spec, { podman, store: checkpoints, logger: quiet, replace: true })
  expect(warm).toMatchObject({ restored: true, cacheHit: true, warnings: [] })
  expect(await stat(port, 'curr_items')).toBe('50000')
  // The server's own counters came back: a fresh memcached would count no item stored.
  expect(Number(await stat(port, 'total_items'))).toBe(50000)
  const value = await memcached(port, 'get key:49999')
  expect(value).toMatch(/^VALUE key:49999 0 400\r\nvalue:49999:[A-Za-z0-9+/]+\r\nEND\r\n$/)
})

test('Tomcat: a JVM warmed by load restores warm and serves the compiled page at once', async () => {
  const name = 'warmstart-it-tomcat'
  const port = await freePort()
  const checkpoints = store()
  const page = `http://127.0.0.1:${port}/orders.jsp`
  const spec = parseSpec({
    image: IMAGES.tomcat,
    name,
    ports: [`127.0.0.1:${port}:8080`],
    env: ['JAVA_OPTS=-Xms128m -Xmx128m'],
    ready: `${page}?n=1`,
    'ready-timeout': 120,
    warmup: `SECONDS_OF_LOAD=5 python3 '${join(root, 'examples', 'tomcat', 'warmup.py')}'`,
    key: 'it-tomcat'
  })
  const cold = await up(spec, { podman, store: checkpoints, logger: quiet, replace: true })
  expect(cold).toMatchObject({ restored: false, saved: true, warnings: [] })
  const answer = await (await fetch(page)).text()
  expect(answer.trim()).toMatch(/^\d+ [0-9a-f]+$/)
  await down(name, { podman })

  const warmStarted = Date.now()
  const warm = await up(spec, { podman, store: checkpoints, logger: quiet, replace: true })
  expect(warm).toMatchObject({ restored: true, cacheHit: true, warnings: [] })
  expect(await (await fetch(page)).text()).toBe(answer)
  // Jasper compiled the page on the cold run; the restored JVM did not compile it again: its
  // class file is the cold run's, in the volume that came back with the checkpoint.
  const { stdout } = await run('podman', [
    'exec',
    name,
    'sh',
    '-c',
    'find /var/cache/tomcat10 -name "orders_jsp.class" -printf "%T@\\n"'
  ])
  const compiledAt = Number(stdout.trim())
  expect(compiledAt).toBeGreaterThan(0)
  expect(compiledAt * 1000).toBeLessThan(warmStarted)
})
