// `npm run bench` end to end on its smoke scenario: one round of every peer on real Podman and
// CRIU, through the same entry function as the command line, and the JSON it writes.
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runBench } from '../../bench/cli.js'
import type { BenchResult } from '../../bench/report.js'
import { Podman } from '../../src/podman.js'
import { IMAGES, requireHost, tempDir } from './host.js'

const podman = new Podman()
const out = tempDir('bench')

beforeAll(async () => {
  await requireHost(podman, [IMAGES.redis])
})

afterAll(() => out.remove())

const TOP_LEVEL_NUMBERS = [
  'runs',
  'cold_s',
  'datadir_s',
  'warm_s',
  'floor_s',
  'archive_bytes',
  'datadir_bytes',
  'datadir_unpacked_bytes',
  'checkpoint_s',
  'prime_cold_s',
  'speedup_vs_cold',
  'speedup_vs_datadir',
  'warm_over_floor'
] as const

test('redis-tiny, one round: every figure measured, the warm run restored, nothing left', async () => {
  const tables: string[] = []
  const progress: string[] = []
  const [returned] = await runBench(
    ['--scenario', 'redis-tiny', '--runs', '1', '--out', out.path],
    { stdout: (text) => void tables.push(text), stderr: (line) => void progress.push(line) }
  )

  const result = JSON.parse(readFileSync(join(out.path, 'redis-tiny.json'), 'utf8')) as BenchResult
  expect(result).toEqual(returned)
  expect(readdirSync(out.path)).toEqual(['redis-tiny.json'])
  expect(result.scenario).toBe('redis-tiny')
  for (const field of TOP_LEVEL_NUMBERS) {
    expect([field, typeof result[field]]).toEqual([field, 'number'])
    expect([field, result[field] > 0]).toEqual([field, true])
  }
  expect(result.runs).toBe(1)
  for (const peer of ['cold', 'datadir', 'warm'] as const) {
    expect([peer, result.first_query_ms[peer] > 0]).toEqual([peer, true])
    expect([peer, (result.workload_s?.[peer] ?? 0) > 0]).toEqual([peer, true])
    expect(result.ready_plus_workload_s?.[peer]).toBeCloseTo(
      result.samples[0]![`${peer}_s`] + result.samples[0]!.workload_s![peer],
      2
    )
  }
  expect(result.ready_s).toEqual({
    cold: result.cold_s,
    datadir: result.datadir_s,
    warm: result.warm_s
  })
  expect(result.workload_speedup_vs_datadir).toBeGreaterThan(0)
  expect(result.workload_requests).toBe(300)
  expect(['memory', 'disk']).toContain(result.volume_storage)
  // The peers agreed on every answer of the first workload (the run fails otherwise), and said so.
  expect(progress.some((line) => /first workload \(300 requests\)/.test(line))).toBe(true)
  for (const phase of ['prepare', 'unpack', 'restore']) {
    expect([phase, (result.warm_phases[phase] ?? 0) > 0]).toEqual([phase, true])
  }
  for (const seconds of [
    ...Object.values(result.warm_phases),
    ...Object.values(result.datadir_phases)
  ]) {
    expect(seconds).toBeGreaterThanOrEqual(0)
  }
  expect(result.host).toMatchObject({
    podman: expect.stringMatching(/^\d/),
    criu: expect.stringMatching(/^\d/)
  })
  expect(result.host.cpu).not.toBe('')
  expect(result.host.kernel).not.toBe('')
  expect(result.samples).toHaveLength(1)
  expect(result.samples.every((sample) => sample.warm_restored)).toBe(true)

  expect(tables.join('\n')).toContain('| warm |')
  expect(progress).toContain('bench redis-tiny: cleaning up')
  const left = await podman.podman(['ps', '-a', '--format', '{{.Names}}'])
  expect(left.split('\n').filter((name) => name.startsWith('warmstart-bench-redis-tiny-'))).toEqual(
    []
  )
}, 120_000)
