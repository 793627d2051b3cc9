import { afterEach, describe, expect, jest, test } from '@jest/globals'
import { actionYml, declared, inputDefaults, section } from '../action-yml.js'
import type { SaveInput } from '../../src/action/inputs.js'

// @actions/core mocked through one typed fixture: inputs come from a table, commands are recorded.
const inputs: Record<string, string> = {}
const secrets: string[] = []
jest.unstable_mockModule('@actions/core', () => ({
  getInput: (name: string) => inputs[name] ?? '',
  getBooleanInput: (name: string) => {
    const value = inputs[name] ?? ''
    if (value === 'true') return true
    if (value === 'false') return false
    throw new TypeError(`Input does not meet YAML 1.2 "Core Schema" specification: ${name}`)
  },
  setSecret: (value: string) => void secrets.push(value)
}))
const { INPUTS, OUTPUTS, InputError, decideSave, getInputs } =
  await import('../../src/action/inputs.js')

function setInputs(values: Record<string, string>): void {
  for (const key of Object.keys(inputs)) delete inputs[key]
  Object.assign(inputs, inputDefaults(), values)
}

afterEach(() => {
  secrets.length = 0
})

describe('action.yml', () => {
  test('declares exactly the inputs and outputs the code reads and writes', () => {
    expect(declared(section('inputs', 'outputs')).sort()).toEqual([...INPUTS].sort())
    expect(declared(section('outputs', 'runs')).sort()).toEqual([...OUTPUTS].sort())
  })

  test('every input but image has a default, booleans as true or false', () => {
    const values = inputDefaults()
    for (const input of INPUTS.filter((name) => name !== 'image'))
      expect(values).toHaveProperty(input)
    for (const flag of ['install', 'file-locks', 'tcp-established']) {
      expect(['true', 'false']).toContain(values[flag])
    }
  })

  test('runs node24 with main and an always-run post step', () => {
    expect(actionYml).toMatch(
      /using: node24\n {2}main: dist\/main\/index.js\n {2}post: dist\/post\/index.js\n {2}post-if: always\(\)/
    )
  })
})

describe('getInputs', () => {
  test('reads the service spec from multi-line inputs and masks env values', () => {
    setInputs({
      image: 'postgres:16',
      ports: '5432:5432\n127.0.0.1:6432:6432',
      env: 'POSTGRES_PASSWORD=throwaway\nPOSTGRES_DB=app',
      options: '--shm-size=256m',
      warmup: 'npm run migrate',
      key: 'migrations-abc'
    })
    const result = getInputs()
    expect(result.spec).toMatchObject({
      image: 'postgres:16',
      name: 'warmstart-postgres',
      ports: ['5432:5432', '127.0.0.1:6432:6432'],
      env: { POSTGRES_PASSWORD: 'throwaway', POSTGRES_DB: 'app' },
      options: ['--shm-size=256m'],
      readyTimeoutSeconds: 120,
      fileLocks: true,
      tcpEstablished: false
    })
    expect(result).toMatchObject({ save: 'auto', install: true })
    expect(result.store).toBeUndefined()
    expect(secrets.sort()).toEqual(['app', 'throwaway'])
  })

  test('a registry store, and its token masked', () => {
    setInputs({
      image: 'redis',
      store: 'oci://ghcr.io/acme/checkpoints',
      'registry-token': 'ghs_not-a-real-token'
    })
    const result = getInputs()
    expect(result.store).toEqual({
      registry: 'ghcr.io',
      repository: 'acme/checkpoints',
      baseUrl: 'https://ghcr.io'
    })
    expect(result.registryToken).toBe('ghs_not-a-real-token')
    expect(secrets).toContain('ghs_not-a-real-token')
  })

  test.each([
    [{ image: '' }, /^input image: required/],
    [{ image: 'redis', ports: '6379' }, /^input ports: "6379" is not HOST:CONTAINER/],
    [{ image: 'redis', 'ready-timeout': 'soon' }, /^input ready-timeout: "soon"/],
    [
      { image: 'redis', 'file-locks': 'yes please' },
      /^input file-locks: "yes please" is not true or false/
    ],
    [{ image: 'redis', save: 'sometimes' }, /^input save: "sometimes" is not true, false or auto/],
    [{ image: 'redis', env: 'password' }, /^input env: "password" is not NAME=value/],
    [{ image: 'redis', store: 's3://bucket' }, /^input store: "s3:\/\/bucket" is not a store/],
    [{ image: 'redis', store: 'oci://ghcr.io' }, /^input store: .*no repository/]
  ])('%j fails naming the input', (values, message) => {
    setInputs(values)
    expect(() => getInputs()).toThrow(InputError)
    expect(() => getInputs()).toThrow(message)
  })
})

describe('decideSave', () => {
  const fork = {
    name: 'pull_request',
    payload: {
      pull_request: {
        head: { repo: { fork: true, full_name: 'someone/app' } },
        base: { repo: { full_name: 'acme/app' } }
      }
    }
  }
  const samerepo = {
    name: 'pull_request',
    payload: {
      pull_request: {
        head: { repo: { fork: false, full_name: 'acme/app' } },
        base: { repo: { full_name: 'acme/app' } }
      }
    }
  }
  test.each<[SaveInput, { name: string; payload?: unknown }, boolean]>([
    ['auto', { name: 'push' }, true],
    ['auto', samerepo, true],
    ['auto', fork, false],
    ['true', fork, true],
    ['false', { name: 'push' }, false]
  ])('save: %s on %j -> %s', (save, event, expected) => {
    expect(decideSave(save, event).save).toBe(expected)
  })

  test('says why a fork does not save', () => {
    expect(decideSave('auto', fork).reason).toMatch(/fork.*save: true/)
  })
})
