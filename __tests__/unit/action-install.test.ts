import { describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import {
  aptCandidate,
  criuMinimumFor,
  planCriu,
  versionAtLeast
} from '../../src/action/criu-source.js'
import {
  debCacheKey,
  installOutcome,
  installsSomething,
  missingOn,
  needsAptPolicy,
  planInstall,
  WARMSTART_CONTAINERS_CONF,
  type InstallFacts
} from '../../src/action/install.js'

// /etc/os-release and `apt-cache policy criu` samples: where each comes from is in the README
// next to them (../fixtures/os-release, ../fixtures/apt-policy).
const osRelease = (name: string): string =>
  readFileSync(new URL(`../fixtures/os-release/${name}.txt`, import.meta.url), 'utf8')
const aptPolicy = (name: string): string =>
  readFileSync(new URL(`../fixtures/apt-policy/${name}.txt`, import.meta.url), 'utf8')

// GitHub's runner kernels (runner-images manifests, 2026): 22.04 runs 6.8, 24.04 (x64 and arm64)
// 6.17, 26.04 7.0. This project's machines run 6.18.
const KERNEL = {
  jammy: '6.8.0-1021-azure',
  noble: '6.17.0-1010-azure',
  resolute: '7.0.0-1004-azure'
}

const nothing = { podman: false, runc: false, criu: false }
const everything = { podman: true, runc: true, criu: true }
const CONF = ['--containers-conf', WARMSTART_CONTAINERS_CONF]

function plan(facts: Partial<InstallFacts>) {
  return planInstall({ install: true, kernel: KERNEL.noble, present: everything, ...facts })
}

describe('the CRIU version gate by kernel', () => {
  test.each([
    ['6.8.0-1021-azure', '4.0'],
    ['6.15.9', '4.0'],
    ['6.16.0', '4.2'],
    ['6.17.0-1010-azure', '4.2'],
    ['6.18.44-fc-v1045', '4.2'],
    ['7.0.0-1004-azure', '4.2'],
    ['5.15.0-1074-azure', '4.0']
  ])('kernel %s needs CRIU >= %s', (kernel, minimum) => {
    expect(criuMinimumFor(kernel)).toBe(minimum)
  })

  test.each([
    ['4.2.1-1', '4.2', true],
    ['1:4.2-1ubuntu1', '4.2', true],
    ['4.1.1-2', '4.2', false],
    ['3.17.1-2+deb12u2', '4.0', false],
    ['4.2', '4.2', true],
    ['4.10', '4.2', true],
    ['4.2~rc1-1', '4.2', true]
  ])('%s is at least %s: %s', (version, minimum, expected) => {
    expect(versionAtLeast(version, minimum)).toBe(expected)
  })

  test('the candidate is read from apt-cache policy, and none is none', () => {
    expect(aptCandidate(aptPolicy('debian-sid'))).toBe('4.2.1-1')
    expect(aptCandidate(aptPolicy('ubuntu-22.04-amd64'))).toBeUndefined()
    expect(aptCandidate('criu:\n  Installed: (none)\n  Candidate: (none)\n')).toBeUndefined()
  })
})

describe('the install plan for each runner release and architecture', () => {
  // What GitHub's images have before a job: podman, and Docker's runc; no CRIU.
  const runnerImage = { podman: true, runc: true, criu: false }
  test.each([
    // 22.04: no criu in the archive; CRIU >= 4.0 on kernel 6.8: the PPA, then OBS.
    ['ubuntu-22.04', 'amd64', KERNEL.jammy, ['ppa', 'obs'], '4.0'],
    ['ubuntu-22.04', 'arm64', KERNEL.jammy, ['ppa', 'obs'], '4.0'],
    // 24.04: the archive's 3.17 cannot dump sockets on 6.17: the PPA, then OBS.
    ['ubuntu-24.04', 'amd64', KERNEL.noble, ['ppa', 'obs'], '4.2'],
    ['ubuntu-24.04', 'arm64', KERNEL.noble, ['ppa', 'obs'], '4.2'],
    // 26.04: the archive's 4.2, never the PPA (it broke dpkg there); OBS if the archive fails.
    ['ubuntu-26.04', 'amd64', KERNEL.resolute, ['archive', 'obs'], '4.2'],
    ['ubuntu-26.04', 'arm64', KERNEL.resolute, ['archive', 'obs'], '4.2']
  ])(
    '%s on %s, kernel %s: CRIU from %j, at least %s',
    (release, arch, kernel, sources, minimum) => {
      const facts = {
        osRelease: osRelease(release),
        kernel,
        present: runnerImage,
        aptPolicy: aptPolicy(`${release}-${arch}`)
      }
      expect(needsAptPolicy({ install: true, ...facts })).toBe(true)
      const result = plan(facts)
      expect(result).toMatchObject({ run: true, installs: true, criu: { minimum, sources } })
      if (!result.run) return
      const version = release.slice('ubuntu-'.length)
      const expected = ['--criu-minimum', minimum, ...sources.flatMap((s) => ['--criu-source', s])]
      if (sources.includes('ppa'))
        expected.push('--codename', release === 'ubuntu-22.04' ? 'jammy' : 'noble')
      expected.push('--obs-repository', `xUbuntu_${version}`, ...CONF)
      expect(result.args).toEqual(expected)
    }
  )

  test('Debian sid (the runner twin) installs podman, runc and CRIU 4.2 from its archive', () => {
    const result = plan({
      osRelease: osRelease('debian-sid'),
      kernel: '6.18.44-fc-v1045',
      present: nothing,
      aptPolicy: aptPolicy('debian-sid'),
      debCache: '/home/runner/work/_temp/warmstart-packages'
    })
    expect(result).toMatchObject({
      run: true,
      args: [
        '--apt',
        'podman',
        '--apt',
        'runc',
        '--criu-minimum',
        '4.2',
        '--criu-source',
        'archive',
        '--deb-cache',
        '/home/runner/work/_temp/warmstart-packages',
        ...CONF
      ],
      summary: expect.stringMatching(
        /^installing podman, runc, CRIU >= 4\.2 on Debian GNU\/Linux forky\/sid; CRIU: no CRIU is installed; trying the distribution's archive$/
      )
    })
  })

  test("Debian 12 on a 6.18 kernel: its CRIU 3.17 is too old, and so is the archive's: OBS", () => {
    const facts = {
      osRelease: osRelease('debian-12'),
      kernel: '6.18.44-fc-v1045',
      present: everything,
      criuVersion: '3.17.1',
      aptPolicy: aptPolicy('debian-12')
    }
    expect(needsAptPolicy({ install: true, ...facts })).toBe(true)
    const result = plan(facts)
    expect(result).toMatchObject({
      run: true,
      criu: {
        sources: ['obs'],
        obsRepository: 'Debian_12',
        reason: expect.stringMatching(
          /CRIU 3\.17\.1 is too old on kernel 6\.18.*CRIU >= 4\.2.*the archive's CRIU 3\.17\.1-2\+deb12u2 is too old; trying OBS devel:tools:criu$/
        )
      }
    })
  })

  test('a good CRIU already there: no apt at all, only the probe', () => {
    const facts = { osRelease: osRelease('ubuntu-24.04'), criuVersion: '4.2' }
    expect(
      needsAptPolicy({ install: true, kernel: KERNEL.noble, present: everything, ...facts })
    ).toBe(false)
    expect(plan(facts)).toMatchObject({
      run: true,
      installs: false,
      args: ['--criu-minimum', '4.2', ...CONF],
      summary: expect.stringContaining('nothing to install')
    })
  })

  test('a CRIU too old for the kernel is replaced: 4.1 on 6.17', () => {
    const result = plan({
      osRelease: osRelease('ubuntu-24.04'),
      criuVersion: '4.1.1',
      aptPolicy: aptPolicy('ubuntu-24.04-amd64')
    })
    expect(result).toMatchObject({ installs: true, criu: { sources: ['ppa', 'obs'] } })
  })

  test('leaves a runner other than Ubuntu or Debian alone, saying so', () => {
    const result = plan({ osRelease: osRelease('fedora-41'), present: nothing })
    expect(result).toEqual({ run: false, reason: expect.stringContaining('Fedora Linux 41') })
    expect(
      needsAptPolicy({
        install: true,
        kernel: KERNEL.noble,
        osRelease: osRelease('fedora-41'),
        present: nothing
      })
    ).toBe(false)
    expect(plan({ osRelease: undefined, present: nothing })).toEqual({
      run: false,
      reason: expect.stringContaining('no /etc/os-release')
    })
  })

  test('install: false does nothing, whatever is missing', () => {
    const facts = {
      install: false,
      kernel: KERNEL.noble,
      osRelease: osRelease('ubuntu-24.04'),
      present: nothing
    }
    expect(planInstall(facts)).toEqual({
      run: false,
      reason: expect.stringContaining('install: false')
    })
    expect(needsAptPolicy(facts)).toBe(false)
  })

  test('a CONTAINERS_CONF the job set is kept: no containers.conf of warmstart', () => {
    const result = plan({
      osRelease: osRelease('ubuntu-24.04'),
      criuVersion: '4.2',
      containersConf: '/home/me/c.conf'
    })
    expect(result).toMatchObject({ run: true, args: ['--criu-minimum', '4.2'] })
  })

  test('an Ubuntu derivative gets the PPA of the Ubuntu release it follows, and no OBS guess', () => {
    const mint = [
      'NAME="Linux Mint"',
      'ID=linuxmint',
      'ID_LIKE="ubuntu debian"',
      'PRETTY_NAME="Linux Mint 22"',
      'VERSION_ID="22"',
      'VERSION_CODENAME=wilma',
      'UBUNTU_CODENAME=noble'
    ].join('\n')
    const result = plan({ osRelease: mint, present: { ...everything, criu: false }, aptPolicy: '' })
    expect(result).toMatchObject({
      args: ['--criu-minimum', '4.2', '--criu-source', 'ppa', '--codename', 'noble', ...CONF]
    })
  })

  test('planCriu says why it skipped each source', () => {
    const resolute = planCriu({
      osRelease: osRelease('ubuntu-26.04'),
      kernel: KERNEL.resolute,
      aptPolicy: aptPolicy('ubuntu-26.04-amd64')
    })
    expect(resolute.reason).toBe(
      "no CRIU is installed; CRIU's PPA is not used on Ubuntu 26.04; trying the distribution's archive, then OBS devel:tools:criu"
    )
  })
})

describe('the package cache key', () => {
  const input = {
    osRelease: osRelease('ubuntu-24.04'),
    arch: 'x64',
    missing: { packages: [] as Array<'podman' | 'runc'>, criu: '4.2' },
    scriptHash: 'abc',
    now: new Date('2026-12-02T10:00:00Z')
  }
  test('names the release, the architecture and the month', () => {
    expect(debCacheKey(input)).toMatch(
      /^warmstart-packages-v1-ubuntu-24\.04-x64-2026-12-[0-9a-f]{16}$/
    )
  })
  test('changes with what is missing, the script, the architecture and the month', () => {
    const key = debCacheKey(input)
    expect(debCacheKey({ ...input })).toBe(key)
    expect(debCacheKey({ ...input, missing: { packages: ['podman'], criu: '4.2' } })).not.toBe(key)
    expect(debCacheKey({ ...input, missing: { packages: [], criu: '4.0' } })).not.toBe(key)
    expect(debCacheKey({ ...input, scriptHash: 'abd' })).not.toBe(key)
    expect(debCacheKey({ ...input, arch: 'arm64' })).not.toBe(key)
    expect(debCacheKey({ ...input, now: new Date('2027-01-01T00:00:00Z') })).not.toBe(key)
  })
  test('is known before apt is asked: what is missing comes from the runner alone', () => {
    const facts = { install: true, kernel: KERNEL.noble, osRelease: osRelease('ubuntu-24.04') }
    expect(
      missingOn({
        ...facts,
        present: { podman: true, runc: false, criu: true },
        criuVersion: '4.1'
      })
    ).toEqual({
      packages: ['runc'],
      criu: '4.2'
    })
    expect(missingOn({ ...facts, present: everything, criuVersion: '4.2.1' })).toEqual({
      packages: []
    })
    expect(installsSomething({ ...facts, present: everything, criuVersion: '4.2.1' })).toBe(false)
    // Cached packages: no policy read, and the archive is tried (the script checks its version).
    const cached = { ...facts, present: { podman: true, runc: true, criu: false } }
    expect(needsAptPolicy(cached, true)).toBe(false)
    expect(plan(cached)).toMatchObject({ criu: { sources: ['archive', 'ppa', 'obs'] } })
  })
})

describe('installOutcome', () => {
  test.each(['CONTAINERS_CONF_OVERRIDE', 'CONTAINERS_CONF'] as const)(
    'ready, with the containers.conf podman must use, through %s',
    (variable) => {
      const stdout = [
        'install: writing /etc/warmstart/containers.conf',
        "install: podman 4.9.3 was running 'crun systemd'; warmstart's podman calls use runc and cgroupfs from /etc/warmstart/containers.conf",
        `install: containers-conf-variable=${variable}`,
        'install: containers-conf=/etc/warmstart/containers.conf',
        'install: criu 4.2.1-1 from archive dumps a TCP listener on kernel 6.18.44-fc-v1045',
        'install: downloaded=14'
      ].join('\n')
      expect(installOutcome({ exitCode: 0, stdout, stderr: '' })).toEqual({
        ok: true,
        reason: 'podman, runc and CRIU are ready',
        containersConf: { variable, path: '/etc/warmstart/containers.conf' },
        downloaded: 14
      })
    }
  )

  test('podman kept its own configuration: no CONTAINERS_CONF', () => {
    const stdout = 'install: podman already uses runc and cgroupfs: keeping its configuration\n'
    expect(installOutcome({ exitCode: 0, stdout, stderr: '' }).containersConf).toBeUndefined()
  })

  test('a failure is the last error line, and the containers.conf set up before it still counts', () => {
    const result = installOutcome({
      exitCode: 1,
      stdout: 'install: containers-conf=/etc/warmstart/containers.conf\n',
      stderr: 'E: Unable to locate package criu\ninstall: error: apt-get install criu failed\n'
    })
    // A script that names no variable is an older one: CONTAINERS_CONF, as it always used.
    expect(result).toEqual({
      ok: false,
      reason: 'apt-get install criu failed',
      containersConf: { variable: 'CONTAINERS_CONF', path: '/etc/warmstart/containers.conf' }
    })
  })

  test('a failure without an error line names the exit code and the end of stderr', () => {
    const result = installOutcome({ exitCode: 2, stdout: '', stderr: 'bash: syntax error\n' })
    expect(result).toEqual({
      ok: false,
      reason: 'scripts/install-runner.sh exited with 2: bash: syntax error'
    })
  })
})

describe("the variable that points podman at warmstart's containers.conf, by podman version", () => {
  // The script's own decision, run as the action runs it.
  const script = new URL('../../scripts/install-runner.sh', import.meta.url).pathname
  test.each([
    ['3.4.4', 'CONTAINERS_CONF'], // ubuntu-22.04
    ['4.3.1', 'CONTAINERS_CONF'], // Debian 12, this project's machines
    ['4.4.4', 'CONTAINERS_CONF'],
    ['4.5', 'CONTAINERS_CONF_OVERRIDE'], // the first podman that reads it
    ['4.9.3', 'CONTAINERS_CONF_OVERRIDE'], // ubuntu-24.04
    ['5.7.0', 'CONTAINERS_CONF_OVERRIDE'], // ubuntu-26.04
    ['5.8.6', 'CONTAINERS_CONF_OVERRIDE'], // Debian sid, the static bundle once on 24.04
    ['5.0.0-rc1', 'CONTAINERS_CONF_OVERRIDE']
  ])('podman %s: %s', (version, variable) => {
    const run = spawnSync('bash', [script, '--conf-variable-for', version], { encoding: 'utf8' })
    expect(run.stderr).toBe('')
    expect(run.stdout).toBe(`${variable}\n`)
  })
})
