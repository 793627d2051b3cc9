import { expect, test } from '@jest/globals'
import {
  AUTO_CHECKPOINT_SECONDS,
  checkpointTimeoutSeconds,
  restoreTimeoutSeconds
} from '../../src/engine/limits.js'
import { parseSpec } from '../../src/spec.js'

const GiB = 1024 ** 3

test('auto: a fixed bound for a checkpoint, one that grows with the archive for a restore', () => {
  const spec = parseSpec({ image: 'redis:7' })
  expect(checkpointTimeoutSeconds(spec)).toBe(AUTO_CHECKPOINT_SECONDS)
  expect(restoreTimeoutSeconds(spec, 0)).toBe(120)
  expect(restoreTimeoutSeconds(spec, 150 * 1024 ** 2)).toBe(129)
  expect(restoreTimeoutSeconds(spec, 4 * GiB)).toBe(360)
})

test('criu-timeout sets both, whatever the size', () => {
  const spec = parseSpec({ image: 'redis:7', 'criu-timeout': '45' })
  expect(checkpointTimeoutSeconds(spec)).toBe(45)
  expect(restoreTimeoutSeconds(spec, 4 * GiB)).toBe(45)
})
