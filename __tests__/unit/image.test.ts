import { describe, expect, test } from '@jest/globals'
import { digestReference, localIdentity, repositoryOf } from '../../src/image.js'

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
