// The registry store's pure parts: the oci:// address, the tag of a key, the artifact manifest
// and reading it back, the choices of lookup and prune, credentials from auth files, and the
// registry's authentication challenge.
import { describe, expect, test } from '@jest/globals'
import { encodeParts, type ArchivePart } from '../../src/archive/layout.js'
import {
  ARTIFACT_TYPE,
  buildArtifactManifest,
  newestByPrefix,
  parseOciLocation,
  pruneVictims,
  readArtifactManifest,
  tagForKey,
  type ArtifactEntry
} from '../../src/store/oci/artifact.js'
import { authFilePaths, credentialsIn } from '../../src/store/oci/credentials.js'
import { parseChallenge } from '../../src/store/oci/registry-client.js'

const parts: ArchivePart[] = [
  { kind: 'checkpoint', offset: 0, bytes: 100, sha256: 'a'.repeat(64) },
  {
    kind: 'volume',
    offset: 100,
    bytes: 50,
    sha256: 'b'.repeat(64),
    name: 'data',
    destination: '/data',
    uid: 999,
    gid: 999,
    slice: 0,
    unpackedBytes: 400
  }
]
const metadata = { format: 'test', bytes: 150, parts: encodeParts(parts), sha256: 'c'.repeat(64) }

describe('parseOciLocation', () => {
  test('a registry and a repository; TLS unless the registry is on loopback', () => {
    expect(parseOciLocation('oci://ghcr.io/acme/warmstart-checkpoints')).toEqual({
      registry: 'ghcr.io',
      repository: 'acme/warmstart-checkpoints',
      baseUrl: 'https://ghcr.io'
    })
    expect(parseOciLocation('oci://127.0.0.1:5000/ws').baseUrl).toBe('http://127.0.0.1:5000')
    expect(parseOciLocation('oci://localhost:5000/a/b').baseUrl).toBe('http://localhost:5000')
    expect(parseOciLocation('oci://registry.internal:5000/a').baseUrl).toBe(
      'https://registry.internal:5000'
    )
  })

  test.each([
    ['oci://ghcr.io', /no repository/],
    ['oci:///repo', /no repository/],
    ['oci://ghcr.io/Acme/Repo', /not a repository name/],
    ['oci://ghcr.io/acme/repo:tag', /not a repository name/],
    ['oci://bad host/repo', /not a registry/],
    ['ghcr.io/acme/repo', /not an oci:\/\/ address/]
  ])('%s is refused with the expected form', (text, why) => {
    expect(() => parseOciLocation(text)).toThrow(why)
    expect(() => parseOciLocation(text)).toThrow(/expected oci:\/\/REGISTRY\/REPOSITORY/)
  })
})

test('tagForKey: a valid tag of fixed length whatever the key', () => {
  const tag = tagForKey('x'.repeat(512))
  expect(tag).toMatch(/^warmstart-[0-9a-f]{64}$/)
  expect(tag.length).toBeLessThanOrEqual(128)
  expect(tagForKey('a')).not.toBe(tagForKey('b'))
})

describe('the artifact manifest', () => {
  const created = new Date('2026-11-30T12:00:00Z')
  const manifest = buildArtifactManifest('my-key', metadata, parts, created)
  const body = JSON.stringify(manifest)
  const tag = tagForKey('my-key')

  test('warmstart artifact type, the empty config, one layer per part by its SHA-256', () => {
    expect(manifest.artifactType).toBe(ARTIFACT_TYPE)
    expect(manifest.config.mediaType).toBe('application/vnd.oci.empty.v1+json')
    expect(manifest.layers.map((layer) => [layer.digest, layer.size])).toEqual([
      [`sha256:${'a'.repeat(64)}`, 100],
      [`sha256:${'b'.repeat(64)}`, 50]
    ])
    expect(manifest.annotations['dev.warmstart.key']).toBe('my-key')
  })

  test('reads back to the key, metadata, parts and creation time', () => {
    expect(readArtifactManifest(body, tag, 'sha256:d')).toEqual({
      key: 'my-key',
      tag,
      digest: 'sha256:d',
      metadata,
      parts,
      bytes: 150,
      createdAt: created.getTime()
    })
  })

  test('refuses what is not warmstart’s, another key’s, or layers that are not the parts', () => {
    const other = { ...manifest, artifactType: 'application/vnd.example' }
    expect(() => readArtifactManifest(JSON.stringify(other), tag, 'd')).toThrow(
      /not a warmstart checkpoint/
    )
    expect(() => readArtifactManifest(body, tagForKey('another'), 'd')).toThrow(
      /key annotation .* does not match its tag/
    )
    const swapped = { ...manifest, layers: [...manifest.layers].reverse() }
    expect(() => readArtifactManifest(JSON.stringify(swapped), tag, 'd')).toThrow(
      /layers .* are not the parts/
    )
    const short = { ...manifest, layers: manifest.layers.slice(0, 1) }
    expect(() => readArtifactManifest(JSON.stringify(short), tag, 'd')).toThrow(
      /layers .* are not the parts/
    )
    expect(() => readArtifactManifest('not json', tag, 'd')).toThrow(/not JSON/)
  })
})

function entry(key: string, createdAt: number, bytes = 10): ArtifactEntry {
  return { key, tag: tagForKey(key), digest: `sha256:${key}`, metadata, parts, bytes, createdAt }
}

test('newestByPrefix: prefixes in order, the newest match of the first that matches', () => {
  const entries = [entry('app-v1-a', 1), entry('app-v1-b', 3), entry('app-v0-c', 5)]
  expect(newestByPrefix(entries, ['app-v1-'])?.key).toBe('app-v1-b')
  expect(newestByPrefix(entries, ['app-v2-', 'app-v0-'])?.key).toBe('app-v0-c')
  expect(newestByPrefix(entries, ['', 'zzz'])).toBeUndefined()
})

test('pruneVictims: older than the age, then the oldest beyond the size', () => {
  const entries = [
    entry('a', 100, 10),
    entry('b', 200, 10),
    entry('c', 300, 10),
    entry('d', 400, 10)
  ]
  const keys = (victims: ArtifactEntry[]): string[] => victims.map((v) => v.key).sort()
  expect(keys(pruneVictims(entries, { maxAgeMs: 150, now: 400 }))).toEqual(['a', 'b'])
  expect(keys(pruneVictims(entries, { maxBytes: 25, now: 400 }))).toEqual(['a', 'b'])
  expect(keys(pruneVictims(entries, { maxAgeMs: 250, maxBytes: 10, now: 400 }))).toEqual([
    'a',
    'b',
    'c'
  ])
  expect(pruneVictims(entries, { now: 400 })).toEqual([])
})

describe('credentials', () => {
  const auth = (user: string, password: string): { auth: string } => ({
    auth: Buffer.from(`${user}:${password}`).toString('base64')
  })

  test('the most specific entry for the registry, as containers-auth.json(5) files them', () => {
    const text = JSON.stringify({
      auths: {
        'ghcr.io': auth('registry-wide', 'p1'),
        'ghcr.io/acme': auth('acme', 'p2:with:colons'),
        'quay.io': auth('other', 'p3')
      }
    })
    expect(credentialsIn(text, 'ghcr.io', 'acme/checkpoints')).toEqual({
      username: 'acme',
      password: 'p2:with:colons'
    })
    expect(credentialsIn(text, 'ghcr.io', 'other/repo')).toEqual({
      username: 'registry-wide',
      password: 'p1'
    })
    expect(credentialsIn(text, 'docker.io', 'x')).toBeUndefined()
    expect(credentialsIn('not json', 'ghcr.io', 'x')).toBeUndefined()
  })

  test("docker's URL-keyed entries", () => {
    const text = JSON.stringify({ auths: { 'https://registry.internal:5000': auth('u', 'p') } })
    expect(credentialsIn(text, 'registry.internal:5000', 'r')).toEqual({
      username: 'u',
      password: 'p'
    })
  })

  test('REGISTRY_AUTH_FILE alone when set; else podman’s, containers’, docker’s', () => {
    expect(authFilePaths({ REGISTRY_AUTH_FILE: '/x/auth.json' }, '/home/u')).toEqual([
      '/x/auth.json'
    ])
    expect(authFilePaths({ XDG_RUNTIME_DIR: '/run/user/1001' }, '/home/u')).toEqual([
      '/run/user/1001/containers/auth.json',
      '/home/u/.config/containers/auth.json',
      '/home/u/.docker/config.json'
    ])
    expect(authFilePaths({ DOCKER_CONFIG: '/d' }, '/home/u')).toEqual([
      '/home/u/.config/containers/auth.json',
      '/d/config.json'
    ])
  })
})

test('parseChallenge: Bearer with its parameters, Basic', () => {
  expect(
    parseChallenge(
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/x:pull"'
    )
  ).toEqual({
    scheme: 'bearer',
    params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:acme/x:pull' }
  })
  expect(parseChallenge('Basic realm="warmstart-test"')).toEqual({
    scheme: 'basic',
    params: { realm: 'warmstart-test' }
  })
})
