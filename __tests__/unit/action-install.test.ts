import { describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import {
  installOutcome,
  planInstall,
  WARMSTART_CONTAINERS_CONF,
  type InstallFacts
} from '../../src/action/install.js'

// /etc/os-release samples: where each comes from is in ../fixtures/os-release/README.md.
const osRelease = (name: string): string =>
  readFileSync(new URL(`../fixtures/os-release/${name}.txt`, import.meta.url), 'utf8')

const nothing = { podman: false, runc: false, criu: false }
const everything = { podman: true, runc: true, criu: true }
const CONF = ['--containers-conf', WARMSTART_CONTAINERS_CONF]

function plan(facts: Partial<InstallFacts>) {
  return planInstall({ install: true, present: everything, ...facts })
}

describe('planInstall', () => {
  test.each([
    // GitHub's ubuntu-24.04 image has podman and Docker's runc, but no CRIU.
    [
      'ubuntu-24.04',
      { podman: true, runc: true, criu: false },
      ['--criu', 'ppa', '--codename', 'noble', ...CONF]
    ],
    [
      'ubuntu-24.04',
      nothing,
      ['--apt', 'podman', '--apt', 'runc', '--criu', 'ppa', '--codename', 'noble', ...CONF]
    ],
    [
      'ubuntu-22.04',
      { podman: true, runc: true, criu: false },
      ['--criu', 'ppa', '--codename', 'jammy', ...CONF]
    ],
    // Debian has criu in its own archive; this project's machines get a newer one from setup-host.sh.
    [
      'debian-12',
      { podman: true, runc: false, criu: false },
      ['--apt', 'runc', '--criu', 'archive', ...CONF]
    ],
    // Everything present: the script only checks CRIU and podman's configuration, no apt.
    ['ubuntu-24.04', everything, [...CONF]],
    ['debian-12', everything, [...CONF]]
  ])('%s with %j runs the script with %j', (name, present, args) => {
    const result = plan({ osRelease: osRelease(name), present })
    expect(result).toMatchObject({ run: true, args })
  })

  test('says what it installs, and that it installs nothing when all is present', () => {
    const noble = osRelease('ubuntu-24.04')
    expect(plan({ osRelease: noble, present: { ...everything, criu: false } })).toMatchObject({
      summary: "installing CRIU (from CRIU's PPA for noble) on Ubuntu 24.04.3 LTS"
    })
    expect(plan({ osRelease: noble })).toMatchObject({
      summary: expect.stringContaining('nothing to install')
    })
  })

  test('leaves a runner other than Ubuntu or Debian alone, saying so', () => {
    const result = plan({ osRelease: osRelease('fedora-41'), present: nothing })
    expect(result).toEqual({ run: false, reason: expect.stringContaining('Fedora Linux 41') })
    expect(plan({ osRelease: undefined, present: nothing })).toEqual({
      run: false,
      reason: expect.stringContaining('no /etc/os-release')
    })
  })

  test('install: false does nothing, whatever is missing', () => {
    const result = planInstall({
      install: false,
      osRelease: osRelease('ubuntu-24.04'),
      present: nothing
    })
    expect(result).toEqual({ run: false, reason: expect.stringContaining('install: false') })
  })

  test('a CONTAINERS_CONF the job set is kept: no containers.conf of warmstart', () => {
    const result = plan({ osRelease: osRelease('ubuntu-24.04'), containersConf: '/home/me/c.conf' })
    expect(result).toMatchObject({ run: true, args: [] })
  })

  test('an Ubuntu derivative gets the PPA of the Ubuntu release it follows', () => {
    const mint = [
      'NAME="Linux Mint"',
      'ID=linuxmint',
      'ID_LIKE="ubuntu debian"',
      'PRETTY_NAME="Linux Mint 22"',
      'VERSION_CODENAME=wilma',
      'UBUNTU_CODENAME=noble'
    ].join('\n')
    expect(plan({ osRelease: mint, present: { ...everything, criu: false } })).toMatchObject({
      args: ['--criu', 'ppa', '--codename', 'noble', ...CONF]
    })
    const noCodename = 'ID=ubuntu\nPRETTY_NAME="Ubuntu"\n'
    expect(plan({ osRelease: noCodename, present: nothing })).toMatchObject({ run: false })
    // ...but needs no codename when CRIU is there already.
    expect(plan({ osRelease: noCodename })).toMatchObject({ run: true, args: CONF })
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
        'install: CRIU 4.2 at /usr/sbin/criu: criu check says Looks good.'
      ].join('\n')
      expect(installOutcome({ exitCode: 0, stdout, stderr: '' })).toEqual({
        ok: true,
        reason: 'podman, runc and CRIU are ready',
        containersConf: { variable, path: '/etc/warmstart/containers.conf' }
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
