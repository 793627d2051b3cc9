import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import {
  boundingSet,
  decideUserNamespace,
  hasSysResource,
  hostCanDumpOtherUsers,
  needsUserNamespace,
  nonRootUsers,
  runsAsNonRoot
} from '../../src/host/userns.js'

const procStatus = readFileSync(
  new URL('../fixtures/host/proc-self-status.txt', import.meta.url),
  'utf8'
)

describe('hasSysResource (CAP_SYS_RESOURCE is bit 24)', () => {
  test.each([
    ['000001fffeffffff', false], // this machine's bounding set: bit 24 withheld
    ['000001ffffffffff', true], // a full set (GitHub's runners under sudo)
    ['0000000001000000', true], // bit 24 alone
    ['0000000000ffffff', false], // bits 0-23
    ['00000000fe000000', false], // bits 25-31
    ['0000000000000000', false],
    ['ffffffffffffffff', true],
    [' 000001ffffffffff\n', true], // as read from a file
    ['1000000', true] // without leading zeros
  ])('%j -> %s', (hex, expected) => {
    expect(hasSysResource(hex)).toBe(expected)
  })
})

describe('boundingSet', () => {
  test('reads CapBnd from the recorded /proc/self/status', () => {
    expect(boundingSet(procStatus)).toBe('000001fffeffffff')
    expect(hostCanDumpOtherUsers(procStatus)).toBe(false)
  })

  test.each([
    ['CapPrm:\t0000000000000000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0\n', '000001ffffffffff'],
    ['Name:\tcat\nCapBnd: 00000000a80425fb\n', '00000000a80425fb'],
    ['Name:\tcat\nCapEff:\t000001ffffffffff\n', undefined],
    ['', undefined]
  ])('%j -> %j', (text, expected) => {
    expect(boundingSet(text)).toBe(expected)
  })

  test.each([
    ['a full bounding set', 'CapBnd:\t000001ffffffffff\n', true],
    ['no CAP_SYS_RESOURCE', 'CapBnd:\t000001fffeffffff\n', false],
    ['no CapBnd line (not Linux-like): assume it can', 'Name:\tx\n', true]
  ])('hostCanDumpOtherUsers: %s', (_label, text, expected) => {
    expect(hostCanDumpOtherUsers(text)).toBe(expected)
  })
})

describe('runsAsNonRoot', () => {
  test.each<[string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['root', false],
    ['0', false],
    ['0:0', false],
    ['root:postgres', false],
    ['postgres', true],
    ['999', true],
    ['postgres:postgres', true],
    ['999:999', true],
    ['mysql:0', true]
  ])('%j -> %s', (user, expected) => {
    expect(runsAsNonRoot(user)).toBe(expected)
  })
})

describe('needsUserNamespace', () => {
  test.each<[boolean, string | undefined, boolean]>([
    [true, 'postgres', false],
    [true, '', false],
    [false, 'postgres', true],
    [false, '999:999', true],
    [false, 'root', false],
    [false, '0:0', false],
    [false, '', false],
    [false, undefined, false]
  ])('canDumpOtherUsers %s, image user %j -> %s', (canDumpOtherUsers, user, expected) => {
    expect(needsUserNamespace({ canDumpOtherUsers }, user)).toBe(expected)
  })
})

describe('decideUserNamespace: how a service runs here so that it can be checkpointed', () => {
  const same = [{ host: 5432, container: 5432 }]
  const remapped = [{ host: 15432, container: 5432 }]
  test.each<[string, boolean, string | undefined, typeof same, string]>([
    ['any image, on a host that can dump other users', true, 'postgres', remapped, 'plain'],
    ['a non-root image, the same port on both sides', false, 'postgres', same, 'userns'],
    ['a non-root image without ports', false, '999', [], 'userns'],
    ['a non-root image, a remapped port', false, 'postgres', remapped, 'no-checkpoint'],
    // The official images: root in the image, gosu to 999 at start.
    ['a root image, the same port on both sides', false, 'root', same, 'userns'],
    ['an image with no user, the same port', false, undefined, same, 'userns'],
    ['a root image, a remapped port', false, '', remapped, 'plain-check-uids'],
    [
      'a root image without ports (would take its port on the host)',
      false,
      '',
      [],
      'plain-check-uids'
    ]
  ])('%s -> %s', (_label, canDumpOtherUsers, user, ports, expected) => {
    expect(decideUserNamespace({ canDumpOtherUsers }, user, ports)).toBe(expected)
  })

  test('nonRootUsers: the users a checkpoint here could not dump', () => {
    expect(nonRootUsers(['root', 'postgres', 'postgres', '0', '999'])).toEqual(['postgres', '999'])
    expect(nonRootUsers(['root', '0'])).toEqual([])
  })
})
