// The cache double (tools/cache-double/) against the real @actions/cache 6.3: saveCache and
// restoreCache over both protocols it speaks, v2 (Twirp + azurite blobs) and v1 (GHES REST), and
// each injected fault ending in a miss or -1 rather than a throw. Needs no podman: only node,
// tar and zstd. Set CACHE_DOUBLE_VERBOSE=1 to see @actions/core's log of every call.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals'
import { execFile, execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { childEnv, withEnv } from '../../tools/cache-double/env.js'
import {
  startCacheDouble,
  type CacheDouble,
  type CacheFaults
} from '../../tools/cache-double/server.js'

type Cache = typeof import('@actions/cache')

const MiB = 1024 * 1024
const VERBOSE = process.env.CACHE_DOUBLE_VERBOSE === '1'
const CLI = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'tools',
  'cache-double',
  'cache-cli.mjs'
)
/** A fault must turn into a miss / -1 in about this long (v1 and the non-retried v2 ones). */
const QUICK_MS = 10_000

let cache: Cache
let work: string

beforeAll(async () => {
  // @actions/cache is ESM-only: loaded through jest's ESM support.
  cache = await import('@actions/cache')
  work = await mkdtemp(join(tmpdir(), 'cache-double-test-'))
})

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

interface Outcome<T> {
  result: T
  /** What @actions/core printed (::debug::, ::warning::, plain info lines). */
  output: string
  ms: number
}

/** Calls @actions/cache in this process with the double's env applied, capturing its log. */
async function call<T>(double: CacheDouble, fn: (c: Cache) => Promise<T>): Promise<Outcome<T>> {
  const chunks: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    return true
  }) as typeof process.stdout.write
  const started = performance.now()
  try {
    const result = await withEnv(double.env, () => fn(cache))
    return { result, output: chunks.join(''), ms: performance.now() - started }
  } finally {
    process.stdout.write = write
    if (VERBOSE) process.stdout.write(chunks.join(''))
  }
}

interface CliAnswer {
  result?: number | string | boolean | null
  threw?: string
  ms: number
  output: string
}

/** Calls @actions/cache in a child node process that gets the double's env. */
function callCli(double: CacheDouble, request: Record<string, unknown>): Promise<CliAnswer> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, JSON.stringify(request)],
      { env: childEnv(double.env), maxBuffer: 64 * MiB },
      (error, stdout) => {
        const line = /^@@result (.*)$/m.exec(stdout)?.[1]
        if (!line)
          return reject(new Error(`no result from cache-cli (${error?.message})\n${stdout}`))
        if (VERBOSE) process.stdout.write(stdout)
        resolve({ ...(JSON.parse(line) as Omit<CliAnswer, 'output'>), output: stdout })
      }
    )
  })
}

async function randomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path)
  for (let left = bytes; left > 0; left -= MiB) {
    const ok = out.write(randomBytes(Math.min(MiB, left)))
    if (!ok) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject)
    out.end(() => resolve())
  })
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** A directory with a big random file and a small one; returns their digests. */
async function makeData(dir: string, bigBytes: number): Promise<Record<string, string>> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await randomFile(join(dir, 'big.bin'), bigBytes)
  await writeFile(
    join(dir, 'small.txt'),
    `warmstart cache double ${randomBytes(8).toString('hex')}\n`
  )
  return digests(dir)
}

async function digests(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {}
  for (const name of ['big.bin', 'small.txt']) {
    const path = join(dir, name)
    result[name] = existsSync(path) ? await sha256(path) : 'missing'
  }
  return result
}

/** The version @actions/cache computes for `paths` (zstd on PATH: zstd-without-long). */
function cacheVersion(paths: string[]): string {
  let method = 'gzip'
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' })
    method = 'zstd-without-long'
  } catch {
    // no zstd: gzip
  }
  return createHash('sha256')
    .update([...paths, method, '1.0'].join('|'))
    .digest('hex')
}

function clearFaults(faults: CacheFaults): void {
  delete faults.lookup
  delete faults.upload
  delete faults.download
}

function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

describe.each(['v2', 'v1'] as const)('cache double, protocol %s', (protocol) => {
  let double: CacheDouble
  let data: string
  let small: string
  let expected: Record<string, string>
  const key = (name: string): string => `warmstart-${protocol}-${name}`

  beforeAll(async () => {
    double = await startCacheDouble({ protocol, dir: work })
    data = join(work, protocol, 'data')
    small = join(work, protocol, 'small')
    expected = await makeData(data, 20 * MiB)
    await makeData(small, 1024)
  }, 60_000)

  afterAll(async () => {
    await double?.stop()
  }, 30_000)

  beforeEach(async () => {
    clearFaults(double.faults)
    // Fault tests remove it to restore into; a test that saves it must find it.
    await makeData(small, 1024)
  })

  test('isFeatureAvailable() is true with the env and false without it', async () => {
    expect((await call(double, async (c) => c.isFeatureAvailable())).result).toBe(true)
    const none =
      protocol === 'v2'
        ? { ...double.env, ACTIONS_RESULTS_URL: '' }
        : { ...double.env, ACTIONS_CACHE_URL: '' }
    expect(await withEnv(none, async () => cache.isFeatureAvailable())).toBe(false)
  })

  // The tests of this block share one double and run in any order: each names its own keys.
  test('a lookup of a key nothing was saved under is a miss', async () => {
    const { result } = await call(double, (c) =>
      c.restoreCache([data], key('nothing'), [key('nothing-')])
    )
    expect(result).toBeUndefined()
    expect((await double.entries()).filter((e) => e.key.startsWith(key('nothing')))).toEqual([])
  })

  test('save, then restore into a fresh directory gives identical bytes', async () => {
    const saved = await call(double, (c) => c.saveCache([data], key('roundtrip')))
    expect(saved.result).toBeGreaterThan(0)
    const entry = (await double.entries()).find((e) => e.key === key('roundtrip'))
    expect(entry).toEqual({
      key: key('roundtrip'),
      version: cacheVersion([data]),
      size: expect.any(Number)
    })
    expect(entry?.size).toBeGreaterThan(20 * MiB)

    await rm(data, { recursive: true })
    const restored = await call(double, (c) => c.restoreCache([data], key('roundtrip')))
    expect(restored.result).toBe(key('roundtrip'))
    expect(await digests(data)).toEqual(expected)
  }, 60_000)

  test('restore keys match by prefix, newest first; another path list does not match', async () => {
    expect(
      (await call(double, (c) => c.saveCache([small], key('prefix-1')))).result
    ).toBeGreaterThan(0)
    expect(
      (await call(double, (c) => c.saveCache([small], key('prefix-2')))).result
    ).toBeGreaterThan(0)
    const restore = async (primary: string, restoreKeys: string[] = [], paths = [small]) =>
      (await call(double, (c) => c.restoreCache(paths, primary, restoreKeys))).result

    expect(await restore(key('prefix-1'))).toBe(key('prefix-1'))
    expect(await restore(key('prefix-none'), [key('nope-'), key('prefix-')])).toBe(key('prefix-2'))
    expect(await restore(key('prefix-'))).toBe(key('prefix-2'))
    expect(await restore(key('prefix-none'), [key('nope-')])).toBeUndefined()
    // Same key, other paths: another version, no match.
    expect(
      await restore(key('prefix-1'), [key('prefix-')], [join(work, 'elsewhere')])
    ).toBeUndefined()
  }, 60_000)

  test('saving an existing key is declined: -1 and a log line, no throw', async () => {
    expect((await call(double, (c) => c.saveCache([small], key('twice')))).result).toBeGreaterThan(
      0
    )
    const again = await call(double, (c) => c.saveCache([small], key('twice')))
    expect(again.result).toBe(-1)
    expect(again.output).toMatch(/Failed to save: Unable to reserve cache with key .*twice/)
    expect((await double.entries()).filter((e) => e.key === key('twice'))).toHaveLength(1)
  }, 60_000)

  describe('faults that end quickly', () => {
    beforeAll(async () => {
      const saved = await call(double, (c) => c.saveCache([small], key('faults')))
      expect(saved.result).toBeGreaterThan(0)
    }, 60_000)

    const restoreFails = async (faults: CacheFaults): Promise<Outcome<string | undefined>> => {
      Object.assign(double.faults, faults)
      await rm(small, { recursive: true, force: true })
      const outcome = await call(double, (c) => c.restoreCache([small], key('faults')))
      expect(outcome.result).toBeUndefined()
      expect(outcome.ms).toBeLessThan(QUICK_MS)
      return outcome
    }

    const saveFails = async (faults: CacheFaults, name: string): Promise<Outcome<number>> => {
      Object.assign(double.faults, faults)
      await makeData(small, 1024)
      const outcome = await call(double, (c) => c.saveCache([small], key(name)))
      expect(outcome.result).toBe(-1)
      expect(outcome.ms).toBeLessThan(QUICK_MS)
      expect((await double.entries()).map((e) => e.key)).not.toContain(key(name))
      return outcome
    }

    if (protocol === 'v1') {
      test('lookup error500: a miss with a warning', async () => {
        const { output } = await restoreFails({ lookup: 'error500' })
        expect(output).toMatch(/::warning::Failed to restore: .*500/)
      })

      test('lookup malformed: a miss with a warning', async () => {
        const { output } = await restoreFails({ lookup: 'malformed' })
        expect(output).toMatch(/::warning::Failed to restore: Cache not found/)
      })

      test('upload error500: a warning and nothing stored, but saveCache returns the cache id', async () => {
        // @actions/cache 6.3 saveCacheV1 returns the id it reserved even when the upload then
        // fails (v2 returns -1): on GHES the return value does not tell whether it was saved.
        double.faults.upload = 'error500'
        await makeData(small, 1024)
        const outcome = await call(double, (c) => c.saveCache([small], key('upload-500')))
        expect(outcome.result).toBeGreaterThan(0)
        expect(outcome.ms).toBeLessThan(QUICK_MS)
        expect(outcome.output).toMatch(/::warning::Failed to save: .*500/)
        expect((await double.entries()).map((e) => e.key)).not.toContain(key('upload-500'))
      })
    }

    test('upload quota: -1 with the quota message', async () => {
      const { output } = await saveFails({ upload: 'quota' }, 'quota')
      if (protocol === 'v1') {
        expect(output).toMatch(/::warning::Failed to save: Cache size of .* quota/)
      } else {
        // v2: @actions/cache turns it into a ReserveCacheError (an info line); the quota
        // message itself is in its debug log.
        expect(output).toMatch(/Cache storage quota has been hit/)
        expect(output).toMatch(/Failed to save: Unable to reserve cache with key/)
      }
    })

    test('download error500: a miss with a warning', async () => {
      const { output } = await restoreFails({ download: 'error500' })
      expect(output).toMatch(/::warning::Failed to restore: .*500/)
    })

    test('download truncate: a miss with a warning', async () => {
      const { output } = await restoreFails({ download: 'truncate' })
      expect(output).toMatch(/::warning::Failed to restore: /)
    })

    test('with the faults cleared the same entry restores again', async () => {
      await rm(small, { recursive: true, force: true })
      const { result } = await call(double, (c) => c.restoreCache([small], key('faults')))
      expect(result).toBe(key('faults'))
      expect(existsSync(join(small, 'big.bin'))).toBe(true)
    })
  })

  test('a child process with the env saves and restores too', async () => {
    const dir = join(work, protocol, 'child')
    const want = await makeData(dir, 2 * MiB)
    const available = await callCli(double, { op: 'available' })
    expect(available.result).toBe(true)
    const saved = await callCli(double, { op: 'save', paths: [dir], key: key('child') })
    expect(saved.result).toBeGreaterThan(0)
    await rm(dir, { recursive: true })
    const restored = await callCli(double, { op: 'restore', paths: [dir], key: key('child') })
    expect(restored.result).toBe(key('child'))
    expect(await digests(dir)).toEqual(want)
  }, 60_000)

  test('speed of a ~100 MB archive (printed, not asserted)', async () => {
    const dir = join(work, protocol, 'speed')
    const want = await makeData(dir, 100 * MiB)
    const saved = await call(double, (c) => c.saveCache([dir], key('speed')))
    expect(saved.result).toBeGreaterThan(0)
    const size = (await double.entries()).find((e) => e.key === key('speed'))?.size ?? 0
    const twirpOrRest = double.requests()
    await rm(dir, { recursive: true })
    const restored = await call(double, (c) => c.restoreCache([dir], key('speed')))
    expect(restored.result).toBe(key('speed'))
    expect(await digests(dir)).toEqual(want)

    // The transfer alone: from the reservation to the finalize/commit request.
    const last = twirpOrRest.slice().reverse()
    const reserve = last.find((r) => /CreateCacheEntry$|\/caches$/.test(r.path))
    const commit = last.find(
      (r) => /FinalizeCacheEntryUpload$|\/caches\/\d+$/.test(r.path) && r.method === 'POST'
    )
    const mb = size / 1e6
    const rate = (ms: number): string => `${(mb / (ms / 1000)).toFixed(1)} MB/s`
    const clientLine = /Sent \d+ of \d+ \(100\.0%\), [\d.]+ MBs\/sec/.exec(saved.output)?.[0]
    console.log(
      [
        `cache double ${protocol}: archive ${mb.toFixed(1)} MB`,
        `  saveCache (tar+zstd+upload): ${(saved.ms / 1000).toFixed(2)} s, ${rate(saved.ms)}`,
        reserve && commit
          ? `  upload alone (reserve -> finalize): ${((commit.at - reserve.at) / 1000).toFixed(2)} s, ${rate(commit.at - reserve.at)}`
          : '',
        clientLine ? `  @actions/cache says: ${clientLine}` : '',
        `  restoreCache (download+unzstd+untar): ${(restored.ms / 1000).toFixed(2)} s, ${rate(restored.ms)}`
      ]
        .filter((line) => line !== '')
        .join('\n')
    )
    await rm(dir, { recursive: true })
  }, 300_000)

  if (protocol === 'v2') {
    test('an archive above 128 MiB goes up in blocks (PUT ?comp=block, ?comp=blocklist)', async () => {
      const dir = join(work, protocol, 'blocks')
      const want = await makeData(dir, 136 * MiB)
      const saved = await call(double, (c) => c.saveCache([dir], key('blocks')))
      expect(saved.result).toBeGreaterThan(0)
      const size = (await double.entries()).find((e) => e.key === key('blocks'))?.size ?? 0
      expect(size).toBeGreaterThan(128 * MiB)

      const credential = new StorageSharedKeyCredential(
        'devstoreaccount1',
        'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
      )
      const container = new BlobServiceClient(
        double.blobStoreUrl ?? '',
        credential
      ).getContainerClient('actions-cache')
      let blocks = -1
      for await (const blob of container.listBlobsFlat()) {
        if (blob.properties.contentLength !== size) continue
        const list = await container.getBlockBlobClient(blob.name).getBlockList('committed')
        blocks = list.committedBlocks?.length ?? 0
      }
      expect(blocks).toBe(3) // 64 MiB + 64 MiB + the rest

      await rm(dir, { recursive: true })
      const restored = await call(double, (c) => c.restoreCache([dir], key('blocks')))
      expect(restored.result).toBe(key('blocks'))
      expect(await digests(dir)).toEqual(want)
      await rm(dir, { recursive: true })
    }, 300_000)
  }
})

describe('cache double v2: faults @actions/cache retries with backoff', () => {
  // The v2 client retries a 500 or a non-JSON answer from the Twirp service 5 times (3 s, then
  // x1.5 each time: 24-35 s in all), and the Azure SDK retries a blob 500 4 times (0 + 4 + 12 s).
  // Each case gets its own double and child process so that the three waits overlap.
  test('lookup error500 / lookup malformed: a miss; upload error500: -1; none throws', async () => {
    const cases: Array<{ faults: CacheFaults; op: 'restore' | 'save' }> = [
      { faults: { lookup: 'error500' }, op: 'restore' },
      { faults: { lookup: 'malformed' }, op: 'restore' },
      { faults: { upload: 'error500' }, op: 'save' }
    ]
    const doubles = await Promise.all(
      cases.map(() => startCacheDouble({ protocol: 'v2', dir: work }))
    )
    try {
      const dir = join(work, 'retried')
      await makeData(dir, 1024)
      const answers = await Promise.all(
        cases.map(({ faults, op }, i) => {
          const double = doubles[i] as CacheDouble
          Object.assign(double.faults, faults)
          return callCli(double, { op, paths: [dir], key: 'warmstart-v2-retried' })
        })
      )
      const [lookup500, malformed, upload500] = answers as [CliAnswer, CliAnswer, CliAnswer]
      for (const answer of answers) expect(answer.threw).toBeUndefined()
      expect(lookup500.result).toBeNull()
      expect(malformed.result).toBeNull()
      expect(upload500.result).toBe(-1)
      expect(upload500.output).toMatch(/::warning::Failed to save: /)

      const lookups = (double: CacheDouble): number =>
        double.requests().filter((r) => r.path.endsWith('/GetCacheEntryDownloadURL')).length
      expect(lookups(doubles[0] as CacheDouble)).toBe(5)
      expect(lookups(doubles[1] as CacheDouble)).toBe(5)
      const puts = (doubles[2] as CacheDouble).requests().filter((r) => r.method === 'PUT')
      expect(puts.map((r) => r.status)).toEqual([500, 500, 500, 500])
      console.log(
        'cache double v2, retried faults: ' +
          `lookup error500 ${(lookup500.ms / 1000).toFixed(1)} s, ` +
          `lookup malformed ${(malformed.ms / 1000).toFixed(1)} s, ` +
          `upload error500 ${(upload500.ms / 1000).toFixed(1)} s`
      )
    } finally {
      await Promise.all(doubles.map((d) => d.stop()))
    }
  }, 120_000)
})

describe('cache double: stop()', () => {
  test.each(['v2', 'v1'] as const)(
    '%s: removes its directory and closes its ports',
    async (protocol) => {
      const double = await startCacheDouble({ protocol, dir: work })
      expect(existsSync(double.dir)).toBe(true)
      const ports = [double.url, ...(double.blobStoreUrl ? [double.blobStoreUrl] : [])]
      for (const url of ports) expect(await canConnect(url)).toBe(true)
      await double.stop()
      await double.stop() // a second stop is harmless
      expect(existsSync(double.dir)).toBe(false)
      for (const url of ports) expect(await canConnect(url)).toBe(false)
    },
    60_000
  )
})
