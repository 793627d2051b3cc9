// The benchmark's pure parts: medians, ratios, phase medians, the summary and its table.
import { describe, expect, test } from '@jest/globals'
import {
  markdownTable,
  median,
  phaseMedians,
  ratio,
  renderSummaryTable,
  renderTable,
  summarize,
  withPrepare,
  type RoundSample
} from '../../bench/report.js'

describe('median', () => {
  test('is the middle value of an odd count, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([2])).toBe(2)
  })

  test('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })

  test('does not reorder its input', () => {
    const values = [3, 1, 2]
    median(values)
    expect(values).toEqual([3, 1, 2])
  })

  test('of nothing is an error', () => {
    expect(() => median([])).toThrow('median of no values')
  })
})

describe('ratio', () => {
  test('divides and rounds to 2 decimals', () => {
    expect(ratio(45.2, 2.5)).toBe(18.08)
    expect(ratio(1, 3)).toBe(0.33)
  })

  test('is NaN when the denominator is not positive', () => {
    expect(ratio(1, 0)).toBeNaN()
    expect(ratio(1, -1)).toBeNaN()
  })
})

describe('phases', () => {
  test('per-phase medians count a missing phase as 0 s', () => {
    expect(
      phaseMedians([{ verify: 1, restore: 2 }, { verify: 3 }, { verify: 2, restore: 4 }])
    ).toEqual({ verify: 2, restore: 2 })
  })

  test('withPrepare adds what the phases leave of the total, first, and drops undefined ones', () => {
    expect(withPrepare(3, { verify: 1, restore: 1.5, ready: undefined })).toEqual({
      prepare: 0.5,
      verify: 1,
      restore: 1.5
    })
    expect(Object.keys(withPrepare(3, { verify: 1 }))[0]).toBe('prepare')
  })

  test('withPrepare never goes negative (phases are rounded separately)', () => {
    expect(withPrepare(1, { start: 0.6, ready: 0.4005 }).prepare).toBe(0)
  })
})

function sample(round: number, cold: number, datadir: number, warm: number): RoundSample {
  return {
    round,
    cold_s: cold,
    datadir_s: datadir,
    warm_s: warm,
    floor_s: warm / 5,
    warm_restored: true,
    first_query_ms: { cold: 3, datadir: 9, warm: 2 * round },
    workload_s: { cold: 2, datadir: 1 + round, warm: 0.5 },
    warm_phases: { prepare: 0.5, verify: 1, restore: warm - 1.5 },
    datadir_phases: { unpack: 1, start: 0.3, ready: datadir - 1.3 }
  }
}

const host = {
  cpu: 'Test CPU @ 2.80GHz',
  cores: 2,
  kernel: '6.18.0',
  podman: '4.3.1',
  criu: '4.2.1',
  runtime: 'runc 1.1.5',
  load_average: 1.5
}

const result = summarize({
  scenario: 'postgres-migrate',
  description: 'PostgreSQL 15, 300 migrations',
  priming: {
    archive_bytes: 75 * 1024 ** 2,
    checkpoint_s: 6.25,
    prime_cold_s: 44,
    datadir_bytes: 90 * 1024 ** 2,
    datadir_unpacked_bytes: 600 * 1024 ** 2,
    volume_storage: 'memory',
    workload_requests: 300
  },
  rounds: [sample(1, 40, 6, 3), sample(2, 50, 4, 2), sample(3, 45, 5, 4)],
  host,
  date: new Date('2026-01-02T03:04:05Z')
})

describe('summarize', () => {
  test('takes medians per peer and their ratios', () => {
    expect(result).toMatchObject({
      scenario: 'postgres-migrate',
      runs: 3,
      cold_s: 45,
      datadir_s: 5,
      warm_s: 3,
      floor_s: 0.6,
      first_query_ms: { cold: 3, datadir: 9, warm: 4 },
      speedup_vs_cold: 15,
      speedup_vs_datadir: 1.67,
      warm_over_floor: 5,
      checkpoint_s: 6.25,
      archive_bytes: 75 * 1024 ** 2,
      datadir_bytes: 90 * 1024 ** 2,
      date: '2026-01-02T03:04:05.000Z',
      host
    })
  })

  test('ready plus the first workload: per-round sums, then medians; datadir over warm', () => {
    expect(result.ready_s).toEqual({ cold: 45, datadir: 5, warm: 3 })
    expect(result.workload_s).toEqual({ cold: 2, datadir: 3, warm: 0.5 })
    // datadir: 6+2, 4+3, 5+4 -> 8, 7, 9; warm: 3.5, 2.5, 4.5
    expect(result.ready_plus_workload_s).toEqual({ cold: 47, datadir: 8, warm: 3.5 })
    expect(result.workload_speedup_vs_datadir).toBe(2.29)
    expect(result).toMatchObject({ workload_requests: 300, volume_storage: 'memory' })
  })

  test('no workload fields when a round did not measure it', () => {
    const old = sample(1, 40, 6, 3)
    delete old.workload_s
    const without = summarize({
      scenario: 's',
      description: 'd',
      priming: { ...result, prime_cold_s: 1 },
      rounds: [old],
      host,
      date: new Date(0)
    })
    expect(without.workload_s).toBeUndefined()
    expect(without.workload_speedup_vs_datadir).toBeUndefined()
  })

  test('takes per-phase medians and keeps every round', () => {
    expect(result.warm_phases).toEqual({ prepare: 0.5, verify: 1, restore: 1.5 })
    expect(result.datadir_phases).toEqual({ unpack: 1, start: 0.3, ready: 3.7 })
    expect(result.samples.map((s) => s.round)).toEqual([1, 2, 3])
  })
})

describe('renderTable', () => {
  const table = renderTable(result)

  test('has a row per peer with its median and first query', () => {
    expect(table).toContain(
      '### postgres-migrate: PostgreSQL 15, 300 migrations (medians of 3 runs)'
    )
    expect(table).toContain(
      '| peer | until ready | first query | ready + first workload | what it does |'
    )
    expect(table).toContain(
      '| cold | 45.0 s | 3.00 ms | 47.0 s | start, wait until ready, warm up |'
    )
    expect(table).toMatch(
      /\| datadir \| 5\.00 s \| 9\.00 ms \| 8\.00 s \| unpack the data directory \(90\.0 MiB tar\.zst\) into a tmpfs/
    )
    expect(table).toMatch(
      /\| warm \| 3\.00 s \| 4\.00 ms \| 3\.50 s \| restore warmstart's checkpoint \(75\.0 MiB/
    )
    expect(table).toMatch(/\| floor \| 0\.60 s \| {2}\| {2}\|/)
  })

  test('has the derived figures', () => {
    expect(table).toContain('| warm speed-up vs cold | 15.0x |')
    expect(table).toContain('| warm speed-up vs datadir | 1.7x |')
    expect(table).toContain(
      '| warm speed-up vs datadir, until ready + first workload (300 requests) | 2.3x |'
    )
    expect(table).toContain('| warm / floor | 5.0x |')
    expect(table).toContain('| checkpoint cost (once, on a cold run) | 6.25 s |')
    expect(table).toContain('| warm phases | prepare 0.50 s, verify 1.00 s, restore 1.50 s |')
    expect(table).toContain('| data directory | 600.0 MiB on disk, 90.0 MiB tar.zst |')
    expect(table).toContain('kernel 6.18.0, podman 4.3.1, runc 1.1.5, CRIU 4.2.1')
  })

  test('says "1 run" for a single round', () => {
    const one = summarize({
      scenario: 'redis-tiny',
      description: 'Redis',
      priming: { ...result, prime_cold_s: 1 },
      rounds: [sample(1, 1, 1, 1)],
      host,
      date: new Date(0)
    })
    expect(renderTable(one)).toContain('### redis-tiny: Redis (1 run)')
  })
})

describe('markdownTable', () => {
  test('puts the alignment row under the header', () => {
    expect(
      markdownTable(
        [
          ['a', 'b'],
          ['1', '2']
        ],
        ['---', '--:']
      )
    ).toEqual(['| a | b |', '| --- | --: |', '| 1 | 2 |'])
  })
})

describe('throughput and memory (jvm-jit, memcached-bulk)', () => {
  const rps = (round: number, cold: number, datadir: number, warm: number): RoundSample => ({
    ...sample(round, 60, 3, 2),
    rps_1s: { cold, datadir, warm },
    rps_5s: { cold: cold * 2, datadir: datadir * 4, warm: warm * 2 }
  })
  const jvm = summarize({
    scenario: 'jvm-jit',
    description: 'Tomcat',
    priming: {
      archive_bytes: 50 * 1024 ** 2,
      checkpoint_s: 5,
      prime_cold_s: 60,
      datadir_bytes: 5000,
      datadir_unpacked_bytes: 40000,
      memory_bytes: 2 * 2 ** 30
    },
    rounds: [rps(1, 1600, 300, 1800), rps(2, 2000, 370, 1450), rps(3, 1650, 330, 1500)],
    host,
    date: new Date(0)
  })

  test('rps_1s and rps_5s are per-peer medians', () => {
    expect(jvm.rps_1s).toEqual({ cold: 1650, datadir: 330, warm: 1500 })
    expect(jvm.rps_5s).toEqual({ cold: 3300, datadir: 1320, warm: 3000 })
  })

  test('restore seconds per GiB of memory in the checkpoint: the restore phase over it', () => {
    // restore = warm - 1.5 = 0.5 s in every round; 2 GiB of memory.
    expect(jvm).toMatchObject({ memory_bytes: 2 * 2 ** 30, restore_s_per_gib: 0.25 })
  })

  test('the table shows both, and scenarios without them show neither', () => {
    const table = renderTable(jvm)
    expect(table).toContain(
      '| requests/s in the 1st second after ready | cold 1650, datadir 330, warm 1500 |'
    )
    expect(table).toContain(
      '| requests/s in the 5th second after ready | cold 3300, datadir 1320, warm 3000 |'
    )
    expect(table).toContain(
      '| memory in the checkpoint (CRIU pages) | 2.0 GiB; restore 0.25 s per GiB of it |'
    )
    expect(result.rps_1s).toBeUndefined()
    expect(renderTable(result)).not.toContain('requests/s')
  })

  test('a round without throughput leaves the medians out rather than counting zeros', () => {
    const mixed = summarize({ ...jvmInput(), rounds: [rps(1, 1, 1, 1), sample(2, 1, 1, 1)] })
    expect(mixed.rps_1s).toBeUndefined()
  })

  function jvmInput() {
    return {
      scenario: 'jvm-jit',
      description: 'Tomcat',
      priming: { ...result, prime_cold_s: 1 },
      host,
      date: new Date(0)
    }
  }
})

describe('the restore with podman importing everything, beside the in-memory one', () => {
  const rounds = [1, 2, 3].map((round) => ({
    ...sample(round, 40, 5, 2),
    warm_podman_import_s: 2 + round
  }))
  const withImport = summarize({
    scenario: 'memcached-bulk',
    description: 'memcached',
    priming: { ...result, prime_cold_s: 1 },
    rounds,
    host,
    date: new Date(0)
  })
  test('its median, and the in-memory speed-up over it', () => {
    expect(withImport).toMatchObject({
      warm_s: 2,
      warm_podman_import_s: 4,
      images_in_memory_speedup: 2
    })
    expect(renderTable(withImport)).toContain(
      '| CRIU images in memory vs podman importing them | 2.0x |'
    )
    expect(renderTable(withImport)).toMatch(/\| warm, podman importing \| 4\.00 s \|/)
  })
  test('absent from results that did not measure it', () => {
    expect(result.warm_podman_import_s).toBeUndefined()
    expect(renderTable(result)).not.toContain('podman importing')
  })
})

describe('renderSummaryTable', () => {
  test('one row per scenario with the ratios and the first workload', () => {
    const table = renderSummaryTable([result]).split('\n')
    expect(table[0]).toContain(
      '| scenario | cold | datadir | warm | floor | warm vs cold | warm vs datadir | ready + first workload: cold / datadir / warm |'
    )
    expect(table[1]).toBe(`| --- |${' --: |'.repeat(11)}`)
    expect(table[2]).toBe(
      '| `postgres-migrate` | 45.0 s | 5.00 s | 3.00 s | 0.60 s | 15.0x | 1.7x | 47.00 / 8.00 / 3.50 | 2.3x | 5.00 | 6.25 s | 3.0 / 9.0 / 4.0 ms |'
    )
  })
})
