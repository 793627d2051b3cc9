import { describe, expect, test } from '@jest/globals'
import { digestReference, locateImage, localIdentity, repositoryOf } from '../../src/image.js'
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

describe('localIdentity', () => {
  const other = `sha256:${'cd'.repeat(32)}`
  test.each([
    ['its repository digest', 'registry:5000/db:1', [`registry:5000/db@${DIGEST}`], DIGEST],
    ['a short name, qualified', 'postgres:15', [`docker.io/library/postgres@${DIGEST}`], DIGEST],
    ['another name only: its digest', 'registry:5000/db:1', [`elsewhere/db2@${DIGEST}`], other],
    ['no repository digest: its digest', 'localhost/warmstart/redis:7', [], other]
  ])('%s', (_label, image, repoDigests, expected) => {
    expect(localIdentity(image, { Id: 'id', Digest: other, RepoDigests: repoDigests })).toBe(
      expected
    )
  })
})

describe('locateImage', () => {
  const info = { Id: 'id', Digest: DIGEST, RepoDigests: [], Config: { User: 'postgres' } }

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
        return options.remote
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
    const found = await locateImage(podman, 'db:1', new Timings())
    await found.ready
    expect(found).toMatchObject({ identity: DIGEST, user: 'postgres' })
    expect(found.pulling).toBeUndefined()
    expect(calls).toEqual([])
  })

  test('an image that is not here: the registry digest, pulled by it and tagged', async () => {
    const remote = `sha256:${'ef'.repeat(32)}`
    const { podman, calls } = fakePodman({ images: [], remote: { digest: remote, user: 'redis' } })
    const found = await locateImage(podman, 'reg:5000/db:1', new Timings())
    expect(found).toMatchObject({ identity: remote, user: 'redis' })
    expect(found.pulling).toBe(`reg:5000/db@${remote}`)
    await found.ready
    expect(calls).toEqual([`pull reg:5000/db@${remote}`, `tag reg:5000/db@${remote} reg:5000/db:1`])
  })

  test('a failed pull by digest rejects ready, for the caller to handle', async () => {
    const remote = `sha256:${'ef'.repeat(32)}`
    const { podman } = fakePodman({
      images: [],
      remote: { digest: remote },
      pullFails: (reference) => reference.includes('@')
    })
    const found = await locateImage(podman, 'reg:5000/db:1', new Timings())
    await expect(found.ready).rejects.toThrow(/manifest unknown/)
  })

  test('without skopeo the image is pulled by name first, as podman would', async () => {
    const { podman, calls } = fakePodman({ images: [] })
    const found = await locateImage(podman, 'db:1', new Timings())
    expect(calls).toEqual(['pull db:1'])
    expect(found).toMatchObject({ identity: DIGEST })
    expect(found.pulling).toBeUndefined()
  })
})
