import { expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { mustLoadPodmanProfile, parseAppArmor } from '../../src/host/apparmor.js'

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/host/${name}`, import.meta.url), 'utf8')

test.each([
  ['apparmor-absent.txt', { enabled: false, profiles: [] }, false],
  [
    'apparmor-fresh.txt',
    {
      enabled: true,
      profiles: expect.arrayContaining(['rsyslogd', '/usr/bin/man', 'unprivileged_userns'])
    },
    true
  ],
  [
    'apparmor-loaded.txt',
    { enabled: true, profiles: expect.arrayContaining(['containers-default-0.57.4']) },
    false
  ]
])('%s: parsed, and whether podman profile must be loaded first', (file, state, mustLoad) => {
  const parsed = parseAppArmor(fixture(file))
  expect(parsed).toEqual(state)
  expect(mustLoadPodmanProfile(parsed)).toBe(mustLoad)
})

test('AppArmor built in but off (N): nothing to load', () => {
  expect(mustLoadPodmanProfile(parseAppArmor('N\n--- profiles\n'))).toBe(false)
})
