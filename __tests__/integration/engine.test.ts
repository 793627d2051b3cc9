// The warm loop on real Podman and CRIU: a cold `up` that warms up and checkpoints, `down`, then
// a warm `up` restored from the local store, for each service; and every fault path.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { createHash } from 'node:crypto'
import { copyFileSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { down, up, UpError, type EngineOptions, type UpResult } from '../../src/engine/engine.js'
import { HostReader } from '../../src/host/host.js'
import type { Logger } from '../../src/logger.js'
import { Podman } from '../../src/podman.js'
import { parseSpec, type RawSpec } from '../../src/spec.js'
import { LocalDirectoryStore } from '../../src/store/local.js'
import type { EntryMetadata } from '../../src/store/store.js'
import {
  decodeParts,
  encodeParts,
  isVolumePart,
  volumeGroups,
  type ArchivePart
} from '../../src/archive/layout.js'
import { nonRootUsers } from '../../src/host/userns.js'
import { VOLUME_OWNER_LABEL } from '../../src/volumes.js'
import {
  IMAGES,
  eventually,
  freePort,
  mariadb,
  psql,
  redisCli,
  requireHost,
  tempDir
} from './host.js'

/** Keeps what the engine said, to assert on warnings. */
function recordingLogger(): Logger & { lines: string[]; warnings: string[] } {
  const lines: string[] = []
  const warnings: string[] = []
  return {
    lines,
    warnings,
    debug: () => undefined,
    info: (message) => void lines.push(message),
    warning: (message) => void warnings.push(message),
    group: (title, work) => {
      lines.push(`== ${title}`)
      return work()
    }
  }
}

const podman = new Podman()
const names = new Set<string>()
const dirs: Array<{ remove: () => void }> = []

function containerName(label: string): string {
  const name = `warmstart-it-${label}`
  names.add(name)
  return name
}

function storeDir(): string {
  const dir = tempDir('store')
  dirs.push(dir)
  return dir.path
}

function engine(store: LocalDirectoryStore, extra: Partial<EngineOptions> = {}) {
  const logger = recordingLogger()
  return { logger, options: { podman, store, logger, replace: true, ...extra } }
}

beforeAll(async () => {
  await requireHost(podman)
  // Containers an earlier, killed run may have left.
  for (const label of ['redis', 'mariadb', 'postgres', 'consistency', 'fault']) {
    await down(`warmstart-it-${label}`, { podman })
  }
})

afterEach(async () => {
  // down, not forceRemove: the volumes warmstart made for a container go with it.
  for (const name of names) await down(name, { podman })
})

afterAll(() => {
  for (const dir of dirs) dir.remove()
})

/** PostgreSQL listens on the host port itself: on hosts that need a user namespace it shares the host's network. */
function postgresSpec(name: string, port: number, extra: RawSpec = {}): RawSpec {
  return {
    image: IMAGES.postgres,
    name,
    ports: [`${port}:${port}`],
    env: [`PGPORT=${port}`],
    ready: `cmd:pg_isready -q -h 127.0.0.1 -p ${port}`,
    ...extra
  }
}

interface ServiceCase {
  service: 'redis' | 'mariadb' | 'postgres'
  /** The image's VOLUME: the data directory, archived as a volume part. */
  dataPath: string
  /** Where the warm restore puts it: a tmpfs (volume-storage auto, small data) or disk. */
  storage: 'memory' | 'disk'
  spec: (name: string, port: number) => RawSpec
  check: (port: number) => Promise<string>
  expected: string
}

const REDIS_KEYS = 300000

const services: ServiceCase[] = [
  {
    service: 'redis',
    dataPath: '/data',
    storage: 'memory',
    spec: (name, port) => ({
      image: IMAGES.redis,
      name,
      ports: [`127.0.0.1:${port}:6379`],
      // Hundreds of thousands of keys, sent as the Redis protocol through redis-cli --pipe.
      warmup: `awk 'BEGIN { for (i = 1; i <= ${REDIS_KEYS}; i++) { k = "key:" i; v = "value:" i;
        printf "*3\\r\\n$3\\r\\nSET\\r\\n$%d\\r\\n%s\\r\\n$%d\\r\\n%s\\r\\n", length(k), k, length(v), v } }' |
        redis-cli -p "$WARMSTART_PORT" --pipe`
    }),
    check: async (port) =>
      `${await redisCli(port, 'dbsize')} ${await redisCli(port, 'get', 'key:123456')}`,
    expected: `${REDIS_KEYS} value:123456`
  },
  {
    service: 'mariadb',
    dataPath: '/var/lib/mysql',
    storage: 'disk',
    spec: (name, port) => ({
      image: IMAGES.mariadb,
      name,
      ports: [`127.0.0.1:${port}:3306`],
      ready: `cmd:mariadb -h 127.0.0.1 -P ${port} -uroot -e 'SELECT 1'`,
      // The others restore their volume into memory (auto, on this host); this one onto disk.
      'volume-storage': 'disk',
      warmup: `mariadb -h "$WARMSTART_HOST" -P "$WARMSTART_PORT" -uroot -e "
        CREATE DATABASE shop; USE shop;
        CREATE TABLE shop.products (id INT PRIMARY KEY AUTO_INCREMENT, name TEXT, price DECIMAL(8,2));
        INSERT INTO shop.products (name, price) SELECT CONCAT('product ', seq), seq / 100 FROM seq_1_to_20000;"`
    }),
    check: (port) => mariadb(port, 'SELECT COUNT(*), MAX(name) FROM shop.products'),
    expected: '20000\tproduct 9999'
  },
  {
    service: 'postgres',
    dataPath: '/var/lib/postgresql/data',
    storage: 'memory',
    spec: (name, port) =>
      postgresSpec(name, port, {
        warmup: `psql -h "$WARMSTART_HOST" -p "$WARMSTART_PORT" -U postgres -v ON_ERROR_STOP=1 -qc "
          CREATE TABLE accounts (id int PRIMARY KEY, email text UNIQUE);
          INSERT INTO accounts SELECT g, 'user' || g || '@example.test' FROM generate_series(1, 50000) g;
          ANALYZE accounts;"`
      }),
    check: (port) =>
      psql(
        port,
        "SELECT count(*) || ' ' || (SELECT email FROM accounts WHERE id = 12345) FROM accounts"
      ),
    expected: '50000 user12345@example.test'
  }
]

describe.each(services)('warm loop: $service', (c) => {
  test('a cold up checkpoints, down removes, a warm up restores the warmed-up data', async () => {
    const name = containerName(c.service)
    const port = await freePort()
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const spec = parseSpec(c.spec(name, port))

    const cold = engine(store)
    const first = await up(spec, cold.options)
    expect(first).toMatchObject({ restored: false, cacheHit: false, saved: true, warnings: [] })
    expect(first.checkpointBytes).toBeGreaterThan(0)
    expect(first.timings.warmup).toBeGreaterThan(0)
    expect(await c.check(port)).toBe(c.expected)
    const entries = await store.list()
    expect(entries.map((entry) => entry.key)).toEqual([first.cacheKey])
    // One volume, in slices: its directories (slice 0), then its files.
    const volumes = volumeGroups(decodeParts(entries[0]?.metadata.parts, first.checkpointBytes))
      .map((slices) => slices[0])
      .filter((first) => first !== undefined)
    expect(volumes.map((volume) => volume.destination)).toEqual([c.dataPath])

    await down(name, { podman })
    expect(await podman.containerExists(name)).toBe(false)
    expect(await podman.volumeExists(volumes[0]?.name as string)).toBe(false)

    const warm = engine(store)
    const second = await up(spec, warm.options)
    expect(second).toMatchObject({ restored: true, cacheHit: true, saved: false, warnings: [] })
    expect(second.cacheKey).toBe(first.cacheKey)
    expect(second.timings.warmup).toBeUndefined()
    // The data came back through the volume, unpacked beside the checkpoint.
    const mounts = (await podman.inspectContainer(name)).Mounts ?? []
    expect(mounts.map((mount) => [mount.Type, mount.Name, mount.Destination])).toContainEqual([
      'volume',
      volumes[0]?.name,
      c.dataPath
    ])
    const { Mountpoint } = await podman.inspectVolume(volumes[0]?.name as string)
    const mounted = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[1] === Mountpoint && line.split(' ')[2] === 'tmpfs')
    expect(mounted ? 'memory' : 'disk').toBe(c.storage)
    expect(await c.check(port)).toBe(c.expected)
    await down(name, { podman })
    expect(await podman.volumesLabelled(VOLUME_OWNER_LABEL, name)).toEqual([])
    // Nothing is left mounted either.
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(Mountpoint)
  })
})

test('the archive is consistent while the service writes continuously during the checkpoint', async () => {
  // A writer inside the container (so CRIU takes it along) commits one row after another, each
  // one more than the last committed: committed rows are exactly 1..N, whatever instant the
  // checkpoint catches. Aggressive background writing makes PostgreSQL flush pages during it.
  const name = containerName('consistency')
  const port = await freePort()
  const store = new LocalDirectoryStore({ dir: storeDir() })
  const settings =
    '-c bgwriter_delay=10ms -c bgwriter_lru_maxpages=1000 -c checkpoint_timeout=30s -c checkpoint_completion_target=0.1'
  const writer = `until psql -qc 'CREATE TABLE IF NOT EXISTS counter (n int PRIMARY KEY, padding text)' 2>/dev/null; do sleep 0.2; done
    while :; do echo "INSERT INTO counter SELECT coalesce(max(n), 0) + 1, repeat('x', 500) FROM counter;"; sleep 0.005; done | psql -q`
  const spec = parseSpec(
    postgresSpec(name, port, {
      // At container start no postmaster can be running: a postmaster.pid left by the kill in
      // `podman restart` below may name a PID that the writer's psql now has, and PostgreSQL
      // would refuse to start ("Is another postmaster running?"), a flake seen in CI.
      command: [
        'sh',
        '-c',
        `rm -f /var/lib/postgresql/data/postmaster.pid; warmstart-entry postgres ${settings} & ${writer}`
      ],
      warmup: `until [ "$(psql -h 127.0.0.1 -p ${port} -U postgres -Atc 'SELECT count(*) FROM counter' 2>/dev/null || echo 0)" -gt 500 ]; do sleep 0.2; done`
    })
  )
  const check = async (): Promise<{ count: number; max: number }> => {
    const [count, max] = (await psql(port, 'SELECT count(*), max(n) FROM counter'))
      .split('|')
      .map(Number)
    return { count: count as number, max: max as number }
  }

  const cold = await up(spec, engine(store).options)
  expect(cold).toMatchObject({ saved: true, warnings: [] })
  await down(name, { podman })

  const warm = await up(spec, engine(store).options)
  expect(warm.restored).toBe(true)
  const restored = await check()
  expect(restored.count).toBeGreaterThan(500)
  expect(restored.count).toBe(restored.max) // no gap, no duplicate
  await psql(
    port,
    "CREATE EXTENSION IF NOT EXISTS amcheck; SELECT bt_index_check('counter_pkey', true)"
  )
  // The restored writer carries on.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const later = await check()
  expect(later.count).toBeGreaterThan(restored.count)
  expect(later.count).toBe(later.max)
  // And the files are sound on their own: a restart recovers from them alone.
  await podman.podman(['restart', '--time', '5', name])
  const recovered = await eventually(check, 90).catch(async (error: Error) => {
    // Say why: the service's own log tells recovery trouble from a slow start.
    throw new Error(
      `${error.message}\nafter restart, ${name} logged:\n${await podman.logs(name, 40)}`
    )
  })
  expect(recovered.count).toBe(recovered.max)
  expect(recovered.count).toBeGreaterThanOrEqual(later.count)
})

/**
 * Images that behave like the official ones: root in the image, a root entry point that makes the
 * data directory the service user's and drops to it with gosu, a password from the environment.
 */
interface OfficialCase {
  service: 'postgres' | 'redis' | 'mariadb'
  image: string
  /** The user the entry point drops to. */
  user: string
  spec: (port: number) => RawSpec
  /** A shell command that prints what the warm-up stored. */
  check: (port: number) => string
  expected: string
}

const PASSWORD = 'throwaway-test-password'
const psqlAs = (port: number, query: string) =>
  `PGPASSWORD=${PASSWORD} psql -h 127.0.0.1 -p ${port} -U postgres -X -Atc "${query}"`
const mariadbAs = (port: number, query: string) =>
  `mariadb -h 127.0.0.1 -P ${port} -uroot -p${PASSWORD} -N -B -e "${query}"`
const officialCases: OfficialCase[] = [
  {
    service: 'postgres',
    image: IMAGES.postgresOfficial,
    user: 'postgres',
    spec: (port) => ({
      env: [`PGPORT=${port}`, `POSTGRES_PASSWORD=${PASSWORD}`],
      ready: `cmd:pg_isready -q -h 127.0.0.1 -p ${port}`,
      warmup: psqlAs(port, 'CREATE TABLE warmed AS SELECT 42 AS v')
    }),
    check: (port) => psqlAs(port, 'SELECT v FROM warmed'),
    expected: '42'
  },
  {
    service: 'redis',
    image: IMAGES.redisOfficial,
    user: 'redis',
    spec: (port) => ({
      env: [`REDIS_PORT=${port}`],
      warmup: `redis-cli -p ${port} set warmed 42`
    }),
    check: (port) => `redis-cli -p ${port} get warmed`,
    expected: '42'
  },
  {
    service: 'mariadb',
    image: IMAGES.mariadbOfficial,
    user: 'mysql',
    spec: (port) => ({
      env: [`MARIADB_PORT=${port}`, `MARIADB_ROOT_PASSWORD=${PASSWORD}`],
      ready: `cmd:${mariadbAs(port, 'SELECT 1')}`,
      warmup: mariadbAs(port, 'CREATE DATABASE shop; CREATE TABLE shop.warmed AS SELECT 42 AS v')
    }),
    check: (port) => mariadbAs(port, 'SELECT v FROM shop.warmed'),
    expected: '42'
  }
]

describe.each(officialCases)('an official-like $service image (root entry point, gosu)', (c) => {
  test('started with a published port and its password, it restores warm with its data', async () => {
    const name = containerName(`official-${c.service}`)
    const port = await freePort()
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const spec = parseSpec({
      image: c.image,
      name,
      // The same port on both sides: on a host without CAP_SYS_RESOURCE (this one) the service
      // runs in a user namespace on the host network and listens on that port itself.
      ports: [`${port}:${port}`],
      ...c.spec(port)
    })
    const cold = await up(spec, engine(store).options)
    expect(cold).toMatchObject({ restored: false, saved: true, warnings: [] })
    // It really dropped from root to its user, as the official image does.
    expect(nonRootUsers(await podman.processUsers(name))).toEqual([c.user])
    await down(name, { podman })

    const warm = await up(spec, engine(store).options)
    expect(warm).toMatchObject({ restored: true, cacheHit: true, warnings: [] })
    const { stdout } = await promisify(execFile)('sh', ['-c', c.check(port)])
    expect(stdout.trim()).toBe(c.expected)
  })
})

test('tcp-established: true restores warm (podman rejects --tcp-established beside --name)', async () => {
  const name = containerName('tcp-established')
  const port = await freePort()
  const store = new LocalDirectoryStore({ dir: storeDir() })
  const spec = parseSpec({
    image: IMAGES.redis,
    name,
    ports: [`127.0.0.1:${port}:6379`],
    warmup: 'redis-cli -p "$WARMSTART_PORT" set warmed yes',
    'tcp-established': true
  })
  const cold = await up(spec, engine(store).options)
  expect(cold).toMatchObject({ restored: false, saved: true, warnings: [] })
  await down(name, { podman })
  // podman 4.3 rejected the warm path's --name beside --tcp-established: every run was cold.
  const warm = await up(spec, engine(store).options)
  expect(warm).toMatchObject({ restored: true, cacheHit: true, warnings: [] })
  expect(warm.containerName).toBe(name)
  expect(await podman.containerExists(name)).toBe(true)
  expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
})

test('connections clients reset while the service was busy restore warm (tcp-close)', async () => {
  // Two clients connect; one makes Redis sleep (DEBUG SLEEP), then both reset their connection.
  // Redis cannot close its ends while it sleeps: the checkpoint holds two sockets in state
  // TCP_CLOSE, which CRIU restores only with tcp-close (without it: "inet: Connected TCP socket
  // in image", and no warm start ever).
  const dir = tempDir('tcp-close')
  dirs.push(dir)
  const resetWhileBusy = join(dir.path, 'reset-while-busy.py')
  writeFileSync(
    resetWhileBusy,
    `import socket, struct, sys, time
port = int(sys.argv[1])
def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
served = socket.create_connection(('127.0.0.1', port))
served.sendall(b'PING\\r\\n')
assert served.recv(64).startswith(b'+PONG')
sleeper = socket.create_connection(('127.0.0.1', port))
sleeper.sendall(b'DEBUG SLEEP 6\\r\\n')
time.sleep(0.5)
reset(served)
reset(sleeper)
`
  )
  const name = containerName('tcp-close')
  const port = await freePort()
  const store = new LocalDirectoryStore({ dir: storeDir() })
  const spec = parseSpec({
    image: IMAGES.redis,
    name,
    ports: [`127.0.0.1:${port}:6379`],
    command: ['redis-server', '--enable-debug-command', 'yes'],
    warmup: `redis-cli -p "$WARMSTART_PORT" set warmed yes && python3 ${resetWhileBusy} "$WARMSTART_PORT"`
  })
  const cold = await up(spec, engine(store).options)
  expect(cold).toMatchObject({ restored: false, saved: true, warnings: [] })
  await down(name, { podman })
  const warm = await up(spec, engine(store).options)
  expect(warm).toMatchObject({ restored: true, cacheHit: true, warnings: [] })
  // Answers once its sleep (restored with it) is over.
  expect(await eventually(() => redisCli(port, 'get', 'warmed'))).toBe('yes')
})

test('a restore-key hit restores the older checkpoint, refreshes it and saves it under the new key', async () => {
  const name = containerName('redis')
  const port = await freePort()
  const store = new LocalDirectoryStore({ dir: storeDir() })
  const base: RawSpec = { image: IMAGES.redis, name, ports: [`127.0.0.1:${port}:6379`] }
  const v1 = parseSpec({
    ...base,
    key: 'migrations-1',
    warmup: 'redis-cli -p "$WARMSTART_PORT" set migration-1 applied'
  })
  const first = await up(v1, engine(store).options)
  expect(first.saved).toBe(true)
  await down(name, { podman })

  // A new migration: the full warm-up grows, refresh applies only the new step.
  const v2 = parseSpec({
    ...base,
    key: 'migrations-2',
    'restore-keys': ['migrations-'],
    warmup:
      'redis-cli -p "$WARMSTART_PORT" set migration-1 applied && redis-cli -p "$WARMSTART_PORT" set migration-2 applied',
    refresh: 'redis-cli -p "$WARMSTART_PORT" set migration-2 applied-by-refresh'
  })
  const second = await up(v2, engine(store).options)
  expect(second).toMatchObject({ restored: true, cacheHit: false, saved: true })
  expect(second.timings.refresh).toBeGreaterThan(0)
  expect(second.timings.warmup).toBeUndefined()
  expect(await redisCli(port, 'get', 'migration-1')).toBe('applied')
  expect(await redisCli(port, 'get', 'migration-2')).toBe('applied-by-refresh')
  expect((await store.list()).map((entry) => entry.key).sort()).toEqual(
    [first.cacheKey, second.cacheKey].sort()
  )
  await down(name, { podman })

  // Now the exact key hits.
  const third = await up(v2, engine(store).options)
  expect(third).toMatchObject({ restored: true, cacheHit: true, saved: false })
  expect(await redisCli(port, 'get', 'migration-2')).toBe('applied-by-refresh')
})

/**
 * Rewrites the checkpoint part of an archive as someone with write access to the store could:
 * `edit` changes its plain tar; the volume parts stay; sizes, offsets and hashes are recomputed.
 */
function rewriteCheckpointPart(
  archive: string,
  metadata: EntryMetadata,
  edit: (plainTar: string) => void
): { archive: string; metadata: EntryMetadata } {
  const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
  const original = readFileSync(archive)
  const parts = decodeParts(metadata.parts, original.length)
  const first = parts[0] as ArchivePart
  const work = join(dirname(archive), 'rewrite')
  writeFileSync(`${work}.zst`, original.subarray(0, first.bytes))
  execFileSync('zstd', ['-dqf', `${work}.zst`, '-o', `${work}.tar`])
  edit(`${work}.tar`)
  execFileSync('zstd', ['-qf', `${work}.tar`, '-o', `${work}.zst`])
  const checkpoint = readFileSync(`${work}.zst`)
  const rewritten = Buffer.concat([checkpoint, original.subarray(first.bytes)])
  const out = join(dirname(archive), 'rewritten.checkpoint')
  writeFileSync(out, rewritten)
  const shift = checkpoint.length - first.bytes
  const newParts = parts.map((part, i) =>
    i === 0
      ? { ...part, bytes: checkpoint.length, sha256: sha256(checkpoint) }
      : { ...part, offset: part.offset + shift }
  )
  return {
    archive: out,
    metadata: {
      ...metadata,
      bytes: rewritten.length,
      sha256: sha256(rewritten),
      parts: encodeParts(newParts)
    }
  }
}

describe('faults', () => {
  const name = containerName('fault')
  const redis = (port: number, extra: RawSpec = {}): RawSpec => ({
    image: IMAGES.redis,
    name,
    ports: [`127.0.0.1:${port}:6379`],
    warmup: `redis-cli -p "$WARMSTART_PORT" set warmed yes`,
    ...extra
  })

  test('an image that does not exist fails up with the image named, leaving nothing', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const spec = parseSpec(
      redis(await freePort(), { image: 'localhost/warmstart/does-not-exist:1' })
    )
    const error = await up(spec, engine(store).options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UpError)
    expect((error as Error).message).toMatch(
      /image localhost\/warmstart\/does-not-exist:1 is not here and could not be pulled/
    )
    expect(await podman.containerExists(name)).toBe(false)
  })

  test('a port already taken is named, with the container holding it', async () => {
    const port = await freePort()
    const holder = containerName('port-holder')
    await podman.run({
      image: IMAGES.redis,
      name: holder,
      ports: [`127.0.0.1:${port}:6379`],
      replace: true
    })
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const error = await up(parseSpec(redis(port)), engine(store).options).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(
      new RegExp(`port ${port} is already in use by container ${holder}`)
    )
    expect(await podman.containerExists(name)).toBe(false)
  })

  test('readiness that never comes fails with the container’s last log lines', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const spec = parseSpec(redis(await freePort(), { ready: 'cmd:false', 'ready-timeout': '2' }))
    const error = await up(spec, engine(store).options).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/did not answer cmd:false within 2 s/)
    expect((error as Error).message).toMatch(/Ready to accept connections/) // Redis's own log line
    expect(await podman.containerExists(name)).toBe(false)
    expect(await store.list()).toEqual([])
  })

  test('a failing warm-up fails up with its exit code and saves nothing', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const spec = parseSpec(redis(await freePort(), { warmup: 'echo about to fail; exit 7' }))
    const { logger, options } = engine(store)
    const error = await up(spec, options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UpError)
    expect((error as UpError).exitCode).toBe(7)
    expect(logger.lines).toContain('  about to fail')
    expect(await store.list()).toEqual([])
    expect(await podman.containerExists(name)).toBe(false)
  })

  test('a restore that hangs is stopped at criu-timeout: the service starts cold, nothing of it left', async () => {
    // A runtime that passes every call to the real one, except one restore, which hangs.
    const runtime = (await podman.info()).host.ociRuntime.path
    const dir = tempDir('hang')
    dirs.push(dir)
    const marker = join(dir.path, 'hang-once')
    const wrapper = join(dir.path, 'runc-that-hangs')
    writeFileSync(
      wrapper,
      `#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = restore ] && [ -e '${marker}' ]; then rm -f '${marker}'; sleep 3600 & wait; fi
done
exec '${runtime}' "$@"
`,
      { mode: 0o755 }
    )
    const port = await freePort()
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const spec = parseSpec(redis(port, { options: [`--runtime=${wrapper}`], 'criu-timeout': '8' }))
    const cold = await up(spec, engine(store).options)
    expect(cold).toMatchObject({ restored: false, saved: true, warnings: [] })
    await down(name, { podman })

    writeFileSync(marker, '')
    const started = Date.now()
    const warm = await up(spec, engine(store).options)
    expect(warm).toMatchObject({ cacheHit: true, restored: false, saved: true })
    expect(warm.warnings).toEqual([
      expect.stringMatching(
        /^restore from \S+ failed, starting cold instead: podman container restore --import .* did not finish within 8 s and was stopped/
      )
    ])
    // The limit, the clean-up and a cold start of Redis; not the hour the runtime would hang.
    expect(Date.now() - started).toBeLessThan(90_000)
    expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
    // Nothing of the hung restore runs on: the runtime hung in it, nor the conmon above it
    // (which held the port): the only conmon of this name is the running service's.
    const processes = (pattern: string): string[] =>
      spawnSync('pgrep', ['-af', pattern], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
    expect(processes(`${wrapper} restore`)).toEqual([])
    const conmons = processes(`^[^ ]*conmon .* -n ${name} `)
    expect(conmons).toHaveLength(1)
    expect(conmons[0]).toContain(` -c ${warm.containerId} `)
  })

  test('without a working CRIU the service starts cold, with a warning and no checkpoint', async () => {
    const port = await freePort()
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const host = new HostReader({ podman, criu: '/nonexistent/criu' })
    const { options } = engine(store, { host })
    const result = await up(parseSpec(redis(port)), options)
    expect(result).toMatchObject({ restored: false, saved: false, checkpointBytes: 0 })
    expect(result.warnings.join('\n')).toMatch(
      /CRIU is not installed .*starting cold without a checkpoint/
    )
    expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
    expect(await store.list()).toEqual([])
  })

  // The local store itself notices an archive of the wrong size (a miss); the engine's SHA-256
  // check catches damage that keeps the size.
  test.each([
    ['truncated', (path: string) => truncateSync(path, 1000), { cacheHit: false }, /no checkpoint/],
    [
      'one byte flipped',
      (path: string) => {
        const bytes = readFileSync(path)
        bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0xff
        writeFileSync(path, bytes)
      },
      { cacheHit: true },
      /restore from .* failed, starting cold instead: the checkpoint part's SHA-256 is/
    ],
    [
      // The last part is the volume's (/data, the image's VOLUME).
      'last byte flipped',
      (path: string) => {
        const bytes = readFileSync(path)
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff
        writeFileSync(path, bytes)
      },
      { cacheHit: true },
      /restore from .* failed, starting cold instead: (unpacking volume \w+ failed|the part of volume \w+ has SHA-256)/
    ]
  ])(
    'a %s archive is detected, the service starts cold, and the entry is replaced',
    async (_label, damage, expected, said) => {
      const port = await freePort()
      const store = new LocalDirectoryStore({ dir: storeDir() })
      const spec = parseSpec(redis(port))
      const first = await up(spec, engine(store).options)
      const [entry] = await store.list()
      damage(entry?.archivePath as string)
      await down(name, { podman })

      const { logger, options } = engine(store)
      const second: UpResult = await up(spec, options)
      expect(second).toMatchObject({ restored: false, saved: true, ...expected })
      expect([...logger.lines, ...logger.warnings].join('\n')).toMatch(said)
      expect(await podman.containerExists(name)).toBe(true)
      expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
      const [replaced] = await store.list()
      expect(replaced?.key).toBe(first.cacheKey)
      expect(replaced?.archivePath).not.toBe(entry?.archivePath)

      await down(name, { podman })
      expect(await up(spec, engine(store).options)).toMatchObject({ restored: true })
    }
  )

  // Someone who can write the store (the cache) can rewrite an entry whole, its recorded SHA-256
  // included: the manifest and the archive's contents are checked too, before podman sees them.
  test.each([
    [
      'an archive with a ../ entry',
      (archive: string, metadata: EntryMetadata) =>
        rewriteCheckpointPart(archive, metadata, (plainTar) =>
          execFileSync('python3', [
            '-c',
            `import io, sys, tarfile
t = tarfile.open(sys.argv[1], "a"); info = tarfile.TarInfo("../escaped"); data = b"owned"
info.size = len(data); t.addfile(info, io.BytesIO(data)); t.close()`,
            plainTar
          ])
        ),
      // From a local file, root's tar refuses the member itself and fails, before any check of
      // its listing (src/engine/image-dir.ts); through podman's import, warmstart's walker does.
      /the archive holds what a checkpoint must not: \.\.\/escaped: leaves the archive|unpacking the checkpoint into memory failed \(exit 2\):[^]*"\.\.\/escaped": Member name contains '\.\.'/
    ],
    [
      // Were it honoured, the runtime wrapper would point runc at a directory the archive chose.
      'an archive carrying the marker of the in-memory restore',
      (archive: string, metadata: EntryMetadata) =>
        rewriteCheckpointPart(archive, metadata, (plainTar) =>
          execFileSync('python3', [
            '-c',
            `import io, sys, tarfile
t = tarfile.open(sys.argv[1], "a"); info = tarfile.TarInfo("checkpoint/warmstart-image-path")
data = b"/dev/shm/warmstart-images/restore.planted/images\\n"
info.size = len(data); t.addfile(info, io.BytesIO(data)); t.close()`,
            plainTar
          ])
        ),
      /checkpoint\/warmstart-image-path: the marker of warmstart's in-memory restore/
    ],
    [
      'a manifest from another host',
      (archive: string, metadata: EntryMetadata) => ({
        archive,
        metadata: { ...metadata, 'host.cpu-model': 'Some Other CPU @ 9.99GHz' }
      }),
      /its manifest does not match this run: host\.cpu-model: the checkpoint has "Some Other CPU/
    ]
  ])(
    '%s is rejected before import and the service starts cold',
    async (_label, rewrite, reason) => {
      const port = await freePort()
      const store = new LocalDirectoryStore({ dir: storeDir() })
      const spec = parseSpec(redis(port))
      const first = await up(spec, engine(store).options)
      const [entry] = await store.list()
      const scratch = tempDir('rewrite')
      dirs.push(scratch)
      const copy = join(scratch.path, 'checkpoint.tar.zst')
      copyFileSync(entry?.archivePath as string, copy)
      const rewritten = rewrite(copy, entry?.metadata as EntryMetadata)
      await store.save(first.cacheKey, rewritten.archive, rewritten.metadata)
      await down(name, { podman })

      const second = await up(spec, engine(store).options)
      expect(second).toMatchObject({ restored: false, cacheHit: true, saved: true })
      expect(second.warnings.join('\n')).toMatch(reason)
      expect(second.timings.restore).toBeUndefined() // podman never saw it
      expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
    }
  )

  test("a link in a volume cannot lead another slice's writes out of the volume", async () => {
    // Someone who can write the cache rewrites the volume's slices: slice 0 gains a link
    // `evil -> OUTSIDE`, a file slice a file `evil/owned`. Were the link made before the file
    // slice ran (another tar process, which cannot see the first one's guard), root would write
    // OUTSIDE/owned.
    const port = await freePort()
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const spec = parseSpec(redis(port))
    const first = await up(spec, engine(store).options)
    const [entry] = await store.list()
    const scratch = tempDir('evil')
    dirs.push(scratch)
    const outside = join(scratch.path, 'outside')
    execFileSync('mkdir', [outside])
    const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
    const original = readFileSync(entry?.archivePath as string)
    const parts = decodeParts(entry?.metadata.parts, original.length)
    const [checkpoint, volume] = parts as [ArchivePart, ArchivePart & { kind: 'volume' }]
    expect(volume.slice).toBe(0)
    const slice = (script: string, out: string): Buffer => {
      execFileSync('python3', ['-c', script, out, outside])
      execFileSync('zstd', ['-qf', out, '-o', `${out}.zst`])
      return readFileSync(`${out}.zst`)
    }
    const tree = slice(
      `import sys, tarfile
t = tarfile.open(sys.argv[1], "w")
d = tarfile.TarInfo("."); d.type = tarfile.DIRTYPE; d.mode = 0o755; t.addfile(d)
l = tarfile.TarInfo("./evil"); l.type = tarfile.SYMTYPE; l.linkname = sys.argv[2]; t.addfile(l)
t.close()`,
      join(scratch.path, 'tree.tar')
    )
    const files = slice(
      `import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w")
f = tarfile.TarInfo("./evil/owned"); data = b"owned"; f.size = len(data); t.addfile(f, io.BytesIO(data))
t.close()`,
      join(scratch.path, 'files.tar')
    )
    const head = original.subarray(0, checkpoint.bytes)
    const evil = Buffer.concat([head, tree, files])
    const archive = join(scratch.path, 'evil.checkpoint')
    writeFileSync(archive, evil)
    const newParts = [
      checkpoint,
      { ...volume, offset: head.length, bytes: tree.length, sha256: sha256(tree) },
      {
        ...volume,
        offset: head.length + tree.length,
        bytes: files.length,
        sha256: sha256(files),
        slice: 1,
        unpackedBytes: 5
      }
    ]
    await store.save(first.cacheKey, archive, {
      ...(entry?.metadata as EntryMetadata),
      bytes: evil.length,
      sha256: sha256(evil),
      parts: encodeParts(newParts)
    })
    await down(name, { podman })

    const second = await up(spec, engine(store).options)
    expect(second).toMatchObject({ restored: false, cacheHit: true })
    expect(second.warnings.join('\n')).toMatch(
      /restore from .* failed, starting cold instead: unpacking volume \w+ failed/
    )
    expect(readdirSync(outside)).toEqual([])
    expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
  })

  test('a volume of the same name that warmstart did not make is left alone: the service starts cold', async () => {
    const port = await freePort()
    const store = new LocalDirectoryStore({ dir: storeDir() })
    const spec = parseSpec(redis(port))
    await up(spec, engine(store).options)
    const [entry] = await store.list()
    const volume = decodeParts(entry?.metadata.parts, entry?.bytes as number).find(isVolumePart)
    expect(volume?.destination).toBe('/data')
    await down(name, { podman })
    const volumeName = volume?.name as string
    // Someone's own volume, by chance of the same name, holding their data.
    await podman.podman(['volume', 'create', volumeName])
    try {
      const own = join((await podman.inspectVolume(volumeName)).Mountpoint, 'mine')
      writeFileSync(own, 'keep me')
      const second = await up(spec, engine(store).options)
      expect(second).toMatchObject({ restored: false, cacheHit: true })
      expect(second.warnings.join('\n')).toMatch(
        new RegExp(`a volume named ${volumeName} already exists and warmstart did not create it`)
      )
      expect(readFileSync(own, 'utf8')).toBe('keep me')
      expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
      await down(name, { podman })
      expect(await podman.volumeExists(volumeName)).toBe(true)
    } finally {
      await podman.removeVolume(volumeName)
    }
  })

  test('an unwritable store leaves the service up with a warning', async () => {
    const port = await freePort()
    const parent = storeDir()
    const blocked = join(parent, 'store')
    writeFileSync(blocked, 'a file where the store directory should be')
    const store = new LocalDirectoryStore({ dir: blocked })
    const result = await up(parseSpec(redis(port)), engine(store).options)
    expect(result).toMatchObject({ restored: false, saved: false })
    expect(result.warnings.join('\n')).toMatch(/could not be stored in local directory .*store/)
    expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
  })

  test('a container of the same name is an error unless replace is asked for', async () => {
    const port = await freePort()
    const store = new LocalDirectoryStore({ dir: storeDir() })
    await podman.run({ image: IMAGES.redis, name, replace: true })
    const spec = parseSpec(redis(port))
    const error = await up(spec, engine(store, { replace: false }).options).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(
      new RegExp(`a container named ${name} already exists.*--replace`)
    )
    const result = await up(spec, engine(store, { replace: true }).options)
    expect(result.saved).toBe(true)
    expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
  })
})
