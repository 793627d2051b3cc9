import { describe, expect, test } from '@jest/globals'
import { UsageError, parseCommand, parseSize, type Command } from '../../src/cli/parse.js'
import { parseSpec } from '../../src/spec.js'

const MiB = 1024 ** 2
const GiB = 1024 ** 3

describe('parseCommand', () => {
  test('up with every spec flag, repeated --ports and --env, and the other flags', () => {
    const command = parseCommand([
      'up',
      '--image',
      'localhost/warmstart/postgres:15',
      '--name',
      'pg',
      '--ports',
      '15432:5432',
      '--ports=127.0.0.1:16432:6432',
      '--env',
      'POSTGRES_PASSWORD=s3cret',
      '--env',
      'PGOPTIONS=-c search_path=app',
      '--options=--shm-size=1g',
      '--options=--cap-add=SYS_PTRACE',
      '--command',
      `postgres -c 'fsync=off'`,
      '--ready',
      'cmd:pg_isready -h 127.0.0.1 -p 15432',
      '--ready-timeout',
      '60',
      '--warmup',
      './warmup.sh',
      '--key',
      'v1',
      '--no-file-locks',
      '--tcp-established',
      '--spec',
      'pg.json',
      '--store',
      '/tmp/store',
      '--json',
      '--replace',
      '-v'
    ])
    expect(command).toStrictEqual({
      name: 'up',
      spec: {
        image: 'localhost/warmstart/postgres:15',
        name: 'pg',
        ports: ['15432:5432', '127.0.0.1:16432:6432'],
        env: ['POSTGRES_PASSWORD=s3cret', 'PGOPTIONS=-c search_path=app'],
        options: ['--shm-size=1g', '--cap-add=SYS_PTRACE'],
        command: `postgres -c 'fsync=off'`,
        ready: 'cmd:pg_isready -h 127.0.0.1 -p 15432',
        'ready-timeout': '60',
        warmup: './warmup.sh',
        key: 'v1',
        'file-locks': false,
        'tcp-established': true
      },
      specFile: 'pg.json',
      store: '/tmp/store',
      json: true,
      replace: true,
      verbose: true
    } satisfies Command)
    // What the flags give is a spec parseSpec takes as meant.
    const spec = parseSpec((command as { spec: object }).spec)
    expect(spec.env).toEqual({ POSTGRES_PASSWORD: 's3cret', PGOPTIONS: '-c search_path=app' })
    expect(spec.command).toEqual(['postgres', '-c', 'fsync=off'])
    expect(spec.readyTimeoutSeconds).toBe(60)
    expect(spec.fileLocks).toBe(false)
    expect(spec.tcpEstablished).toBe(true)
  })

  test.each<[string[], Command]>([
    [
      ['up', '--image', 'redis:7'],
      {
        name: 'up',
        spec: { image: 'redis:7' },
        specFile: undefined,
        store: undefined,
        json: false,
        replace: false,
        verbose: false
      }
    ],
    [
      ['up', '--spec', 'examples/postgres/spec.json', '--verbose'],
      {
        name: 'up',
        spec: {},
        specFile: 'examples/postgres/spec.json',
        store: undefined,
        json: false,
        replace: false,
        verbose: true
      }
    ],
    [
      ['up', '--image', 'mariadb:10.11', '--file-locks'],
      {
        name: 'up',
        spec: { image: 'mariadb:10.11', 'file-locks': true },
        specFile: undefined,
        store: undefined,
        json: false,
        replace: false,
        verbose: false
      }
    ],
    [
      ['key', '--image', 'redis:7', '--key', 'v1', '--explain'],
      {
        name: 'key',
        spec: { image: 'redis:7', key: 'v1' },
        specFile: undefined,
        json: false,
        explain: true
      }
    ],
    [
      ['key', '--spec', 'pg.json', '--json'],
      { name: 'key', spec: {}, specFile: 'pg.json', json: true, explain: false }
    ],
    [['down', 'warmstart-postgres'], { name: 'down', container: 'warmstart-postgres' }],
    [['down', '--json', 'db'], { name: 'down', container: 'db' }],
    [['ls'], { name: 'ls', store: undefined, json: false }],
    [
      ['ls', '--store', '/var/cache/ws', '--json'],
      { name: 'ls', store: '/var/cache/ws', json: true }
    ],
    [
      ['prune', '--max-size', '500M'],
      {
        name: 'prune',
        store: undefined,
        maxSize: 500 * MiB,
        maxAgeMs: undefined,
        all: false,
        dryRun: false,
        json: false
      }
    ],
    [
      ['prune', '--max-size=10G', '--dry-run'],
      {
        name: 'prune',
        store: undefined,
        maxSize: 10 * GiB,
        maxAgeMs: undefined,
        all: false,
        dryRun: true,
        json: false
      }
    ],
    [
      ['prune', '--all', '--dry-run', '--json', '--store', 'd'],
      {
        name: 'prune',
        store: 'd',
        maxSize: undefined,
        maxAgeMs: undefined,
        all: true,
        dryRun: true,
        json: true
      }
    ],
    [
      ['prune', '--store', 'oci://ghcr.io/acme/ws', '--max-age', '14d', '--max-size', '2G'],
      {
        name: 'prune',
        store: 'oci://ghcr.io/acme/ws',
        maxSize: 2 * GiB,
        maxAgeMs: 14 * 86_400_000,
        all: false,
        dryRun: false,
        json: false
      }
    ],
    [['version'], { name: 'version' }],
    [['--version'], { name: 'version' }]
  ])('%j', (argv, expected) => {
    expect(parseCommand(argv)).toStrictEqual(expected)
  })

  test.each<[string[], string | undefined]>([
    [[], undefined],
    [['help'], undefined],
    [['--help'], undefined],
    [['-h'], undefined],
    [['help', 'up'], 'up'],
    [['help', 'prune'], 'prune'],
    [['--help', 'key'], 'key'],
    [['up', '--help'], 'up'],
    [['up', '-h'], 'up'],
    [['up', '--image', 'redis:7', '--help'], 'up'],
    [['key', '--help'], 'key'],
    [['down', '--help'], 'down'],
    [['down', '-h'], 'down'],
    [['ls', '--help'], 'ls'],
    [['prune', '-h'], 'prune']
  ])('help: %j', (argv, topic) => {
    expect(parseCommand(argv)).toStrictEqual({ name: 'help', topic })
  })

  test('a spec flag overrides nothing it was not given: unset flags are absent', () => {
    const command = parseCommand(['key', '--spec', 'pg.json', '--name', 'other'])
    expect(command.name === 'key' && Object.keys(command.spec)).toEqual(['name'])
  })
})

describe('usage errors', () => {
  test.each<[string[], RegExp]>([
    [['nope'], /^unknown command "nope"; commands: up, down, ls, prune, key/],
    [['--image', 'redis:7'], /^unknown command "--image"/],
    [['up', '--bogus'], /^unknown option '--bogus'/],
    [['ls', '--image', 'x'], /^unknown option '--image'/],
    [['down', '--force', 'db'], /^unknown option '--force'/],
    [['down'], /^down takes one container name: warmstart down NAME$/],
    [['down', 'a', 'b'], /^down takes one container name/],
    [['up', '--image', 'redis:7', 'stray'], /^unexpected argument "stray" \(an option value/],
    [['ls', 'extra'], /^unexpected argument "extra"/],
    [['prune', '500M'], /^unexpected argument "500M"/],
    [['up', '--file-locks', '--no-file-locks'], /^--file-locks and --no-file-locks contradict/],
    [['prune', '--max-size', 'lots'], /^--max-size: "lots" is not a size such as 500M or 10G$/],
    [['prune', '--max-size', '-1'], /--max-size/],
    [['prune', '--max-age', 'a week'], /^--max-age: "a week" is not an age such as 12h or 7d$/],
    [['up', '--options', '--shm-size=1g'], /'--options' argument is ambiguous/],
    [['up', '--image'], /'--image <value>' argument missing/],
    [['up', '--json=yes'], /'--json' does not take an argument/]
  ])('%j', (argv, message) => {
    let error: unknown
    try {
      parseCommand(argv)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(UsageError)
    expect((error as Error).message).toMatch(message)
  })
})

describe('parseSize', () => {
  test.each<[string, number]>([
    ['0', 0],
    ['2048', 2048],
    ['100B', 100],
    ['1K', 1024],
    ['1.5K', 1536],
    ['500M', 500 * MiB],
    ['500m', 500 * MiB],
    ['500MB', 500 * MiB],
    ['500MiB', 500 * MiB],
    ['10G', 10 * GiB],
    ['10 G', 10 * GiB],
    [' 10gib ', 10 * GiB],
    ['2T', 2 * 1024 ** 4],
    ['0.5G', 512 * MiB]
  ])('%j -> %d', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes)
  })

  test.each(['', 'lots', '-1', '10X', '10GG', '1,5G', 'G', '.5G', '10 Gigabytes'])(
    '%j is a usage error',
    (text) => {
      expect(() => parseSize(text)).toThrow(UsageError)
      expect(() => parseSize(text)).toThrow(`--max-size: "${text}" is not a size`)
    }
  )
})
