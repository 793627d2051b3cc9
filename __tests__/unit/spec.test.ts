import { describe, expect, test } from '@jest/globals'
import {
  DEFAULT_READY_TIMEOUT_SECONDS,
  SPEC_FIELDS,
  SpecError,
  defaultName,
  hostPorts,
  parseSpec,
  splitWords,
  type RawSpec,
  type ServiceSpec
} from '../../src/spec.js'

/** The SpecError parseSpec throws for `raw`; fails the test when it throws none (or another). */
function specError(raw: RawSpec): SpecError {
  try {
    parseSpec(raw)
  } catch (error) {
    if (error instanceof SpecError) return error
    throw error
  }
  throw new Error(`parseSpec accepted ${JSON.stringify(raw)}`)
}

describe('parseSpec: valid input', () => {
  test('only an image: every default', () => {
    expect(parseSpec({ image: 'docker.io/library/postgres:15' })).toStrictEqual({
      image: 'docker.io/library/postgres:15',
      name: 'warmstart-postgres',
      ports: [],
      env: {},
      options: [],
      command: [],
      ready: '',
      readyTimeoutSeconds: 120,
      warmup: '',
      key: '',
      restoreKeys: [],
      refresh: '',
      fileLocks: true,
      tcpEstablished: false,
      volumeStorage: 'auto',
      criuTimeoutSeconds: undefined
    } satisfies ServiceSpec)
    expect(DEFAULT_READY_TIMEOUT_SECONDS).toBe(120)
  })

  test('every field, as a JSON spec file gives them', () => {
    expect(
      parseSpec({
        image: 'localhost/warmstart/postgres:15',
        name: 'demo-postgres',
        ports: ['15432:5432', '127.0.0.1:16432:6432/tcp', '[::1]:15353:53/udp'],
        env: ['POSTGRES_PASSWORD=s3cret', 'PGOPTIONS=-c search_path=app', 'EMPTY='],
        options: ['--shm-size=1g', '--cap-add=SYS_PTRACE'],
        command: ['postgres', '-c', 'fsync=off'],
        ready: 'cmd:pg_isready -q -h 127.0.0.1 -p 15432',
        'ready-timeout': 30,
        warmup: './examples/postgres/warmup.sh',
        key: 'demo-v1',
        'file-locks': false,
        'tcp-established': true,
        'criu-timeout': 90
      })
    ).toStrictEqual({
      image: 'localhost/warmstart/postgres:15',
      name: 'demo-postgres',
      ports: ['15432:5432', '127.0.0.1:16432:6432/tcp', '[::1]:15353:53/udp'],
      env: { POSTGRES_PASSWORD: 's3cret', PGOPTIONS: '-c search_path=app', EMPTY: '' },
      options: ['--shm-size=1g', '--cap-add=SYS_PTRACE'],
      command: ['postgres', '-c', 'fsync=off'],
      ready: 'cmd:pg_isready -q -h 127.0.0.1 -p 15432',
      readyTimeoutSeconds: 30,
      warmup: './examples/postgres/warmup.sh',
      key: 'demo-v1',
      restoreKeys: [],
      refresh: '',
      fileLocks: false,
      tcpEstablished: true,
      volumeStorage: 'auto',
      criuTimeoutSeconds: 90
    } satisfies ServiceSpec)
  })

  test('every field as strings, as the action inputs give them', () => {
    expect(
      parseSpec({
        image: ' postgres:15 ',
        name: 'db',
        ports: '15432:5432\n  127.0.0.1:16379:6379  \n\n',
        env: 'A=1\nB=x=y\n',
        options: '--shm-size=1g\n--cap-add=SYS_PTRACE\n',
        command: `postgres -c 'shared_buffers=256MB' -c "log_statement=all"`,
        ready: 'tcp://127.0.0.1:15432',
        'ready-timeout': '45s',
        warmup: ' psql -f seed.sql ',
        key: 'v2',
        'file-locks': 'false',
        'tcp-established': 'true',
        'criu-timeout': 'auto'
      })
    ).toStrictEqual({
      image: 'postgres:15',
      name: 'db',
      ports: ['15432:5432', '127.0.0.1:16379:6379'],
      env: { A: '1', B: 'x=y' },
      options: ['--shm-size=1g', '--cap-add=SYS_PTRACE'],
      command: ['postgres', '-c', 'shared_buffers=256MB', '-c', 'log_statement=all'],
      ready: 'tcp://127.0.0.1:15432',
      readyTimeoutSeconds: 45,
      warmup: 'psql -f seed.sql',
      key: 'v2',
      restoreKeys: [],
      refresh: '',
      fileLocks: false,
      tcpEstablished: true,
      volumeStorage: 'auto',
      criuTimeoutSeconds: undefined
    } satisfies ServiceSpec)
  })

  test.each<[string, RawSpec, Partial<ServiceSpec>]>([
    [
      'empty strings are defaults',
      { image: 'redis:7', ports: '', env: '', 'ready-timeout': '' },
      {
        ports: [],
        env: {},
        readyTimeoutSeconds: 120
      }
    ],
    [
      'null is a default',
      { image: 'redis:7', name: null, 'file-locks': null },
      {
        name: 'warmstart-redis',
        fileLocks: true
      }
    ],
    [
      'timeout as a number',
      { image: 'redis:7', 'ready-timeout': 2.5 },
      { readyTimeoutSeconds: 2.5 }
    ],
    [
      'timeout as a string',
      { image: 'redis:7', 'ready-timeout': '300' },
      { readyTimeoutSeconds: 300 }
    ],
    [
      'booleans as booleans',
      { image: 'redis:7', 'file-locks': true, 'tcp-established': false },
      {
        fileLocks: true,
        tcpEstablished: false
      }
    ],
    [
      'booleans as strings',
      { image: 'redis:7', 'file-locks': 'true', 'tcp-established': 'false' },
      {
        fileLocks: true,
        tcpEstablished: false
      }
    ],
    ['a later env entry wins', { image: 'redis:7', env: ['A=1', 'A=2'] }, { env: { A: '2' } }],
    [
      'an env value keeps = and spaces inside',
      { image: 'redis:7', env: ['X=a = b'] },
      {
        env: { X: 'a = b' }
      }
    ],
    [
      'command as one word',
      { image: 'redis:7', command: 'redis-server' },
      { command: ['redis-server'] }
    ],
    [
      'command as an empty string keeps the image CMD',
      { image: 'redis:7', command: '' },
      { command: [] }
    ],
    [
      'command with an empty quoted argument',
      { image: 'redis:7', command: `redis-server --save ''` },
      {
        command: ['redis-server', '--save', '']
      }
    ],
    [
      'ready http',
      { image: 'nginx', ready: 'http://127.0.0.1:8080/' },
      { ready: 'http://127.0.0.1:8080/' }
    ],
    [
      'ready https',
      { image: 'nginx', ready: 'https://localhost/health' },
      { ready: 'https://localhost/health' }
    ],
    [
      'ready exec',
      { image: 'redis:7', ready: 'exec:redis-cli ping' },
      { ready: 'exec:redis-cli ping' }
    ],
    ['a 200-character key', { image: 'redis:7', key: 'k'.repeat(200) }, { key: 'k'.repeat(200) }],
    [
      'name with dots, dashes and underscores',
      { image: 'redis:7', name: 'ci.redis_7-a' },
      {
        name: 'ci.redis_7-a'
      }
    ]
  ])('%s', (_label, raw, expected) => {
    expect(parseSpec(raw)).toMatchObject(expected)
  })

  // Regression (was a bug): a command given as an array goes through list(),
  // which trims every word and drops empty ones, so `["redis-server", "--save", ""]` (disable RDB
  // snapshots, common for test services) runs `redis-server --save`. The string form keeps the
  // empty word (see the table above); an array is already argv and should be kept as given.
  test('command as an array keeps empty and space-padded words as given', () => {
    expect(
      parseSpec({ image: 'redis:7', command: ['redis-server', '--save', '', '--dir', ' /data '] })
        .command
    ).toEqual(['redis-server', '--save', '', '--dir', ' /data '])
  })
})

describe('parseSpec: every error names its field', () => {
  test.each<[string, RawSpec, string]>([
    ['missing image', {}, 'image'],
    ['blank image', { image: '   ' }, 'image'],
    ['image with white space', { image: 'postgres 15' }, 'image'],
    ['image not a string', { image: 15 }, 'image'],
    ['name with a space', { image: 'redis:7', name: 'my db' }, 'name'],
    ['name starting with -', { image: 'redis:7', name: '-db' }, 'name'],
    ['name with a slash', { image: 'redis:7', name: 'ci/db' }, 'name'],
    ['name not a string', { image: 'redis:7', name: ['db'] }, 'name'],
    ['port abc', { image: 'redis:7', ports: ['abc'] }, 'ports'],
    ['port 99999:1', { image: 'redis:7', ports: ['99999:1'] }, 'ports'],
    ['port 1:99999', { image: 'redis:7', ports: ['1:99999'] }, 'ports'],
    ['port 1:2:3:4', { image: 'redis:7', ports: ['1:2:3:4'] }, 'ports'],
    ['port 0:5432', { image: 'redis:7', ports: ['0:5432'] }, 'ports'],
    ['port with a host name', { image: 'redis:7', ports: ['localhost:1:2'] }, 'ports'],
    ['port with an unknown protocol', { image: 'redis:7', ports: ['1:2/sctp'] }, 'ports'],
    ['bad port among good ones', { image: 'redis:7', ports: '15432:5432\n5432' }, 'ports'],
    ['ports not strings', { image: 'redis:7', ports: [15432] }, 'ports'],
    ['ports an object', { image: 'redis:7', ports: { host: 1 } }, 'ports'],
    ['env without =', { image: 'redis:7', env: ['NOEQUALS'] }, 'env'],
    ['env name with -', { image: 'redis:7', env: ['BAD-NAME=secretvalue'] }, 'env'],
    ['env name starting with a digit', { image: 'redis:7', env: ['1A=x'] }, 'env'],
    ['env as an object', { image: 'redis:7', env: { A: '1' } }, 'env'],
    ['options not strings', { image: 'redis:7', options: [true] }, 'options'],
    ['command with an unterminated quote', { image: 'redis:7', command: 'echo "hi' }, 'command'],
    ['command not a string', { image: 'redis:7', command: 5 }, 'command'],
    ['ready ftp://', { image: 'redis:7', ready: 'ftp://127.0.0.1/' }, 'ready'],
    ['ready without a scheme', { image: 'redis:7', ready: 'localhost:5432' }, 'ready'],
    ['ready TCP:// in capitals', { image: 'redis:7', ready: 'TCP://127.0.0.1:1' }, 'ready'],
    ['timeout 0', { image: 'redis:7', 'ready-timeout': '0' }, 'ready-timeout'],
    ['timeout -5', { image: 'redis:7', 'ready-timeout': '-5' }, 'ready-timeout'],
    ['timeout abc', { image: 'redis:7', 'ready-timeout': 'abc' }, 'ready-timeout'],
    ['timeout 0 as a number', { image: 'redis:7', 'ready-timeout': 0 }, 'ready-timeout'],
    ['timeout Infinity', { image: 'redis:7', 'ready-timeout': 'Infinity' }, 'ready-timeout'],
    ['criu-timeout 0', { image: 'redis:7', 'criu-timeout': '0' }, 'criu-timeout'],
    ['criu-timeout never', { image: 'redis:7', 'criu-timeout': 'never' }, 'criu-timeout'],
    ['file-locks yes', { image: 'redis:7', 'file-locks': 'yes' }, 'file-locks'],
    ['file-locks TRUE', { image: 'redis:7', 'file-locks': 'TRUE' }, 'file-locks'],
    ['file-locks 1', { image: 'redis:7', 'file-locks': 1 }, 'file-locks'],
    ['tcp-established no', { image: 'redis:7', 'tcp-established': 'no' }, 'tcp-established'],
    ['comma in key', { image: 'redis:7', key: 'v1,v2' }, 'key'],
    ['201-character key', { image: 'redis:7', key: 'k'.repeat(201) }, 'key'],
    ['unknown field', { image: 'redis:7', port: '1:2' } as RawSpec, 'port'],
    ['unknown field before a missing image', { readyTimeout: 5 } as RawSpec, 'readyTimeout']
  ])('%s -> %s', (_label, raw, field) => {
    const error = specError(raw)
    expect(error.field).toBe(field)
    expect(error.message.startsWith(`${field}: `)).toBe(true)
    expect(error.name).toBe('SpecError')
  })

  test('messages say what is expected', () => {
    expect(specError({}).message).toBe(
      'image: required: the container image to run, e.g. postgres:15'
    )
    expect(specError({ image: 'x', ports: ['abc'] }).message).toBe(
      'ports: "abc" is not HOST:CONTAINER (e.g. 15432:5432)'
    )
    expect(specError({ image: 'x', 'file-locks': 'yes' }).message).toBe(
      'file-locks: "yes" is not true or false'
    )
    expect(specError({ image: 'x', extra: 1 } as RawSpec).message).toBe(
      `extra: unknown field; known fields: ${SPEC_FIELDS.join(', ')}`
    )
  })

  test.each([
    'BAD-NAME=secretvalue',
    '1BAD=secretvalue',
    'BAD NAME=secretvalue',
    'A.B=secretvalue'
  ])('the env error for %s does not show the value', (line) => {
    const error = specError({ image: 'redis:7', env: ['GOOD=1', line] })
    expect(error.field).toBe('env')
    expect(error.message).toContain(line.slice(0, line.indexOf('=')))
    expect(error.message).not.toContain('secretvalue')
  })

  // Regression (was a bug): for a line that starts with `=` (a forgotten name), `at` is 0 and
  // `name` becomes the whole line, so the error message prints the value, which may be a password.
  test('the env error for =secretvalue does not show the value', () => {
    const error = specError({ image: 'redis:7', env: ['=secretvalue'] })
    expect(error.field).toBe('env')
    expect(error.message).not.toContain('secretvalue')
  })
})

describe('splitWords', () => {
  test.each<[string, string[]]>([
    ['', []],
    ['   ', []],
    ['postgres', ['postgres']],
    ['postgres -c fsync=off', ['postgres', '-c', 'fsync=off']],
    ['  a \t b\n c  ', ['a', 'b', 'c']],
    [`'a b' c`, ['a b', 'c']],
    [`'a "b" c'`, ['a "b" c']],
    [`'a\\b'`, ['a\\b']],
    [`"a b"`, ['a b']],
    [`"a 'b' c"`, [`a 'b' c`]],
    [`"say \\"hi\\""`, ['say "hi"']],
    [`"a\\\\b"`, ['a\\b']],
    [`"a\\$b"`, ['a$b']],
    ['a\\ b', ['a b']],
    ['a\\"b', ['a"b']],
    ['a\\', ['a\\']],
    [`''`, ['']],
    [`"" x`, ['', 'x']],
    [`a'b'"c"d`, ['abcd']],
    [`sh -c 'echo "$HOME"'`, ['sh', '-c', 'echo "$HOME"']]
  ])('%j', (line, words) => {
    expect(splitWords(line)).toEqual(words)
  })

  test.each([
    [`"abc`, 'unterminated " quote'],
    [`'abc`, "unterminated ' quote"],
    [`a "b c`, 'unterminated " quote'],
    [`"a\\"`, 'unterminated " quote']
  ])('%j throws', (line, message) => {
    expect(() => splitWords(line)).toThrow(message)
  })

  // Regression (was a bug): inside double quotes a POSIX shell keeps the backslash before any
  // character but $ ` " \ and newline (`"a\nb"` is the four characters a\nb, as `sh -c` shows);
  // splitWords drops it, so `--command 'sh -c "printf \"a\nb\""'` loses its \n.
  test.each([
    [`"a\\nb"`, ['a\\nb']],
    [`"C:\\temp"`, ['C:\\temp']]
  ])('%j keeps the backslash as sh does', (line, words) => {
    expect(splitWords(line)).toEqual(words)
  })
})

describe('defaultName', () => {
  test.each([
    ['postgres', 'warmstart-postgres'],
    ['postgres:15', 'warmstart-postgres'],
    ['docker.io/library/postgres:15', 'warmstart-postgres'],
    ['localhost/warmstart/redis:7', 'warmstart-redis'],
    ['localhost:5000/x/y:1', 'warmstart-y'],
    ['localhost:5000/y', 'warmstart-y'],
    ['postgres@sha256:0123456789abcdef', 'warmstart-postgres'],
    ['docker.io/library/postgres:15@sha256:0123456789abcdef', 'warmstart-postgres'],
    ['ghcr.io/acme/my_db.svc:latest', 'warmstart-my_db.svc'],
    ['', 'warmstart-service']
  ])('%j -> %j', (image, name) => {
    expect(defaultName(image)).toBe(name)
  })

  test('is the name parseSpec picks', () => {
    expect(parseSpec({ image: 'localhost:5000/x/y:1' }).name).toBe('warmstart-y')
  })
})

describe('hostPorts', () => {
  test.each<[string[], Array<{ address?: string; host: number; container: number }>]>([
    [[], []],
    [['15432:5432'], [{ address: undefined, host: 15432, container: 5432 }]],
    [['127.0.0.1:16379:6379'], [{ address: '127.0.0.1', host: 16379, container: 6379 }]],
    [['[::1]:8080:80/tcp'], [{ address: '::1', host: 8080, container: 80 }]],
    [['53:53/udp'], [{ address: undefined, host: 53, container: 53 }]],
    [
      ['15432:5432', '0.0.0.0:13306:3306'],
      [
        { address: undefined, host: 15432, container: 5432 },
        { address: '0.0.0.0', host: 13306, container: 3306 }
      ]
    ]
  ])('%j', (ports, expected) => {
    expect(hostPorts(ports)).toEqual(expected)
  })
})
