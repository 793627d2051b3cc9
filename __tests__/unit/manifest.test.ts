import { describe, expect, test } from '@jest/globals'
import type { HostFingerprint } from '../../src/host/host.js'
import { HOST } from '../host-fingerprint.js'
import { CHECKPOINT_FORMAT, composeKey, type CacheKey, type KeyInputs } from '../../src/key.js'
import { buildManifest, manifestDifferences } from '../../src/archive/manifest.js'
import { parseSpec, type RawSpec } from '../../src/spec.js'
import type { EntryMetadata } from '../../src/store/store.js'

const rawSpec: RawSpec = {
  image: 'localhost/warmstart/postgres:15',
  name: 'pg',
  ports: ['15432:5432'],
  env: ['POSTGRES_PASSWORD=pg-S3cr3t-Zq8vX2!hunter2', 'POSTGRES_DB=app'],
  options: ['--shm-size=256m'],
  command: 'postgres -c fsync=off',
  ready: 'cmd:pg_isready -h 127.0.0.1 -p 15432',
  warmup: './examples/postgres/warmup.sh',
  key: 'migrations-3f9a2c'
}

const host = HOST

const IMAGE_ID = 'sha256:6c1a3b5f2e0d9c8b7a69584736251403f2e1d0c9b8a7f6e5d4c3b2a190817263'
const SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
const CREATED_AT = new Date('2026-03-14T09:26:53.589Z')

function baseInputs(): KeyInputs {
  return {
    spec: parseSpec(rawSpec),
    imageId: IMAGE_ID,
    warmupScript: '#!/bin/sh\npsql -c "CREATE TABLE accounts (id bigserial)"\n',
    host: { ...host, cpuFlags: [...host.cpuFlags] },
    userNamespace: false,
    criuConfigDigest: 'c'.repeat(64)
  }
}

function keyOf(change: (inputs: KeyInputs) => void = () => undefined): CacheKey {
  const inputs = baseInputs()
  change(inputs)
  return composeKey(inputs)
}

function manifestFor(key: CacheKey): EntryMetadata {
  return buildManifest({
    key,
    sha256: SHA256,
    bytes: 48_213_504,
    parts: [{ kind: 'checkpoint', offset: 0, bytes: 48_213_504, sha256: SHA256 }],
    image: rawSpec.image as string,
    createdAt: CREATED_AT
  })
}

const HOST_COMPONENTS = [
  'format',
  'host.arch',
  'host.cgroup',
  'host.cpu-flags',
  'host.cpu-model',
  'host.cpu-vendor',
  'host.cpus',
  'host.criu',
  'host.criu-config',
  'host.kernel',
  'host.memory-gib',
  'host.podman',
  'host.runtime'
]

/** Changes only the host, as another machine would. */
const hostFlips: [component: string, flip: (host: HostFingerprint) => void][] = [
  ['host.arch', (h) => (h.arch = 'arm64')],
  ['host.cpu-vendor', (h) => (h.cpuVendor = 'AuthenticAMD')],
  ['host.cpu-model', (h) => (h.cpuModel = 'Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz')],
  ['host.cpu-flags', (h) => h.cpuFlags.push('avx512_vnni')],
  ['host.kernel', (h) => (h.kernel = '6.8.0-1017-azure')],
  ['host.criu', (h) => (h.criu = '4.1')],
  ['host.podman', (h) => (h.podman = '4.9.3')],
  ['host.runtime', (h) => (h.runtime = 'crun 1.14.1')],
  ['host.cgroup', (h) => (h.cgroup = 'v1')],
  ['host.criu-config', (h) => (h.criuConfig = '0123456789abcdef')],
  ['host.cpus', (h) => (h.cpus = 4)],
  ['host.memory-gib', (h) => (h.memoryGiB = 16)]
]

describe('buildManifest', () => {
  const key = keyOf()
  const manifest = manifestFor(key)

  test('records the key, the archive, the image and every host component', () => {
    expect(manifest).toMatchObject({
      key: key.key,
      specDigest: key.specDigest,
      image: 'localhost/warmstart/postgres:15',
      imageId: IMAGE_ID,
      sha256: SHA256,
      bytes: 48_213_504,
      createdAt: '2026-03-14T09:26:53.589Z',
      'host.arch': 'amd64',
      'host.cpu-vendor': 'GenuineIntel',
      'host.cpu-model': 'Intel(R) Xeon(R) Processor @ 2.80GHz',
      'host.cpu-flags': key.components['host.cpu-flags'],
      'host.kernel': '6.18.44-fc-v657',
      'host.criu': '4.2.1',
      'host.podman': '4.3.1',
      'host.runtime': 'runc 1.1.5',
      'host.cgroup': 'v2',
      'host.criu-config': 'none'
    })
    expect(String(manifest.format)).toBe(String(CHECKPOINT_FORMAT))
    expect(key.specDigest).toMatch(/^[0-9a-f]{16}$/)
    expect(key.key.endsWith(key.specDigest)).toBe(true)
  })

  test('holds exactly the host components of the key, no spec components (secrets)', () => {
    const hostKeys = Object.keys(manifest).filter(
      (name) => name.startsWith('host.') || name === 'format'
    )
    expect(hostKeys.sort()).toEqual(HOST_COMPONENTS)
    for (const name of ['env', 'ports', 'options', 'command', 'warmup', 'warmup-script']) {
      expect(manifest).not.toHaveProperty(name)
    }
    expect(JSON.stringify(manifest)).not.toContain('hunter2')
  })
})

describe('manifestDifferences', () => {
  const key = keyOf()

  test('the key has the host components this suite changes one by one', () => {
    const names = Object.keys(key.components).filter(
      (name) => name.startsWith('host.') || name === 'format'
    )
    expect(names.sort()).toEqual(HOST_COMPONENTS)
    expect(hostFlips.map(([name]) => name).sort()).toEqual(
      HOST_COMPONENTS.filter((name) => name !== 'format')
    )
  })

  test('none for the manifest of the same key, found under it', () => {
    expect(manifestDifferences(manifestFor(key), key, key.key)).toEqual([])
  })

  test('none after the manifest went through JSON (as a store keeps it)', () => {
    const stored = JSON.parse(JSON.stringify(manifestFor(key))) as EntryMetadata
    expect(manifestDifferences(stored, key, key.key)).toEqual([])
  })

  test('none for a manifest of an equal key composed again from the same inputs', () => {
    expect(manifestDifferences(manifestFor(keyOf()), key, key.key)).toEqual([])
  })

  test.each(HOST_COMPONENTS)('%s changed in the manifest: exactly one difference', (name) => {
    const manifest = manifestFor(key)
    const here = name === 'format' ? CHECKPOINT_FORMAT : (key.components[name] as string)
    manifest[name] = `${here}-elsewhere`
    expect(manifestDifferences(manifest, key, key.key)).toEqual([
      `${name}: the checkpoint has ${JSON.stringify(`${here}-elsewhere`)}, this run ${JSON.stringify(here)}`
    ])
  })

  test.each(HOST_COMPONENTS)('%s missing from the manifest: exactly one difference', (name) => {
    const manifest = manifestFor(key)
    delete manifest[name]
    const differences = manifestDifferences(manifest, key, key.key)
    expect(differences).toHaveLength(1)
    expect(differences[0]).toMatch(
      new RegExp(`^${name.replace('.', '\\.')}: the checkpoint has null,`)
    )
  })

  test('a checkpoint of a later format: one difference', () => {
    const manifest = manifestFor(key)
    manifest.format = CHECKPOINT_FORMAT + 1
    expect(manifestDifferences(manifest, key, key.key)).toEqual([
      `format: the checkpoint has ${CHECKPOINT_FORMAT + 1}, this run ${CHECKPOINT_FORMAT}`
    ])
  })

  test.each(hostFlips)(
    'a checkpoint made on another host (%s), found under its own key: exactly one difference',
    (name, flip) => {
      const other = keyOf((inputs) => flip(inputs.host))
      expect(other.components[name]).not.toBe(key.components[name])
      const differences = manifestDifferences(manifestFor(other), key, other.key)
      expect(differences).toEqual([
        `${name}: the checkpoint has ${JSON.stringify(other.components[name])}, this run ${JSON.stringify(key.components[name])}`
      ])
    }
  )

  describe('restore-key hit (found under another key with this prefix)', () => {
    // Another spec on this host: what a restore key like `migrations-` finds.
    const older = keyOf((inputs) => {
      inputs.spec.key = 'migrations-2b7e11'
      inputs.spec.env.POSTGRES_DB = 'app_old'
    })

    test('the stored key shares the prefix but not the key or spec digest', () => {
      expect(older.prefix).toBe(key.prefix)
      expect(older.key).not.toBe(key.key)
      expect(older.specDigest).not.toBe(key.specDigest)
    })

    test('no differences: another spec digest is expected', () => {
      expect(manifestDifferences(manifestFor(older), key, older.key)).toEqual([])
    })

    test.each(hostFlips)('a host change (%s) is still one difference', (name, flip) => {
      const elsewhere = keyOf((inputs) => {
        inputs.spec.key = 'migrations-2b7e11'
        flip(inputs.host)
      })
      const manifest = manifestFor(elsewhere)
      manifest.key = older.key
      expect(manifestDifferences(manifest, key, older.key)).toEqual([
        `${name}: the checkpoint has ${JSON.stringify(elsewhere.components[name])}, this run ${JSON.stringify(key.components[name])}`
      ])
    })

    test('a manifest naming another key than the one it was found under: one difference', () => {
      const manifest = manifestFor(older)
      expect(
        manifestDifferences(manifest, key, `${key.prefix}migrations-000000-0123456789abcdef`)
      ).toEqual([
        `key: the checkpoint has ${JSON.stringify(older.key)}, this run ${JSON.stringify(`${key.prefix}migrations-000000-0123456789abcdef`)}`
      ])
    })
  })

  describe('exact hit', () => {
    test('a changed spec digest: one difference naming it', () => {
      const manifest = manifestFor(key)
      manifest.specDigest = '0123456789abcdef'
      expect(manifestDifferences(manifest, key, key.key)).toEqual([
        `specDigest: the checkpoint has "0123456789abcdef", this run ${JSON.stringify(key.specDigest)}`
      ])
    })

    test('a missing spec digest: one difference naming it', () => {
      const manifest = manifestFor(key)
      delete manifest.specDigest
      expect(manifestDifferences(manifest, key, key.key)).toEqual([
        `specDigest: the checkpoint has null, this run ${JSON.stringify(key.specDigest)}`
      ])
    })

    test('a manifest written for another key, stored under this one: one difference', () => {
      const older = keyOf((inputs) => (inputs.spec.key = 'migrations-2b7e11'))
      const manifest = manifestFor(older)
      manifest.specDigest = key.specDigest
      expect(manifestDifferences(manifest, key, key.key)).toEqual([
        `key: the checkpoint has ${JSON.stringify(older.key)}, this run ${JSON.stringify(key.key)}`
      ])
    })

    test('a manifest of another spec stored under this key: key and spec digest differ', () => {
      const other = keyOf((inputs) => (inputs.spec.options = ['--shm-size=512m']))
      const differences = manifestDifferences(manifestFor(other), key, key.key)
      expect(differences.map((line) => line.split(':')[0])).toEqual(['key', 'specDigest'])
    })
  })

  describe('the archive fields', () => {
    const invalidSha256: [string, EntryMetadata[string] | undefined][] = [
      ['missing', undefined],
      ['empty', ''],
      ['upper case', SHA256.toUpperCase()],
      ['one digit short', SHA256.slice(1)],
      ['one digit long', `${SHA256}0`],
      ['not hex', `${SHA256.slice(0, 63)}g`],
      ['with a prefix', `sha256:${SHA256}`],
      ['a number', 12345],
      ['a boolean', true]
    ]

    test.each(invalidSha256)('sha256 %s: reported', (_label, value) => {
      const manifest = manifestFor(key)
      if (value === undefined) delete manifest.sha256
      else manifest.sha256 = value
      expect(manifestDifferences(manifest, key, key.key)).toEqual(['sha256: missing'])
    })

    const invalidBytes: [string, EntryMetadata[string] | undefined][] = [
      ['missing', undefined],
      ['a string', '48213504'],
      ['empty', ''],
      ['a boolean', true]
    ]

    test.each(invalidBytes)('bytes %s: reported', (_label, value) => {
      const manifest = manifestFor(key)
      if (value === undefined) delete manifest.bytes
      else manifest.bytes = value
      expect(manifestDifferences(manifest, key, key.key)).toEqual(['bytes: missing'])
    })

    test('bytes null (what JSON makes of NaN): reported', () => {
      const manifest = manifestFor(key)
      manifest.bytes = Number.NaN
      const stored = JSON.parse(JSON.stringify(manifest)) as EntryMetadata
      expect(stored.bytes).toBeNull()
      expect(manifestDifferences(stored, key, key.key)).toEqual(['bytes: missing'])
    })

    test('both missing, and a host difference: all three reported', () => {
      const manifest = manifestFor(key)
      delete manifest.sha256
      delete manifest.bytes
      manifest['host.criu'] = '3.19'
      expect(manifestDifferences(manifest, key, key.key)).toEqual([
        'host.criu: the checkpoint has "3.19", this run "4.2.1"',
        'sha256: missing',
        'bytes: missing'
      ])
    })

    test('an empty archive (bytes 0) with a valid sha256 is not a manifest problem', () => {
      const manifest = manifestFor(key)
      manifest.bytes = 0
      manifest.sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
      expect(manifestDifferences(manifest, key, key.key)).toEqual([])
    })
  })
})
