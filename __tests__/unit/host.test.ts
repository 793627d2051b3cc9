import { describe, expect, test } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  HostReader,
  parseCpuinfo,
  parseCriuVersion,
  parseRuntimeWrapperVersion
} from '../../src/host/host.js'
import { restoreImagesWhere } from '../../src/engine/decide.js'
import { Podman, type CommandResult, type CommandRunner } from '../../src/podman.js'

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/host/${name}`, import.meta.url), 'utf8')

/** A runner that records every command and answers from a script of results. */
function scriptedRunner(answers: Array<Partial<CommandResult>>) {
  const calls: string[][] = []
  const runner: CommandRunner = async (argv) => {
    calls.push(argv)
    const answer = answers.shift() ?? {}
    return { exitCode: 0, stdout: '', stderr: '', ...answer }
  }
  return { runner, calls }
}

describe('parseCpuinfo', () => {
  test('recorded x86 /proc/cpuinfo: the first processor', () => {
    const cpu = parseCpuinfo(fixture('cpuinfo-x86.txt'))
    expect(cpu.vendor).toBe('GenuineIntel')
    expect(cpu.model).toBe('Intel(R) Xeon(R) Processor @ 2.80GHz')
    // `grep -m1 ^flags cpuinfo-x86.txt | cut -d: -f2 | wc -w` counts 97
    expect(cpu.flags).toHaveLength(97)
    expect(cpu.flags).toEqual([...cpu.flags].sort())
    expect([cpu.flags[0], cpu.flags.at(-1)]).toEqual(['3dnowprefetch', 'xtopology'])
    expect(cpu.flags).toEqual(expect.arrayContaining(['avx2', 'avx512f', 'sse4_2', 'aes', 'fpu']))
    // The `bugs` line is not instruction-set flags.
    expect(cpu.flags).not.toContain('spectre_v1')
    expect(cpu.flags).not.toContain('flags')
  })

  test('hand-written arm64 sample: implementer, part and Features', () => {
    expect(parseCpuinfo(fixture('cpuinfo-arm64.txt'))).toEqual({
      vendor: '0x41',
      model: '0xd0c',
      flags: [
        'aes',
        'asimd',
        'asimddp',
        'asimdhp',
        'asimdrdm',
        'atomics',
        'cpuid',
        'crc32',
        'dcpop',
        'evtstrm',
        'fp',
        'fphp',
        'lrcpc',
        'pmull',
        'sha1',
        'sha2',
        'ssbs'
      ]
    })
  })

  test.each([
    ['flag order', 'flags\t\t: sse2 avx aes\n', { flags: ['aes', 'avx', 'sse2'] }],
    [
      'not the vmx flags line',
      'vmx flags\t: vnmi ept\nflags\t\t: sse2 fpu\n',
      { flags: ['fpu', 'sse2'] }
    ],
    ['only the first processor', 'flags\t: b a\n\nflags\t: c d\n', { flags: ['a', 'b'] }],
    [
      'MIPS cpu model',
      'system type\t: x\ncpu model\t: MIPS 24Kc V7.4\n',
      { model: 'MIPS 24Kc V7.4' }
    ],
    ['nothing known', 'processor\t: 0\n', { vendor: '', model: '', flags: [] }],
    ['empty text', '', { vendor: '', model: '', flags: [] }]
  ])('%s', (_label, text, expected) => {
    expect(parseCpuinfo(text)).toMatchObject(expected)
  })
})

describe('parseCriuVersion', () => {
  test.each([
    ['recorded `criu --version`', fixture('criu-version.txt'), '4.2.1'],
    ['recorded version and check', fixture('criu-check-ok.stdout.txt'), '4.2.1'],
    ["recorded Debian criu's version", fixture('criu-debian-check-fails.stdout.txt'), '3.17.1'],
    ['with a GitID line', 'Version: 3.19\nGitID: v3.19-42-gdeadbee\n', '3.19'],
    ['nothing', '', ''],
    ['not found', 'sh: 1: criu: not found\n', '']
  ])('%s', (_label, output, version) => {
    expect(parseCriuVersion(output)).toBe(version)
  })
})

describe('HostReader.criuStatus', () => {
  const script = `PATH=/usr/local/sbin:$PATH; "$1" --version && "$1" check`

  function reader(answer: Partial<CommandResult>, options: { uid?: number; criu?: string } = {}) {
    const scripted = scriptedRunner([answer])
    const host = new HostReader({
      podman: new Podman({ runner: scripted.runner, uid: 0 }),
      runner: scripted.runner,
      uid: options.uid ?? 0,
      criu: options.criu
    })
    return { host, calls: scripted.calls }
  }

  test('ok: version and check pass', async () => {
    const { host, calls } = reader({ exitCode: 0, stdout: fixture('criu-check-ok.stdout.txt') })
    expect(await host.criuStatus()).toStrictEqual({ ok: true, version: '4.2.1' })
    expect(calls).toEqual([['sh', '-c', script, 'sh', 'criu']])
  })

  test('criu check fails: the reason says so and gives its last error lines', async () => {
    const { host } = reader({
      exitCode: 1,
      stdout: fixture('criu-debian-check-fails.stdout.txt'),
      stderr: fixture('criu-debian-check-fails.stderr.txt')
    })
    const status = await host.criuStatus()
    expect(status.ok).toBe(false)
    expect(status.version).toBe('3.17.1')
    expect(status.reason).toBe(
      'criu check fails: Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat. Error (criu/crtools.c:260): Could not initialize kernel features detection.'
    )
  })

  test('criu check fails with nothing on stderr: the reason uses stdout', async () => {
    const { host } = reader({ exitCode: 1, stdout: 'Version: 4.2.1\nsomething is missing\n' })
    expect((await host.criuStatus()).reason).toBe(
      'criu check fails: Version: 4.2.1 something is missing'
    )
  })

  test('missing binary: not installed, and how to fix it', async () => {
    const { host, calls } = reader(
      { exitCode: 127, stderr: fixture('criu-missing.stderr.txt') },
      { criu: '/nonexistent/criu' }
    )
    const status = await host.criuStatus()
    expect(status).toStrictEqual({
      ok: false,
      version: '',
      reason:
        "CRIU is not installed (/nonexistent/criu: sh: 1: /nonexistent/criu: not found); run warmstart's set-up"
    })
    expect(calls[0]?.at(-1)).toBe('/nonexistent/criu')
  })

  test('missing binary with no output at all', async () => {
    const { host } = reader({ exitCode: 127 })
    const status = await host.criuStatus()
    expect(status.ok).toBe(false)
    expect(status.reason).toMatch(
      /^CRIU is not installed \(criu: not found\); run warmstart's set-up$/
    )
  })

  test('not root: runs through sudo -n', async () => {
    const { host, calls } = reader({ exitCode: 0, stdout: 'Version: 4.2.1\n' }, { uid: 1001 })
    expect((await host.criuStatus()).ok).toBe(true)
    expect(calls).toEqual([['sudo', '-n', 'sh', '-c', script, 'sh', 'criu']])
  })
})

describe('HostReader.podmanFacts', () => {
  const info = {
    host: {
      arch: 'amd64',
      kernel: '6.18.44-fc-v657',
      cgroupVersion: 'v2',
      ociRuntime: {
        name: 'runc',
        path: '/usr/sbin/runc',
        version: 'runc version 1.1.5+ds1\ncommit: x'
      }
    }
  }

  test('asks podman once, then reads the cache until what podman depends on changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warmstart-facts-'))
    const conf = join(dir, 'containers.conf')
    writeFileSync(conf, '[engine]\n')
    const saved = process.env.CONTAINERS_CONF
    process.env.CONTAINERS_CONF = conf
    try {
      let asked = 0
      const podman = {
        info: async () => {
          asked++
          return info
        },
        version: async () => ({ Client: { Version: '4.3.1' } })
      } as unknown as Podman
      const reader = () => new HostReader({ podman, factsCache: join(dir, 'cache', 'facts.json') })
      const first = await reader().podmanFacts()
      expect(first).toEqual({
        arch: 'amd64',
        kernel: '6.18.44-fc-v657',
        podman: '4.3.1',
        runtime: 'runc runc version 1.1.5+ds1',
        runtimePath: '/usr/sbin/runc',
        cgroup: 'v2'
      })
      expect(await reader().podmanFacts()).toEqual(first)
      expect(asked).toBe(1)
      // podman's configuration changed: ask again.
      writeFileSync(conf, '[engine]\nruntime = "crun"\n')
      await reader().podmanFacts()
      expect(asked).toBe(2)
      // No cache at all: always ask.
      await new HostReader({ podman, factsCache: false }).podmanFacts()
      expect(asked).toBe(3)
    } finally {
      if (saved === undefined) delete process.env.CONTAINERS_CONF
      else process.env.CONTAINERS_CONF = saved
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("warmstart's runtime wrapper and where a restore's CRIU images go", () => {
  const source = readFileSync(
    new URL('../../scripts/lib/runtime-wrapper.sh', import.meta.url),
    'utf8'
  )
  test('the wrapper this checkout installs says version 2, which restores from memory', () => {
    expect(parseRuntimeWrapperVersion(source.slice(0, 200))).toBe(2)
    expect(restoreImagesWhere(parseRuntimeWrapperVersion(source.slice(0, 200)))).toBe('memory')
  })
  test('the first wrapper (no version line), plain runc or another wrapper: podman imports it all', () => {
    const first = '#!/bin/sh\n# OCI runtime wrapper installed by warmstart: runc, with two fixes\n'
    expect(parseRuntimeWrapperVersion(first)).toBe(0)
    expect(parseRuntimeWrapperVersion('\u007fELF\u0002\u0001\u0001')).toBe(0)
    expect(parseRuntimeWrapperVersion('#!/bin/sh\n# someone-elses-wrapper 7\n')).toBe(0)
    expect(parseRuntimeWrapperVersion('#!/bin/bash\n# warmstart-runtime-wrapper 2\n')).toBe(0)
    expect(restoreImagesWhere(0)).toBe('podman')
    expect(restoreImagesWhere(1)).toBe('podman')
    expect(restoreImagesWhere(3)).toBe('memory')
  })
})
