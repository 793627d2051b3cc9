import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import {
  Podman,
  PodmanError,
  checkpointArgs,
  commandPrefix,
  criuErrorLines,
  criuLogPath,
  restoreArgs,
  runArgs,
  type CommandResult,
  type CommandRunner,
  criuHints,
  parseRestoreStats
} from '../../src/podman.js'

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/podman/${name}`, import.meta.url), 'utf8')

/** A runner that records every command and answers from a script of results. */
function scriptedRunner(answers: Array<Partial<CommandResult>>) {
  const calls: Array<{ argv: string[]; env?: Record<string, string> }> = []
  const runner: CommandRunner = async (argv, options = {}) => {
    calls.push({ argv, env: options.env })
    const answer = answers.shift() ?? {}
    return { exitCode: 0, stdout: '', stderr: '', ...answer }
  }
  return { runner, calls }
}

describe('argv building', () => {
  test('run publishes ports, passes env names only, then options, image and command', () => {
    expect(
      runArgs({
        image: 'localhost/warmstart/postgres:15',
        name: 'db',
        ports: ['15432:5432'],
        env: { POSTGRES_PASSWORD: 's3cret', A: '1' },
        options: ['--shm-size=256m'],
        command: ['postgres', '-c', 'fsync=off']
      })
    ).toEqual([
      'run',
      '--detach',
      '--name',
      'db',
      '--publish',
      '15432:5432',
      '--env',
      'A',
      '--env',
      'POSTGRES_PASSWORD',
      '--shm-size=256m',
      'localhost/warmstart/postgres:15',
      'postgres',
      '-c',
      'fsync=off'
    ])
  })

  test('run never puts an environment value on the command line', () => {
    const argv = runArgs({ image: 'i', name: 'n', env: { PASSWORD: 'hunter2' } })
    expect(argv.join(' ')).not.toContain('hunter2')
  })

  test('run --replace only when asked', () => {
    expect(runArgs({ image: 'i', name: 'n' })).not.toContain('--replace')
    expect(runArgs({ image: 'i', name: 'n', replace: true })).toContain('--replace')
  })

  test.each([
    [{ exportPath: '/tmp/a.tar' }, ['--export', '/tmp/a.tar', '--compress', 'zstd', 'c']],
    [
      { exportPath: '/tmp/a.tar', compress: 'none' as const, leaveRunning: true, fileLocks: true },
      ['--export', '/tmp/a.tar', '--compress', 'none', '--leave-running', '--file-locks', 'c']
    ],
    [
      { exportPath: '/a', tcpEstablished: true },
      ['--export', '/a', '--compress', 'zstd', '--tcp-established', 'c']
    ],
    [
      { exportPath: '/a', keep: true, ignoreVolumes: true },
      ['--export', '/a', '--compress', 'zstd', '--keep', '--ignore-volumes', 'c']
    ]
  ])('checkpoint %j', (options, tailArgs) => {
    expect(checkpointArgs('c', options)).toEqual(['container', 'checkpoint', ...tailArgs])
  })

  test.each([
    [{ importPath: '/a.tar' }, ['--import', '/a.tar']],
    [{ importPath: '/a.tar', ignoreVolumes: true }, ['--import', '/a.tar', '--ignore-volumes']],
    [{ container: 'db', ignoreVolumes: true }, ['--keep', 'db']],
    [
      { importPath: '/a.tar', name: 'db', ports: ['1:2'], fileLocks: true, tcpEstablished: true },
      [
        '--import',
        '/a.tar',
        '--name',
        'db',
        '--publish',
        '1:2',
        '--file-locks',
        '--tcp-established'
      ]
    ]
  ])('restore %j', (options, tailArgs) => {
    expect(restoreArgs(options)).toEqual(['container', 'restore', ...tailArgs])
  })

  test.each([
    [0, [], []],
    [1001, [], ['sudo', '-n']],
    [1001, ['A', 'B'], ['sudo', '-n', '--preserve-env=A,B']],
    [0, ['A'], []]
  ])('command prefix for uid %d with env %j', (uid, names, prefix) => {
    expect(commandPrefix(uid, names)).toEqual(prefix)
  })

  test.each(['CONTAINERS_CONF', 'CONTAINERS_CONF_OVERRIDE', 'CONTAINERS_REGISTRIES_CONF'])(
    "sudo keeps %s when set: warmstart's podman configuration survives it",
    (name) => {
      const saved = process.env[name]
      process.env[name] = '/etc/warmstart/containers.conf'
      try {
        expect(commandPrefix(1001, ['TOKEN'])).toEqual([
          'sudo',
          '-n',
          `--preserve-env=TOKEN,${name}`
        ])
      } finally {
        if (saved === undefined) delete process.env[name]
        else process.env[name] = saved
      }
    }
  )
})

describe('CRIU failure reasons', () => {
  test.each([
    [
      'checkpoint-nonroot-rlimit.stderr.txt',
      /overlay-containers\/fe123dff[0-9a-f]+\/userdata\/dump\.log$/
    ],
    [
      'checkpoint-file-locks.stderr.txt',
      /overlay-containers\/be88506e[0-9a-f]+\/userdata\/dump\.log$/
    ]
  ])('finds the log file podman names in %s', (file, path) => {
    expect(criuLogPath(fixture(file))).toMatch(path)
  })

  test.each(['restore-corrupt-pages.stderr.txt', 'run-port-taken.stderr.txt'])(
    'finds no log file where %s names none',
    (file) => {
      expect(criuLogPath(fixture(file))).toBeUndefined()
    }
  )

  test('keeps the real reason and drops the line CRIU logs on every run here', () => {
    expect(criuErrorLines(fixture('criu-dump-rlimit.log'))).toEqual([
      "Error (criu/cr-dump.c:389): Can't get rlimit 0: Operation not permitted",
      'Error (criu/cr-dump.c:1584): Dump core (pid: 27943) failed with -1',
      'Error (criu/cr-dump.c:1975): Dumping FAILED.'
    ])
    const fileLocks = criuErrorLines(fixture('criu-dump-file-locks.log'))
    expect(fileLocks[0]).toMatch(/Some file locks are hold by dumping tasks/)
    expect(fileLocks.join('\n')).not.toMatch(/Warn|Unseizing/)
  })
})

describe('Podman', () => {
  test('runs podman directly as root and through sudo -n otherwise', async () => {
    const asRoot = scriptedRunner([{ stdout: 'abc\n' }])
    await new Podman({ runner: asRoot.runner, uid: 0 }).run({ image: 'i', name: 'n' })
    expect(asRoot.calls[0]?.argv.slice(0, 2)).toEqual(['podman', 'run'])

    const asUser = scriptedRunner([{ stdout: 'abc\n' }])
    await new Podman({ runner: asUser.runner, uid: 1001 }).run({
      image: 'i',
      name: 'n',
      env: { TOKEN: 'x' }
    })
    expect(asUser.calls[0]?.argv.slice(0, 4)).toEqual([
      'sudo',
      '-n',
      '--preserve-env=TOKEN',
      'podman'
    ])
    expect(asUser.calls[0]?.env).toEqual({ TOKEN: 'x' })
  })

  test('returns the new container id from run', async () => {
    const { runner } = scriptedRunner([{ stdout: 'f3dbae2613ca\n' }])
    await expect(new Podman({ runner, uid: 0 }).run({ image: 'i', name: 'n' })).resolves.toBe(
      'f3dbae2613ca'
    )
  })

  test('a failed run carries argv, exit code and the tail of stderr', async () => {
    const stderr = fixture('run-missing-image.stderr.txt')
    const { runner, calls } = scriptedRunner([{ exitCode: 125, stderr }])
    const error = await new Podman({ runner, uid: 0 })
      .run({ image: 'localhost/warmstart/nope:1', name: 'bad1' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PodmanError)
    const failure = error as PodmanError
    expect(failure.exitCode).toBe(125)
    expect(failure.argv).toContain('localhost/warmstart/nope:1')
    expect(failure.message).toMatch(/^podman run --detach --name bad1 .* exited with 125/)
    expect(failure.message).toMatch(
      /Error: initializing source docker:\/\/localhost\/warmstart\/nope:1/
    )
    expect(failure.criuErrors).toEqual([])
    expect(calls).toHaveLength(1) // no CRIU log to read
  })

  test('a failed checkpoint reads the CRIU log podman names and carries its errors', async () => {
    const stderr = fixture('checkpoint-file-locks.stderr.txt')
    const { runner, calls } = scriptedRunner([
      { exitCode: 125, stderr },
      { stdout: fixture('criu-dump-file-locks.log') }
    ])
    const error = (await new Podman({ runner, uid: 1001 })
      .checkpoint('m1', { exportPath: '/tmp/m1.tar' })
      .catch((e: unknown) => e)) as PodmanError
    expect(calls[1]?.argv).toEqual(['sudo', '-n', 'cat', criuLogPath(stderr)])
    expect(error.criuErrors[0]).toMatch(/Some file locks are hold/)
    expect(error.message).toMatch(
      /CRIU log:\n {2}Error \(criu\/file-lock\.c:110\): Some file locks/
    )
  })

  test('an unreadable CRIU log still gives podman’s own error', async () => {
    const stderr = fixture('checkpoint-nonroot-rlimit.stderr.txt')
    const { runner } = scriptedRunner([{ exitCode: 125, stderr }, { exitCode: 1 }])
    const error = (await new Podman({ runner, uid: 0 })
      .checkpoint('p0', { exportPath: '/tmp/p0.tar' })
      .catch((e: unknown) => e)) as PodmanError
    expect(error.criuErrors).toEqual([])
    expect(error.message).toMatch(/criu failed: type NOTIFY/)
  })

  test('parses inspect, version and info JSON', async () => {
    const { runner } = scriptedRunner([
      { stdout: fixture('container-inspect-mariadb.json') },
      { stdout: fixture('image-inspect-postgres.json') },
      { stdout: fixture('version.json') },
      { stdout: fixture('info.json') }
    ])
    const podman = new Podman({ runner, uid: 0 })
    const container = await podman.inspectContainer('m1')
    expect(container.Name).toBe('m1')
    expect(container.State.Running).toBe(true)
    const image = await podman.inspectImage('localhost/warmstart/postgres:15')
    expect(image.Config?.User).toBe('postgres')
    expect(image.Config?.Labels?.['io.warmstart.recipe']).toMatch(/^[0-9a-f]{16}$/)
    expect((await podman.version()).Client.Version).toBe('4.3.1')
    const info = await podman.info()
    expect(info.host.ociRuntime.name).toBe('runc')
    expect(info.host.cgroupVersion).toBe('v1')
  })

  test('restore returns the restored container id', async () => {
    const { runner, calls } = scriptedRunner([{ stdout: '1002654531a9\n' }])
    const { id } = await new Podman({ runner, uid: 0 }).restore({
      importPath: '/tmp/r1.tar.zst',
      name: 'r1',
      fileLocks: true
    })
    expect(id).toBe('1002654531a9')
    expect(calls[0]?.argv).toEqual([
      'podman',
      'container',
      'restore',
      '--import',
      '/tmp/r1.tar.zst',
      '--name',
      'r1',
      '--file-locks'
    ])
  })

  test('rm forces, ignores a missing container, and bounds the stop time', async () => {
    const { runner, calls } = scriptedRunner([{}])
    await new Podman({ runner, uid: 0 }).rm('gone')
    expect(calls[0]?.argv).toEqual([
      'podman',
      'rm',
      '--force',
      '--ignore',
      '--volumes',
      '--time',
      '5',
      'gone'
    ])
  })
})

describe('criuHints: a known CRIU failure names its cause and the fix', () => {
  test.each([
    ['Error (criu/sk-inet.c:912): inet: Connected TCP socket in image', /tcp-established: true/],
    [
      'Error (criu/sk-inet.c:193): inet: Connected TCP socket, consider using --tcp-established option.',
      /let the warm-up close its connections/
    ],
    [fixture('criu-dump-rlimit.log'), /publish the same port on both sides/],
    [fixture('criu-dump-file-locks.log'), /file-locks: true/],
    ['Error (criu/image.c:90): Need to set the --tcp-close options.', /\/etc\/warmstart\/criu/]
  ])('%#', (text, hint) => {
    expect(criuHints(text)).toEqual([expect.stringMatching(hint)])
  })

  test('an unknown failure: no hint', () => {
    expect(criuHints('Error (criu/cr-restore.c:1234): something else')).toEqual([])
  })
})

test('restore --print-stats: the id and where the time went, in seconds', () => {
  expect(parseRestoreStats(fixture('restore-print-stats.json'))).toEqual({
    id: '889a067a6564631d08db3ea41d52c5154a85eeb68fa993a3d4b995a8e9530fc9',
    stats: { podman: 0.244, runtime: 0.175, criu: 0.098, pages: 682 }
  })
})
