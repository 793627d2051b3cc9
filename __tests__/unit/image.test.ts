import { describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import {
  digestReference,
  fetchImage,
  identityOfConfig,
  identityOfLocal,
  readImage,
  repositoryOf
} from '../../src/image.js'
import type { Podman } from '../../src/podman.js'
import { Timings } from '../../src/timings.js'

const DIGEST = `sha256:${'ab'.repeat(32)}`

describe('repositoryOf', () => {
  test.each([
    ['postgres:15', 'postgres'],
    ['postgres', 'postgres'],
    ['docker.io/library/postgres:15', 'docker.io/library/postgres'],
    ['127.0.0.1:5000/warmstart/redis:7', '127.0.0.1:5000/warmstart/redis'],
    ['127.0.0.1:5000/warmstart/redis', '127.0.0.1:5000/warmstart/redis'],
    [`ghcr.io/org/db@${DIGEST}`, 'ghcr.io/org/db'],
    [`ghcr.io/org/db:1@${DIGEST}`, 'ghcr.io/org/db']
  ])('%s -> %s', (image, repository) => {
    expect(repositoryOf(image)).toBe(repository)
  })
})

test('digestReference pins the repository to the digest', () => {
  expect(digestReference('127.0.0.1:5000/warmstart/redis:7', DIGEST)).toBe(
    `127.0.0.1:5000/warmstart/redis@${DIGEST}`
  )
})

describe('identity: the config digest, whatever the image is called or how it is encoded', () => {
  const config = '{"architecture":"amd64","config":{"User":"redis"},"rootfs":{"type":"layers"}}'
  const configDigest = createHash('sha256').update(config).digest('hex')

  test('an image here: its ID, which podman computes from the config', () => {
    // Several repository digests (a push recompressed it) do not change it.
    const info = {
      Id: configDigest,
      Digest: DIGEST,
      RepoDigests: [`localhost/db@${DIGEST}`, `localhost/db@sha256:${'cd'.repeat(32)}`]
    }
    expect(identityOfLocal(info)).toBe(`sha256:${configDigest}`)
    expect(identityOfLocal({ ...info, RepoDigests: [] })).toBe(`sha256:${configDigest}`)
  })

  test('an image known from its registry: the digest of its raw config, the same value', () => {
    expect(identityOfConfig(config)).toBe(`sha256:${configDigest}`)
  })
})

describe('readImage and fetchImage', () => {
  const rawConfig = '{"config":{"User":"postgres"}}'
  const id = createHash('sha256').update(rawConfig).digest('hex')
  const info = { Id: id, Digest: DIGEST, RepoDigests: [], Config: { User: 'postgres' } }

  /** A podman that has `images`, whose registry knows `remote`, and records pulls and tags. */
  function fakePodman(options: {
    images: string[]
    remote?: { digest: string; user?: string }
    pullFails?: (reference: string) => boolean
  }) {
    const calls: string[] = []
    const podman = {
      inspectImage: async (image: string) => {
        if (!options.images.includes(image)) throw new Error(`no image ${image}`)
        return info
      },
      inspectRemoteImage: async () => {
        if (!options.remote) throw new Error('skopeo: command not found')
        return { ...options.remote, rawConfig }
      },
      pull: async (reference: string) => {
        calls.push(`pull ${reference}`)
        if (options.pullFails?.(reference)) throw new Error(`manifest unknown: ${reference}`)
        options.images.push(reference)
      },
      tag: async (reference: string, name: string) => {
        calls.push(`tag ${reference} ${name}`)
        options.images.push(name)
      }
    } as unknown as Podman
    return { podman, calls }
  }

  test('an image that is here: its identity, nothing pulled', async () => {
    const { podman, calls } = fakePodman({ images: ['db:1'] })
    const found = await readImage(podman, 'db:1')
    expect(found).toEqual({ where: 'here', identity: `sha256:${id}`, user: 'postgres' })
    await fetchImage(podman, 'db:1', found, new Timings())
    expect(calls).toEqual([])
  })

  test('an image that is not here: the same identity from its registry, pulled by digest and tagged', async () => {
    const remote = `sha256:${'ef'.repeat(32)}`
    const { podman, calls } = fakePodman({ images: [], remote: { digest: remote, user: 'redis' } })
    const found = await readImage(podman, 'reg:5000/db:1')
    expect(found).toEqual({
      where: 'registry',
      identity: `sha256:${id}`,
      user: 'redis',
      pullReference: `reg:5000/db@${remote}`
    })
    expect(calls).toEqual([])
    await fetchImage(podman, 'reg:5000/db:1', found, new Timings())
    expect(calls).toEqual([`pull reg:5000/db@${remote}`, `tag reg:5000/db@${remote} reg:5000/db:1`])
  })

  test('a failed pull by digest rejects, for the caller to handle', async () => {
    const remote = `sha256:${'ef'.repeat(32)}`
    const { podman } = fakePodman({
      images: [],
      remote: { digest: remote },
      pullFails: (reference) => reference.includes('@')
    })
    const found = await readImage(podman, 'reg:5000/db:1')
    await expect(fetchImage(podman, 'reg:5000/db:1', found, new Timings())).rejects.toThrow(
      /manifest unknown/
    )
  })

  test('neither here nor known to a registry: unknown, with the reason, and nothing pulled', async () => {
    const { podman, calls } = fakePodman({ images: [] })
    const found = await readImage(podman, 'db:1')
    expect(found).toEqual({
      where: 'unknown',
      reason: 'db:1 is not here and its registry could not be asked (skopeo: command not found)'
    })
    expect(calls).toEqual([])
  })
})
