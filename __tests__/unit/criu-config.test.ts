import { expect, test } from '@jest/globals'
import { CRIU_CONFIG_DIR, criuConfigFile } from '../../src/host/criu-config.js'
import { parseSpec } from '../../src/spec.js'

const runcConf = '# Managed by warmstart (scripts/setup-host.sh)\ncpu-cap fpu,ins\n'

test("runc.conf's lines, then tcp-close, in a file named by its digest", () => {
  const file = criuConfigFile(parseSpec({ image: 'redis:7' }), runcConf)
  const lines = file.content.split('\n').filter((line) => line && !line.startsWith('#'))
  // The CPU check runc.conf asks for still applies: the annotation's file replaces runc.conf.
  expect(lines).toEqual(['cpu-cap fpu,ins', 'tcp-close'])
  expect(file.path).toBe(`${CRIU_CONFIG_DIR}/${file.digest.slice(0, 16)}.conf`)
  expect(file.digest).toMatch(/^[0-9a-f]{64}$/)
})

test('tcp-established: no tcp-close, which would restore the connections closed', () => {
  const file = criuConfigFile(parseSpec({ image: 'redis:7', 'tcp-established': true }), runcConf)
  expect(file.content).not.toMatch(/^tcp-close$/m)
  expect(file.path).not.toBe(criuConfigFile(parseSpec({ image: 'redis:7' }), runcConf).path)
})

test('the same inputs give the same file on every host: the restoring host writes the one the checkpoint names', () => {
  const spec = parseSpec({ image: 'redis:7' })
  expect(criuConfigFile(spec, runcConf)).toEqual(criuConfigFile(spec, runcConf))
  expect(criuConfigFile(spec, '').content).toMatch(/^tcp-close$/m)
  expect(criuConfigFile(spec, '').path).not.toBe(criuConfigFile(spec, runcConf).path)
})
