// main() for the command lines that end before any container starts: help, version and the usage
// and spec errors that validation catches first.
import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { VERSION, main } from '../../src/cli/main.js'

const SPEC_FLAGS = [
  'image',
  'name',
  'ports',
  'env',
  'options',
  'command',
  'ready',
  'ready-timeout',
  'warmup',
  'key'
]

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) })
  return { code, out, err }
}

describe('help', () => {
  test.each([[['up', '--help']], [['up', '-h']], [['help', 'up']], [['key', '--help']]])(
    '%j lists every spec flag and exits 0',
    async (argv) => {
      const { code, out, err } = await run(argv)
      expect(code).toBe(0)
      expect(err).toBe('')
      for (const flag of SPEC_FLAGS) expect(out).toMatch(new RegExp(`^ {2}--${flag}[ =]`, 'm'))
      expect(out).toContain('--spec FILE')
    }
  )

  test.each([[['--help']], [['-h']], [['help']], [[]], [['help', 'nope']]])(
    '%j names every command, says where the flags are, and exits 0',
    async (argv) => {
      const { code, out, err } = await run(argv)
      expect(code).toBe(0)
      expect(err).toBe('')
      expect(out).toMatch(/^Usage: warmstart COMMAND \[OPTIONS\]$/m)
      for (const command of ['up', 'down', 'ls', 'prune', 'key']) {
        expect(out).toMatch(new RegExp(`^ {2}${command} +\\S`, 'm'))
      }
      expect(out).toContain('Run warmstart COMMAND --help for its options.')
    }
  )

  test.each([
    [['down', '--help'], 'Usage: warmstart down NAME'],
    [['ls', '--help'], 'Usage: warmstart ls [--store STORE] [--json]'],
    [['prune', '--help'], '--max-size SIZE']
  ])('%j prints its own help', async (argv, text) => {
    const { code, out } = await run(argv)
    expect(code).toBe(0)
    expect(out).toContain(text)
  })
})

describe('version', () => {
  test.each([[['--version']], [['version']]])('%j prints the package version', async (argv) => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
    ) as { version: string }
    const { code, out } = await run(argv)
    expect(code).toBe(0)
    expect(VERSION).toBe(pkg.version)
    expect(out).toBe(`warmstart ${pkg.version}\n`)
  })
})

describe('errors exit 2 with a message on stderr', () => {
  test.each<[string[], RegExp]>([
    [['nope'], /^warmstart: unknown command "nope"; commands: up, down, ls, prune, key/],
    [['up'], /^warmstart: image: required: the container image to run/],
    [['key'], /^warmstart: image: required/],
    [['up', '--bogus'], /^warmstart: unknown option '--bogus'/],
    [['up', '--image', 'redis:7', '--env', 'NOEQUALS'], /^warmstart: env: "NOEQUALS" is not/],
    [['up', '--image', 'redis:7', '--ready-timeout', '0'], /^warmstart: ready-timeout: "0"/],
    [
      ['up', '--spec', '/nonexistent.json'],
      /^warmstart: --spec: cannot read \/nonexistent\.json: /
    ],
    [['key', '--spec', '/nonexistent.json'], /^warmstart: --spec: cannot read \/nonexistent\.json/],
    [['down'], /^warmstart: down takes one container name/]
  ])('%j', async (argv, message) => {
    const { code, out, err } = await run(argv)
    expect(code).toBe(2)
    expect(out).toBe('')
    expect(err).toMatch(message)
    expect(err.endsWith('\n')).toBe(true)
    expect(err.split('\n')).toHaveLength(2)
  })

  test('a spec file that is not JSON, and one that is not an object', async () => {
    const notJson = new URL('../fixtures/host/criu-version.txt', import.meta.url).pathname
    const array = new URL('../fixtures/podman/container-inspect-mariadb.json', import.meta.url)
      .pathname
    const first = await run(['up', '--spec', notJson])
    expect(first.code).toBe(2)
    expect(first.err).toContain(`--spec: ${notJson} is not JSON`)
    const second = await run(['up', '--spec', array])
    expect(second.code).toBe(2)
    expect(second.err).toBe(`warmstart: --spec: ${array} must hold a JSON object\n`)
  })

  test('flags override the spec file, and its errors name the field', async () => {
    const file = new URL('../../examples/postgres/spec.json', import.meta.url).pathname
    const { code, err } = await run(['up', '--spec', file, '--ports', 'abc'])
    expect(code).toBe(2)
    expect(err).toBe('warmstart: ports: "abc" is not HOST:CONTAINER (e.g. 15432:5432)\n')
  })
})
