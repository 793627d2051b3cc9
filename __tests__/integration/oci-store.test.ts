// The registry store against a real registry: Debian's docker-registry on loopback with htpasswd
// authentication and deletes enabled (tools/registry/server.ts). First the store alone, with
// archives made here (a checkpoint part and a volume part of random bytes): pushes and lookups
// (the parts read back through the hit's streaming source), restore keys, credentials, a
// tampered blob, a missing blob, a registry that goes away in the middle of a part, two jobs
// saving one key at once, ls and prune. Then a service end to end through the CLI's bundle: a
// cold `up` pushes, a second `up` with nothing left on this machine (no container, no local
// store) restores it warm; a tampered blob, a registry cut off in the middle of the restore and
// wrong credentials each start it cold, with the reason.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, Socket, type Server } from 'node:net'
import { join } from 'node:path'
import { encodeParts, type ArchivePart } from '../../src/archive/layout.js'
import { down } from '../../src/engine/engine.js'
import { Podman } from '../../src/podman.js'
import {
  parseOciLocation,
  tagForKey,
  ARTIFACT_TYPE,
  MANIFEST_MEDIA_TYPE
} from '../../src/store/oci/artifact.js'
import { readCredentials } from '../../src/store/oci/credentials.js'
import { RegistryClient } from '../../src/store/oci/registry-client.js'
import { OciRegistryStore } from '../../src/store/oci-registry.js'
import type { EntryMetadata, StoreHit } from '../../src/store/store.js'
import { startTestRegistry, writeAuthFile, type TestRegistry } from '../../tools/registry/server.js'
import { IMAGES, freePort, redisCli, requireHost, tempDir } from './host.js'

const root = new URL('../..', import.meta.url).pathname
let registry: TestRegistry
const work = tempDir('oci-store')

beforeAll(async () => {
  registry = await startTestRegistry()
})

afterAll(async () => {
  await registry?.stop()
  work.remove()
})

/** A two-part archive (a checkpoint part, then a volume's slice 0) and the metadata naming it. */
function makeArchive(
  name: string,
  sizes: [number, number] = [3 << 20, 1 << 20]
): { path: string; metadata: EntryMetadata; bytes: Buffer } {
  const blobs = sizes.map((size) => randomBytes(size))
  const bytes = Buffer.concat(blobs)
  const path = join(work.path, `${name}.tar`)
  writeFileSync(path, bytes)
  const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex')
  const parts: ArchivePart[] = [
    { kind: 'checkpoint', offset: 0, bytes: sizes[0], sha256: sha(blobs[0] as Buffer) },
    {
      kind: 'volume',
      offset: sizes[0],
      bytes: sizes[1],
      sha256: sha(blobs[1] as Buffer),
      name: 'data',
      destination: '/data',
      uid: 0,
      gid: 0,
      slice: 0,
      unpackedBytes: sizes[1]
    }
  ]
  const metadata = {
    format: 'test',
    sha256: sha(bytes),
    bytes: bytes.length,
    parts: encodeParts(parts)
  }
  return { path, metadata, bytes }
}

function openStore(
  repository: string,
  options: { password?: string; anonymous?: boolean; host?: string; now?: () => number } = {}
): OciRegistryStore {
  return new OciRegistryStore({
    location: parseOciLocation(`oci://${options.host ?? registry.host}/${repository}`),
    credentials: options.anonymous
      ? undefined
      : { username: registry.username, password: options.password ?? registry.password },
    now: options.now
  })
}

/** The whole archive of a hit, read part by part through its source, as a restore reads it. */
async function readArchive(hit: StoreHit | undefined): Promise<Buffer> {
  const source = hit?.source
  if (!source) throw new Error('the hit has no streaming source')
  const chunks: Buffer[] = []
  for (const part of partsOf(hit.metadata)) {
    for await (const chunk of source.read(part)) chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Changes one byte of a part's blob in the registry's storage (same length). */
function tamper(part: ArchivePart): void {
  const file = blobFile(`sha256:${part.sha256}`)
  const bytes = readFileSync(file)
  bytes[1000] = (bytes[1000] as number) ^ 0xff
  writeFileSync(file, bytes)
}

/** The file holding a blob's bytes in the registry's storage. */
function blobFile(digest: string): string {
  const hex = digest.replace('sha256:', '')
  return join(registry.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')
}

function partsOf(metadata: EntryMetadata): ArchivePart[] {
  return JSON.parse(String(metadata.parts)) as ArchivePart[]
}

describe('the store against a real registry', () => {
  test('a save is an OCI artifact of one blob per part; a fresh store finds it and gets every byte', async () => {
    const archive = makeArchive('roundtrip')
    const writer = openStore('warmstart/roundtrip')
    const saved = await writer.save('service-key-1', archive.path, archive.metadata)
    expect(saved).toEqual({ saved: true, bytes: archive.bytes.length })

    // The manifest as the registry holds it: warmstart's artifact type, the parts as layers.
    const client = new RegistryClient({
      location: parseOciLocation(`oci://${registry.host}/warmstart/roundtrip`),
      credentials: { username: registry.username, password: registry.password }
    })
    const manifest = await client.getManifest(tagForKey('service-key-1'), MANIFEST_MEDIA_TYPE)
    const parsed = JSON.parse(manifest?.body ?? '{}') as {
      artifactType: string
      layers: Array<{ digest: string; size: number }>
      annotations: Record<string, string>
    }
    expect(parsed.artifactType).toBe(ARTIFACT_TYPE)
    expect(parsed.layers.map((layer) => layer.digest)).toEqual(
      partsOf(archive.metadata).map((part) => `sha256:${part.sha256}`)
    )
    expect(parsed.annotations['dev.warmstart.key']).toBe('service-key-1')

    const reader = openStore('warmstart/roundtrip')
    const hit = await reader.lookup('service-key-1')
    expect(hit).toMatchObject({ key: 'service-key-1', bytes: archive.bytes.length })
    expect(hit?.archivePath).toBeUndefined() // nothing on this machine's disk
    expect(hit?.source?.bytes).toBe(archive.bytes.length)
    expect(hit?.metadata).toEqual(archive.metadata)
    expect((await readArchive(hit)).equals(archive.bytes)).toBe(true)
    // A range that is not one part is refused rather than served wrong.
    const stray = hit?.source?.read({ offset: 1, bytes: 10 })
    await expect(stray?.toArray()).rejects.toThrow(/not one part/)

    expect(await reader.lookup('another-key')).toBeUndefined()
    expect((await reader.list()).map((entry) => entry.key)).toEqual(['service-key-1'])
  })

  test('restore keys: the newest entry whose key starts with the first prefix that matches', async () => {
    let clock = Date.parse('2026-11-01T00:00:00Z')
    const store = openStore('warmstart/restore-keys', { now: () => clock })
    const older = makeArchive('older')
    const newer = makeArchive('newer')
    await store.save('app-v1-aaa', older.path, older.metadata)
    clock += 60_000
    await store.save('app-v1-bbb', newer.path, newer.metadata)
    clock += 60_000
    await store.save('other-zzz', older.path, older.metadata)

    const hit = await store.lookup('app-v2-ccc', ['app-v2-', 'app-v1-'])
    expect(hit?.key).toBe('app-v1-bbb')
    expect((await readArchive(hit)).equals(newer.bytes)).toBe(true)
    expect(await store.lookup('app-v3', ['nothing-'])).toBeUndefined()
  })

  test('credentials: refused ones and missing ones fail with the fix; an auth file is read', async () => {
    const archive = makeArchive('credentials')
    await openStore('warmstart/credentials').save('k', archive.path, archive.metadata)

    const wrong = openStore('warmstart/credentials', { password: 'not-the-password' })
    const refused = await wrong.lookup('k').catch((error: Error) => error)
    expect(String(refused)).toMatch(/access denied .*the credentials given were refused/)
    expect(String(refused)).not.toContain('not-the-password')

    const none = openStore('warmstart/credentials', { anonymous: true })
    await expect(none.lookup('k')).rejects.toThrow(/podman login 127\.0\.0\.1:\d+/)

    const authFile = join(work.path, 'auth.json')
    writeAuthFile(authFile, registry.host, registry.username, registry.password)
    expect(
      readCredentials(
        registry.host,
        'warmstart/credentials',
        { REGISTRY_AUTH_FILE: authFile },
        '/nonexistent'
      )
    ).toEqual({ username: registry.username, password: registry.password })
  })

  test('a tampered blob: its part fails at its end, naming the blob', async () => {
    const archive = makeArchive('tampered')
    const store = openStore('warmstart/tampered')
    await store.save('k', archive.path, archive.metadata)
    tamper(partsOf(archive.metadata)[0] as ArchivePart)

    const hit = await openStore('warmstart/tampered').lookup('k')
    await expect(readArchive(hit)).rejects.toThrow(
      /blob sha256:[0-9a-f]{64} from the OCI registry .* does not match its digest/
    )
  })

  test('a missing blob makes the lookup fail, before any restore starts', async () => {
    const archive = makeArchive('missing')
    const store = openStore('warmstart/missing')
    await store.save('k', archive.path, archive.metadata)
    const volume = partsOf(archive.metadata)[1] as ArchivePart
    rmSync(join(blobFile(`sha256:${volume.sha256}`), '..'), { recursive: true })

    await expect(openStore('warmstart/missing').lookup('k')).rejects.toThrow(
      `lacks its blob sha256:${volume.sha256}`
    )
  })

  test('a registry that goes away in the middle of a part fails that part', async () => {
    const archive = makeArchive('cut', [24 << 20, 1 << 20])
    await openStore('warmstart/cut').save('k', archive.path, archive.metadata)
    // Between the store and the registry: cuts every connection once 4 MiB of the registry's
    // answers have gone by (the first blob is 24 MiB).
    const proxy = await cuttingProxy(registry.port, 4 << 20)
    try {
      const hit = await openStore('warmstart/cut', { host: `127.0.0.1:${proxy.port}` }).lookup('k')
      await expect(readArchive(hit)).rejects.toThrow()
    } finally {
      proxy.server.close()
    }
    // And one that is not there at all.
    const nowhere = openStore('warmstart/cut', { host: `127.0.0.1:${await freePort()}` })
    await expect(nowhere.lookup('k')).rejects.toThrow(/is unreachable/)
  })

  test('two jobs saving one key at once leave one complete entry, never a mix', async () => {
    const first = makeArchive('race-1')
    const second = makeArchive('race-2')
    await Promise.all([
      openStore('warmstart/race').save('same-key', first.path, first.metadata),
      openStore('warmstart/race').save('same-key', second.path, second.metadata)
    ])
    const hit = await openStore('warmstart/race').lookup('same-key')
    const got = await readArchive(hit)
    const winner = got.equals(first.bytes) ? first : second
    expect(got.equals(winner.bytes)).toBe(true)
    expect(hit?.metadata).toEqual(winner.metadata)
  })

  test('ls and prune: by age, then by size, through the registry API', async () => {
    let clock = Date.parse('2026-11-01T00:00:00Z')
    const store = openStore('warmstart/prune', { now: () => clock })
    const day = 86_400_000
    for (const name of ['a', 'b', 'c', 'd']) {
      const archive = makeArchive(`prune-${name}`)
      await store.save(`key-${name}`, archive.path, archive.metadata)
      clock += day
    }
    // Now: a is 4 days old, b 3, c 2, d 1.
    expect((await store.list()).map((entry) => entry.key)).toEqual([
      'key-d',
      'key-c',
      'key-b',
      'key-a'
    ])
    const wouldGo = await store.prune({ maxAgeMs: 2.5 * day, dryRun: true })
    expect(wouldGo.map((entry) => entry.key).sort()).toEqual(['key-a', 'key-b'])
    expect((await store.list()).length).toBe(4)

    const gone = await store.prune({ maxAgeMs: 2.5 * day })
    expect(gone.map((entry) => entry.key).sort()).toEqual(['key-a', 'key-b'])
    expect((await store.list()).map((entry) => entry.key)).toEqual(['key-d', 'key-c'])
    expect(await store.lookup('key-a')).toBeUndefined()

    const bySize = await store.prune({ maxBytes: 4 << 20 }) // one entry's worth
    expect(bySize.map((entry) => entry.key)).toEqual(['key-c'])
    expect((await store.list()).map((entry) => entry.key)).toEqual(['key-d'])
  })
})

describe('a service end to end through the CLI bundle', () => {
  const podman = new Podman()
  const name = 'warmstart-it-oci'

  beforeAll(async () => {
    await requireHost(podman, [IMAGES.redis])
    await down(name, { podman })
  })

  afterEach(async () => {
    await down(name, { podman })
  })

  /** `up` of a Redis that the warm-up marks, through the CLI, against the store given. */
  function upArgs(store: string, port: number, key: string): string[] {
    return [
      'up',
      ...['--image', IMAGES.redis, '--name', name, '--ports', `127.0.0.1:${port}:6379`],
      ...['--warmup', 'redis-cli -p "$WARMSTART_PORT" set warmed-by "the cold run"'],
      ...['--key', key, '--store', store, '--json']
    ]
  }

  test('a cold up pushes; with nothing left here, the next up restores it warm from the registry', async () => {
    const authFile = join(work.path, 'cli-auth.json')
    writeAuthFile(authFile, registry.host, registry.username, registry.password)
    const env = { REGISTRY_AUTH_FILE: authFile }
    const store = `oci://${registry.host}/warmstart/cli`
    const port = await freePort()
    const cold = await cli(upArgs(store, port, 'oci-cli'), env)
    expect({ status: cold.status, stderr: cold.stderr }).toMatchObject({ status: 0 })
    expect(JSON.parse(cold.stdout)).toMatchObject({ restored: false, saved: true })

    // A fresh machine as far as the service goes: no container, and no local store is involved.
    await down(name, { podman })
    const warm = await cli(upArgs(store, port, 'oci-cli'), env)
    expect({ status: warm.status, stderr: warm.stderr }).toMatchObject({ status: 0 })
    expect(JSON.parse(warm.stdout)).toMatchObject({ restored: true, 'cache-hit': true })
    expect(await redisCli(port, 'get', 'warmed-by')).toBe('the cold run')

    const listed = await cli(['ls', '--store', store, '--json'], env)
    expect({ status: listed.status, stderr: listed.stderr }).toMatchObject({ status: 0 })
    const entries = JSON.parse(listed.stdout) as Array<{ key: string; bytes: number }>
    expect(entries).toHaveLength(1)
    expect(entries[0]?.key).toBe(JSON.parse(warm.stdout)['cache-key'])

    const pruned = await cli(['prune', '--store', store, '--all'], env)
    expect(pruned.stdout).toMatch(/^removed 1 checkpoint\(s\)/)
    expect((await cli(['ls', '--store', store], env)).stdout).toMatch(
      /^no checkpoints in the OCI registry/
    )
  }, 180_000)

  test('a tampered blob, a registry cut off mid-restore, wrong credentials: each starts cold, saying why', async () => {
    const authFile = join(work.path, 'cli-faults-auth.json')
    writeAuthFile(authFile, registry.host, registry.username, registry.password)
    const env = { REGISTRY_AUTH_FILE: authFile }
    const store = `oci://${registry.host}/warmstart/cli-faults`
    const port = await freePort()
    const args = upArgs(store, port, 'oci-cli-faults')
    const first = await cli(args, env)
    expect({ status: first.status, stderr: first.stderr }).toMatchObject({ status: 0 })
    const cacheKey = (await openStore('warmstart/cli-faults').list())[0]?.key as string

    // One byte of the checkpoint part's blob changed in the registry's storage.
    const hit = await openStore('warmstart/cli-faults').lookup(cacheKey)
    tamper(partsOf(hit?.metadata ?? {})[0] as ArchivePart)
    await down(name, { podman })
    const tampered = await cli(args, env)
    expect({ status: tampered.status, stderr: tampered.stderr }).toMatchObject({ status: 0 })
    expect(JSON.parse(tampered.stdout)).toMatchObject({ restored: false, 'cache-hit': true })
    expect(tampered.stderr).toMatch(
      /restore from .* failed, starting cold instead: .*does not match its digest/
    )
    expect(await redisCli(port, 'get', 'warmed-by')).toBe('the cold run')
    expect(leftoverImageDirs()).toEqual([])

    // That cold run saved a sound checkpoint again; now the connection dies half-way through it
    // (the manifest and the HEADs before it are a few KiB).
    await down(name, { podman })
    const resaved = await openStore('warmstart/cli-faults').lookup(cacheKey)
    expect(resaved?.bytes).toBeGreaterThan(64 << 10)
    const proxy = await cuttingProxy(registry.port, Math.floor((resaved?.bytes ?? 0) / 2))
    try {
      const viaProxy = `127.0.0.1:${proxy.port}`
      writeAuthFile(authFile, viaProxy, registry.username, registry.password)
      const cut = await cli(
        upArgs(`oci://${viaProxy}/warmstart/cli-faults`, port, 'oci-cli-faults'),
        env
      )
      expect({ status: cut.status, stderr: cut.stderr }).toMatchObject({ status: 0 })
      expect(JSON.parse(cut.stdout)).toMatchObject({ restored: false, 'cache-hit': true })
      expect(cut.stderr).toMatch(/restore from .* failed, starting cold instead/)
      expect(await redisCli(port, 'get', 'warmed-by')).toBe('the cold run')
      expect(leftoverImageDirs()).toEqual([])
    } finally {
      proxy.server.close()
    }

    // Wrong credentials: a failed lookup, a cold start, and the password nowhere in the output.
    await down(name, { podman })
    writeAuthFile(authFile, registry.host, registry.username, 'wrong-password-x7')
    const refused = await cli(args, env)
    expect({ status: refused.status, stderr: refused.stderr }).toMatchObject({ status: 0 })
    expect(JSON.parse(refused.stdout)).toMatchObject({ restored: false })
    expect(refused.stderr).toMatch(/lookup in the OCI registry .* failed: .*access denied/)
    expect(refused.stderr + refused.stdout).not.toContain('wrong-password-x7')
  }, 300_000)
})

/** Restore directories of CRIU's images still in memory (a failed restore removes its own). */
function leftoverImageDirs(): string[] {
  try {
    return readdirSync('/dev/shm/warmstart-images').filter((entry) => entry.startsWith('restore.'))
  } catch {
    return []
  }
}

/** The bundled CLI, with `env` added to this process's environment. */
function cli(
  args: string[],
  env: Record<string, string>
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'index.js'), ...args], {
      env: { ...process.env, ...env }
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/** A TCP proxy to the registry that cuts every connection once `limit` bytes came back. */
async function cuttingProxy(
  target: number,
  limit: number
): Promise<{ server: Server; port: number }> {
  let answered = 0
  const server = createServer((client) => {
    const upstream = new Socket()
    upstream.connect(target, '127.0.0.1')
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk: Buffer) => {
      answered += chunk.length
      if (answered > limit) {
        client.destroy()
        upstream.destroy()
        return
      }
      client.write(chunk)
    })
    const close = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', close)
    upstream.on('error', close)
    client.on('close', close)
    upstream.on('close', close)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return { server, port: typeof address === 'object' && address ? address.port : 0 }
}
