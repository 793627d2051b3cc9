// up's decisions, branch by branch, over a played host (fakes/fake-host.ts): the real engine,
// Podman and HostReader, a real local store, recorded podman and CRIU outputs, no podman.
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { up, type UpResult } from '../../src/engine/engine.js'
import { HostReader } from '../../src/host/host.js'
import type { Logger } from '../../src/logger.js'
import { Podman } from '../../src/podman.js'
import { parseSpec } from '../../src/spec.js'
import { LocalDirectoryStore } from '../../src/store/local.js'
import { FakeHost, fixture } from '../fakes/fake-host.js'

let dir: { path: string; remove: () => void }
let fake: FakeHost
let store: LocalDirectoryStore
const log: string[] = []
let discarded: string[] = []

const logger: Logger = {
  debug: () => undefined,
  info: (line) => void log.push(line),
  warning: (line) => void log.push(`warning: ${line}`),
  group: (_title, work) => work()
}

beforeEach(() => {
  const path = mkdtempSync(join(tmpdir(), 'warmstart-test-up-'))
  dir = { path, remove: () => rmSync(path, { recursive: true, force: true }) }
  fake = new FakeHost()
  store = new LocalDirectoryStore({ dir: join(dir.path, 'store') })
  discarded = []
  const discard = store.discard.bind(store)
  store.discard = async (key: string) => {
    discarded.push(key)
    await discard(key)
  }
  log.length = 0
})
afterEach(() => dir.remove())

const rawSpec = {
  image: 'localhost/fake/redis:7',
  name: 'svc',
  ready: 'cmd:true',
  warmup: 'true'
}
const spec = parseSpec(rawSpec)

/** A host reader over the played host; `canDumpOtherUsers` plays CAP_SYS_RESOURCE (default: held). */
function hostReader(podman: Podman, canDumpOtherUsers = true): HostReader {
  return new (class extends HostReader {
    override canDumpOtherUsers(): boolean {
      return canDumpOtherUsers
    }
  })({ podman, runner: fake.runner, uid: 0, factsCache: false })
}

async function runUp(service = spec, canDumpOtherUsers = true): Promise<UpResult> {
  const podman = new Podman({ runner: fake.runner, uid: 0 })
  const host = hostReader(podman, canDumpOtherUsers)
  return up(service, {
    podman,
    store,
    logger,
    host,
    replace: true,
    compress: 'none',
    workDir: dir.path
  })
}

/** A first job: miss, cold start, checkpoint stored. Then the container is gone, as on a new runner. */
async function storeACheckpoint(): Promise<UpResult> {
  const cold = await runUp()
  fake.containers.clear()
  fake.calls.length = 0
  fake.timeouts.length = 0
  return cold
}

const restoresFromArchive = (calls: string[]) =>
  calls.filter((call) => call.startsWith('podman container restore --import'))
const starts = (calls: string[]) => calls.filter((call) => call.startsWith('podman run'))

test('miss: cold start, warm-up, consistent checkpoint resumed in place, stored', async () => {
  const cold = await runUp()
  expect(cold).toMatchObject({ cacheHit: false, restored: false, saved: true, warnings: [] })
  expect(cold.checkpointBytes).toBeGreaterThan(0)
  const calls = fake.podmanCalls()
  expect(starts(calls)).toHaveLength(1)
  // Stopped (--keep, no --leave-running) for a consistent archive, then resumed in place.
  expect(calls.filter((call) => call.startsWith('podman container checkpoint'))).toEqual([
    expect.stringMatching(
      /^podman container checkpoint --export \S+\/checkpoint\.tar --compress none --keep --ignore-volumes --file-locks svc$/
    )
  ])
  expect(calls).toContain('podman container restore --keep --file-locks svc')
  // CRIU's options (tcp-close) in the file the container's annotation names, written first.
  const [[path, content]] = [...fake.files.entries()] as [[string, string]]
  expect(content).toMatch(/^tcp-close$/m)
  const run = calls.find((call) => call.startsWith('podman run')) as string
  expect(run).toContain(`--annotation=org.criu.config=${path}`)
  expect(fake.containers.get('svc')?.running).toBe(true)
  expect((await store.list()).map((entry) => entry.key)).toEqual([cold.cacheKey])
})

test('hit: restored from the archive, nothing started cold, nothing saved', async () => {
  const cold = await storeACheckpoint()
  const warm = await runUp()
  expect(warm).toMatchObject({
    cacheHit: true,
    restored: true,
    saved: false,
    cacheKey: cold.cacheKey,
    checkpointBytes: cold.checkpointBytes,
    warnings: []
  })
  // Where the restore phase went, by podman's, runc's and CRIU's own clocks.
  expect(warm.restoreStats).toEqual({ podman: 0.244, runtime: 0.175, criu: 0.098, pages: 682 })
  const calls = fake.podmanCalls()
  expect(restoresFromArchive(calls)).toHaveLength(1)
  expect(restoresFromArchive(calls)[0]).toContain(' --print-stats')
  expect(starts(calls)).toEqual([])
  expect(calls.some((call) => call.includes('checkpoint'))).toBe(false)
})

test('restore failure: warned with the reason, the entry discarded, cold start, a new checkpoint', async () => {
  const cold = await storeACheckpoint()
  fake.behaviour = { importFails: true }
  const result = await runUp()
  expect(result).toMatchObject({ cacheHit: true, restored: false, saved: true })
  expect(result.warnings).toHaveLength(1)
  expect(result.warnings[0]).toMatch(
    new RegExp(
      `^restore from ${cold.cacheKey} failed, starting cold instead: [\\s\\S]*container creation timeout`
    )
  )
  expect(discarded).toEqual([cold.cacheKey])
  const calls = fake.podmanCalls()
  expect(starts(calls)).toHaveLength(1)
  // What the failed restore left was removed before the cold start.
  expect(calls.indexOf('podman rm --force --ignore --volumes --time 5 svc')).toBeLessThan(
    calls.findIndex((call) => call.startsWith('podman run'))
  )
  expect(fake.containers.get('svc')?.running).toBe(true)
})

test('damaged archive: its SHA-256 is checked before podman sees it; cold start with a warning', async () => {
  const cold = await storeACheckpoint()
  const entryDir = join(dir.path, 'store')
  const archive = readdirSync(entryDir, { recursive: true })
    .map(String)
    .find(
      (file) => !file.endsWith('.json') && readFileSync(join(entryDir, file)).includes('pages of')
    )
  expect(archive).toBeDefined()
  const bytes = readFileSync(join(entryDir, archive as string))
  const at = bytes.indexOf('pages of')
  bytes.write('PAGES OF', at)
  writeFileSync(join(entryDir, archive as string), bytes)

  const result = await runUp()
  expect(result).toMatchObject({ cacheHit: true, restored: false, saved: true })
  expect(result.warnings.join('\n')).toMatch(
    new RegExp(
      `restore from ${cold.cacheKey} failed, starting cold instead: the checkpoint part's SHA-256 is [0-9a-f]{64}, [0-9a-f]{64} was stored \\(damaged\\?\\)`
    )
  )
  expect(discarded).toEqual([cold.cacheKey])
  expect(restoresFromArchive(fake.podmanCalls())).toEqual([])
  expect(starts(fake.podmanCalls())).toHaveLength(1)
})

test("checkpoint failure: one warning naming CRIU's reason, the service keeps running, no second start", async () => {
  fake.behaviour = { checkpointFails: true }
  const result = await runUp()
  expect(result).toMatchObject({ restored: false, saved: false, checkpointBytes: 0 })
  expect(result.checkpointFailure).toMatch(/Can't get rlimit 0[\s\S]*What to do: .*same port/)
  expect(result.warnings).toEqual([
    expect.stringMatching(
      /^no checkpoint: checkpoint failed: [\s\S]*Can't get rlimit 0: Operation not permitted/
    )
  ])
  expect(starts(fake.podmanCalls())).toHaveLength(1)
  expect(fake.containers.get('svc')?.running).toBe(true)
  expect(await store.list()).toEqual([])
})

test('a resume in place that fails: the service comes back from the archive just made, which is stored', async () => {
  fake.behaviour = { resumeInPlaceFails: true }
  const result = await runUp()
  expect(result).toMatchObject({ restored: false, saved: true })
  expect(result.warnings).toEqual([
    expect.stringMatching(
      /^resuming svc in place failed, importing its checkpoint instead: [\s\S]*criu failed/
    )
  ])
  expect(restoresFromArchive(fake.podmanCalls())).toHaveLength(1)
  expect(fake.containers.get('svc')?.running).toBe(true)
})

test('a restore that hangs is stopped at its limit: a warning, cold start, nothing left', async () => {
  const cold = await storeACheckpoint()
  fake.behaviour = { importHangs: true }
  const result = await runUp()
  expect(result).toMatchObject({ cacheHit: true, restored: false, saved: true })
  expect(result.warnings[0]).toMatch(
    new RegExp(
      `^restore from ${cold.cacheKey} failed, starting cold instead: podman container restore --import \\S+ --name svc --file-locks --print-stats did not finish within 120 s and was stopped`
    )
  )
  const calls = fake.podmanCalls()
  const restoreAt = calls.findIndex((call) => call.startsWith('podman container restore --import'))
  // The restore ran with the limit for its archive's size; then what it left was removed.
  expect(fake.timeouts[restoreAt]).toBe(120)
  expect(calls.slice(restoreAt)).toContain('podman rm --force --ignore --volumes --time 5 svc')
  expect(starts(calls)).toHaveLength(1)
  expect(fake.containers.get('svc')?.running).toBe(true)
})

test('a checkpoint that hangs is stopped: the service, maybe frozen, starts again cold', async () => {
  fake.behaviour = { checkpointHangs: true }
  const result = await runUp()
  expect(result).toMatchObject({ restored: false, saved: false })
  expect(result.warnings).toEqual([
    expect.stringMatching(
      /^no checkpoint: checkpoint failed: podman container checkpoint .* did not finish within 600 s and was stopped$/
    ),
    'the checkpoint left svc stopped: starting it again cold, warm-up included'
  ])
  const calls = fake.podmanCalls()
  expect(fake.timeouts[calls.findIndex((call) => call.includes('checkpoint'))]).toBe(600)
  expect(starts(calls)).toHaveLength(2)
  expect(fake.containers.get('svc')?.running).toBe(true)
})

test.each([
  ['on, its profile never loaded (a fresh VM)', 'host/apparmor-fresh.txt', true],
  ['on, its profile loaded', 'host/apparmor-loaded.txt', false],
  ['absent', 'host/apparmor-absent.txt', false]
])(
  'AppArmor %s: a throwaway container loads podman profile before a restore only when needed',
  async (_label, file, loads) => {
    await storeACheckpoint()
    fake.behaviour = { appArmor: fixture(file) }
    const warm = await runUp()
    expect(warm).toMatchObject({ restored: true, warnings: [] })
    const calls = fake.podmanCalls()
    const loading = [
      'podman create --name svc-warmstart-apparmor localhost/fake/redis:7',
      'podman init svc-warmstart-apparmor'
    ]
    if (loads) {
      const at = calls.indexOf(loading[0] as string)
      expect(calls.slice(at, at + 2)).toEqual(loading)
      expect(at).toBeLessThan(calls.findIndex((c) => c.startsWith('podman container restore')))
      expect(fake.containers.has('svc-warmstart-apparmor')).toBe(false)
    } else {
      expect(calls.filter((call) => loading.includes(call))).toEqual([])
    }
  }
)

describe('a host that cannot dump other users, an image whose user is root (as the official ones)', () => {
  const remapped = parseSpec({ ...rawSpec, ports: ['127.0.0.1:16379:6379'] })

  test('it dropped to another user: the doomed checkpoint is skipped, with the fix', async () => {
    fake.behaviour = { processUsers: ['postgres', 'postgres'] }
    const result = await runUp(remapped, false)
    expect(result).toMatchObject({ restored: false, saved: false })
    expect(result.checkpointFailure).toMatch(
      /^localhost\/fake\/redis:7 starts as root and its processes run as postgres: .*publish the same port on both sides/
    )
    expect(fake.podmanCalls().filter((call) => call.includes('checkpoint'))).toEqual([])
  })

  test('it still runs as root: checkpointed as usual', async () => {
    const result = await runUp(remapped, false)
    expect(result).toMatchObject({ saved: true, warnings: [] })
    expect(fake.podmanCalls()).toContain('podman top svc user')
  })

  test('the same port on both sides: a user namespace from the start, whatever it drops to', async () => {
    const same = parseSpec({ ...rawSpec, ports: ['6379:6379'] })
    fake.behaviour = { processUsers: ['postgres'] }
    const result = await runUp(same, false)
    expect(result).toMatchObject({ saved: true, warnings: [] })
    const run = fake.podmanCalls().find((call) => call.startsWith('podman run')) as string
    expect(run).toContain('--uidmap=0:100000:65536')
    expect(run).toContain('--network=host')
    expect(fake.podmanCalls()).not.toContain('podman top svc user')
  })
})

test("CRIU's options file cannot be written: a warning naming it, and the service still comes up", async () => {
  fake.behaviour = { rootWriteFails: true }
  const result = await runUp()
  expect(result.warnings).toEqual([
    expect.stringMatching(
      /^could not write \/etc\/warmstart\/criu\/[0-9a-f]{16}\.conf \(CRIU's options for svc\): writing \S+ failed \(exit 1\): sudo: a password is required$/
    )
  ])
  expect(result).toMatchObject({ restored: false, saved: true })
  expect(fake.containers.get('svc')?.running).toBe(true)
})

test('no CRIU: a warning with the reason, cold start, no lookup and no checkpoint', async () => {
  fake.behaviour = { criuMissing: true }
  const result = await runUp()
  expect(result).toMatchObject({ cacheHit: false, restored: false, saved: false })
  expect(result.warnings).toEqual([
    expect.stringMatching(
      /^CRIU is not installed .*; run warmstart's set-up: starting cold without a checkpoint$/
    )
  ])
  expect(result.timings.lookup).toBeUndefined()
  expect(fake.podmanCalls().some((call) => call.includes('checkpoint'))).toBe(false)
  expect(fake.containers.get('svc')?.running).toBe(true)
})
