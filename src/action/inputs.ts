// The action's inputs, read and validated once, up front. Names match action.yml (a unit test
// checks it) and the service spec's fields.
import * as core from '@actions/core'
import { readFileSync } from 'node:fs'
import { parseSpec, SPEC_FIELDS, SpecError, type ServiceSpec } from '../spec.js'
import { isOciStore, parseOciLocation, type OciLocation } from '../store/oci/artifact.js'

/** The spec's fields are inputs of the same names. */
export const SPEC_INPUTS = SPEC_FIELDS

export const INPUTS = [...SPEC_INPUTS, 'save', 'store', 'registry-token', 'install'] as const

export { OUTPUTS } from '../outputs.js'

export type SaveInput = 'true' | 'false' | 'auto'

export interface Inputs {
  spec: ServiceSpec
  save: SaveInput
  /** Undefined: the GitHub Actions cache. */
  store?: OciLocation
  /** The registry's password or token (registry-token), masked in the log. */
  registryToken?: string
  install: boolean
}

export class InputError extends Error {
  constructor(input: string, message: string) {
    super(`input ${input}: ${message}`)
    this.name = 'InputError'
  }
}

export function getInputs(): Inputs {
  const raw: Record<string, string> = {}
  for (const name of SPEC_INPUTS) raw[name] = core.getInput(name)
  // Booleans strictly (true/false); their defaults live in action.yml.
  const fileLocks = booleanInput('file-locks')
  const tcpEstablished = booleanInput('tcp-established')
  let spec: ServiceSpec
  try {
    spec = parseSpec({
      ...raw,
      // Multi-line inputs: one item per line.
      ports: raw.ports,
      env: raw.env,
      options: raw.options,
      'restore-keys': raw['restore-keys'],
      'file-locks': fileLocks,
      'tcp-established': tcpEstablished
    })
  } catch (error) {
    if (error instanceof SpecError)
      throw new InputError(error.field, error.message.slice(error.field.length + 2))
    throw error
  }
  for (const value of Object.values(spec.env)) if (value) core.setSecret(value)
  const save = core.getInput('save').trim().toLowerCase() || 'auto'
  if (save !== 'true' && save !== 'false' && save !== 'auto') {
    throw new InputError('save', `"${save}" is not true, false or auto`)
  }
  const registryToken = core.getInput('registry-token') || undefined
  if (registryToken) core.setSecret(registryToken)
  return {
    spec,
    save,
    store: storeInput(core.getInput('store').trim()),
    registryToken,
    install: booleanInput('install')
  }
}

/** The `store` input: empty for the Actions cache, else an oci:// registry address. */
export function storeInput(text: string): OciLocation | undefined {
  if (!text) return undefined
  if (!isOciStore(text)) {
    throw new InputError(
      'store',
      `"${text}" is not a store: leave it empty for the GitHub Actions cache, or give oci://REGISTRY/REPOSITORY`
    )
  }
  try {
    return parseOciLocation(text)
  } catch (error) {
    throw new InputError('store', (error as Error).message)
  }
}

function booleanInput(name: string): boolean {
  try {
    return core.getBooleanInput(name)
  } catch {
    throw new InputError(name, `"${core.getInput(name)}" is not true or false`)
  }
}

/**
 * Whether this run writes the cache. `auto` saves on every event but a pull request from a fork:
 * its checkpoint would be restored, as root, by every later run that shares the cache.
 */
export function decideSave(
  save: SaveInput,
  event: { name?: string; payload?: unknown }
): { save: boolean; reason: string } {
  if (save === 'true') return { save: true, reason: 'save: true' }
  if (save === 'false') return { save: false, reason: 'save: false' }
  if (isForkPullRequest(event)) {
    return {
      save: false,
      reason: 'a pull request from a fork does not write the cache (set save: true to override)'
    }
  }
  return { save: true, reason: 'save: auto' }
}

function isForkPullRequest(event: { name?: string; payload?: unknown }): boolean {
  if (event.name !== 'pull_request' && event.name !== 'pull_request_target') return false
  const pr = (
    event.payload as {
      pull_request?: {
        head?: { repo?: { fork?: boolean; full_name?: string } }
        base?: { repo?: { full_name?: string } }
      }
    }
  )?.pull_request
  if (!pr) return false
  if (pr.head?.repo?.fork) return true
  return Boolean(pr.head?.repo?.full_name && pr.head.repo.full_name !== pr.base?.repo?.full_name)
}

/** The triggering event, as the runner describes it. */
export function readEvent(env: NodeJS.ProcessEnv = process.env): {
  name?: string
  payload?: unknown
} {
  const path = env.GITHUB_EVENT_PATH
  let payload: unknown
  if (path) {
    try {
      payload = JSON.parse(readFileSync(path, 'utf8'))
    } catch {
      payload = undefined
    }
  }
  return { name: env.GITHUB_EVENT_NAME, payload }
}
