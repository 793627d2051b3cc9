// The registry store against a real registry: Debian's docker-registry on loopback with htpasswd
// authentication and deletes enabled (tools/registry/server.ts). First the store alone, with
// archives made here (a checkpoint part and a volume part of pseudo-random bytes): pushes and
// lookups, restore keys, credentials, a tampered blob, a missing blob, a registry that goes away
// in the middle of a download, two jobs saving one key at once, ls and prune. Then a service end
// to end through the CLI's bundle: a cold `up` pushes, a second `up` with nothing left on this
// machine (no container, no local store) restores it warm.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
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
import type { EntryMetadata } from '../../src/store/store.js'
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
): { store: OciRegistryStore; downloadDir: string } {
  const downloadDir = join(work.path, `download-${randomBytes(4).toString('hex')}`)
  const store = new OciRegistryStore({
    location: parseOciLocation(`oci://${options.host ?? registry.host}/${repository}`),
    credentials: options.anonymous
      ? undefined
      : { username: registry.username, password: options.password ?? registry.password },
    downloadDir,
    now: options.now
  })
  return { store, downloadDir }
}

/** What a download left in its directory (nothing, after a failed lookup). */
function leftIn(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
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
    const { store: writer } = openStore('warmstart/roundtrip')
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

    const { store: reader, downloadDir } = openStore('warmstart/roundtrip')
    const hit = await reader.lookup('service-key-1')
    expect(hit).toMatchObject({ key: 'service-key-1', bytes: archive.bytes.length })
    expect(hit?.metadata).toEqual(archive.metadata)
    expect(readFileSync(hit?.archivePath as string).equals(archive.bytes)).toBe(true)
    expect(hit?.archivePath.startsWith(downloadDir)).toBe(true)
    expect(statSync(hit?.archivePath as string).mode & 0o077).toBe(0)

    expect(await reader.lookup('another-key')).toBeUndefined()
    expect((await reader.list()).map((entry) => entry.key)).toEqual(['service-key-1'])
  })

  test('restore keys: the newest entry whose key starts with the first prefix that matches', async () => {
    let clock = Date.parse('2026-11-01T00:00:00Z')
    const { store } = openStore('warmstart/restore-keys', { now: () => clock })
    const older = makeArchive('older')
    const newer = makeArchive('newer')
    await store.save('app-v1-aaa', older.path, older.metadata)
    clock += 60_000
    await store.save('app-v1-bbb', newer.path, newer.metadata)
    clock += 60_000
    await store.save('other-zzz', older.path, older.metadata)

    const hit = await store.lookup('app-v2-ccc', ['app-v2-', 'app-v1-'])
    expect(hit?.key).toBe('app-v1-bbb')
    expect(readFileSync(hit?.archivePath as string).equals(newer.bytes)).toBe(true)
    expect(await store.lookup('app-v3', ['nothing-'])).toBeUndefined()
  })

  test('credentials: refused ones and missing ones fail with the fix; an auth file is read', async () => {
    const archive = makeArchive('credentials')
    await openStore('warmstart/credentials').store.save('k', archive.path, archive.metadata)

    const wrong = openStore('warmstart/credentials', { password: 'not-the-password' })
    const refused = await wrong.store.lookup('k').catch((error: Error) => error)
    expect(String(refused)).toMatch(/access denied .*the credentials given were refused/)
    expect(String(refused)).not.toContain('not-the-password')
    expect(leftIn(wrong.downloadDir)).toEqual([])

    const none = openStore('warmstart/credentials', { anonymous: true })
    await expect(none.store.lookup('k')).rejects.toThrow(/podman login 127\.0\.0\.1:\d+/)

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

  test('a tampered blob fails the lookup, and nothing of the download is left', async () => {
    const archive = makeArchive('tampered')
    const { store } = openStore('warmstart/tampered')
    await store.save('k', archive.path, archive.metadata)
    const [checkpoint] = partsOf(archive.metadata)
    const file = blobFile(`sha256:${checkpoint?.sha256}`)
    const bytes = readFileSync(file)
    bytes[1000] = (bytes[1000] as number) ^ 0xff // same length, one byte changed
    writeFileSync(file, bytes)

    const reader = openStore('warmstart/tampered')
    await expect(reader.store.lookup('k')).rejects.toThrow(/does not match its digest/)
    expect(leftIn(reader.downloadDir)).toEqual([])
  })

  test('a missing blob fails the lookup, and nothing of the download is left', async () => {
    const archive = makeArchive('missing')
    const { store } = openStore('warmstart/missing')
    await store.save('k', archive.path, archive.metadata)
    const volume = partsOf(archive.metadata)[1] as ArchivePart
    rmSync(join(blobFile(`sha256:${volume.sha256}`), '..'), { recursive: true })

    const reader = openStore('warmstart/missing')
    await expect(reader.store.lookup('k')).rejects.toThrow(/answered 404 BLOB_UNKNOWN/)
    expect(leftIn(reader.downloadDir)).toEqual([])
  })

  test('a registry that goes away in the middle of a download fails the lookup cleanly', async () => {
    const archive = makeArchive('cut', [24 << 20, 1 << 20])
    await openStore('warmstart/cut').store.save('k', archive.path, archive.metadata)
    // Between the store and the registry: passes everything, then cuts every connection once
    // 4 MiB of the registry's answers have gone by (the first blob is 24 MiB).
    const proxy = await cuttingProxy(registry.port, 4 << 20)
    try {
      const reader = openStore('warmstart/cut', { host: `127.0.0.1:${proxy.port}` })
      await expect(reader.store.lookup('k')).rejects.toThrow()
      expect(leftIn(reader.downloadDir)).toEqual([])
    } finally {
      proxy.server.close()
    }
    // And one that is not there at all.
    const nowhere = openStore('warmstart/cut', { host: `127.0.0.1:${await freePort()}` })
    await expect(nowhere.store.lookup('k')).rejects.toThrow(/is unreachable/)
  })

  test('two jobs saving one key at once leave one complete entry, never a mix', async () => {
    const first = makeArchive('race-1')
    const second = makeArchive('race-2')
    await Promise.all([
      openStore('warmstart/race').store.save('same-key', first.path, first.metadata),
      openStore('warmstart/race').store.save('same-key', second.path, second.metadata)
    ])
    const hit = await openStore('warmstart/race').store.lookup('same-key')
    const got = readFileSync(hit?.archivePath as string)
    const winner = got.equals(first.bytes) ? first : second
    expect(got.equals(winner.bytes)).toBe(true)
    expect(hit?.metadata).toEqual(winner.metadata)
  })

  test('ls and prune: by age, then by size, through the registry API', async () => {
    let clock = Date.parse('2026-11-01T00:00:00Z')
    const { store } = openStore('warmstart/prune', { now: () => clock })
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

  test('a cold up pushes; with nothing left here, the next up restores it warm from the registry', async () => {
    const authFile = join(work.path, 'cli-auth.json')
    writeAuthFile(authFile, registry.host, registry.username, registry.password)
    const store = `oci://${registry.host}/warmstart/cli`
    const port = await freePort()
    const args = [
      'up',
      ...['--image', IMAGES.redis, '--name', name, '--ports', `127.0.0.1:${port}:6379`],
      ...['--warmup', 'redis-cli -p "$WARMSTART_PORT" set warmed-by "the cold run"'],
      ...['--key', 'oci-cli', '--store', store, '--json']
    ]
    const env = { REGISTRY_AUTH_FILE: authFile }
    const cold = await cli(args, env)
    expect(cold.status).toBe(0)
    expect(JSON.parse(cold.stdout)).toMatchObject({ restored: 'false', saved: true })
    // Nothing of the registry's on this machine: the CLI's download directory is gone.
    expect(readdirSync('/tmp').filter((entry) => entry.startsWith('warmstart-oci-'))).toEqual([])

    await down(name, { podman })
    const warm = await cli(args, env)
    expect(warm.status).toBe(0)
    expect(JSON.parse(warm.stdout)).toMatchObject({ restored: 'true', 'cache-hit': 'true' })
    expect(await redisCli(port, 'get', 'warmed-by')).toBe('the cold run')
    expect(readdirSync('/tmp').filter((entry) => entry.startsWith('warmstart-oci-'))).toEqual([])

    const listed = await cli(['ls', '--store', store, '--json'], env)
    expect(listed.status).toBe(0)
    const entries = JSON.parse(listed.stdout) as Array<{ key: string; bytes: number }>
    expect(entries).toHaveLength(1)
    expect(entries[0]?.key).toBe(JSON.parse(warm.stdout)['cache-key'])

    const pruned = await cli(['prune', '--store', store, '--all'], env)
    expect(pruned.stdout).toMatch(/^removed 1 checkpoint\(s\)/)
    expect((await cli(['ls', '--store', store], env)).stdout).toMatch(
      /^no checkpoints in the OCI registry/
    )

    // Wrong credentials: the service still starts (cold), with the reason in a warning.
    await down(name, { podman })
    writeAuthFile(authFile, registry.host, registry.username, 'wrong-password-x7')
    const refused = await cli(args, env)
    expect(refused.status).toBe(0)
    expect(JSON.parse(refused.stdout)).toMatchObject({ restored: 'false' })
    expect(refused.stderr).toMatch(/access denied/)
    expect(refused.stderr + refused.stdout).not.toContain('wrong-password-x7')
  }, 180_000)
})

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
