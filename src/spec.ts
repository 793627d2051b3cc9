// The service spec: one typed, validated description of the service to start warm. The action's
// inputs, the command line's flags and the JSON spec file all use the same names and end here.

export interface ServiceSpec {
  image: string
  /** Container name. */
  name: string
  /** `[IP:]HOST:CONTAINER[/PROTO]`, as `podman run --publish` takes them. */
  ports: string[]
  /** The service's environment. Values are secrets as far as warmstart is concerned. */
  env: Record<string, string>
  /** Extra `podman run` options. */
  options: string[]
  /** Replaces the image's CMD; empty keeps it. */
  command: string[]
  /** Readiness probe: tcp://HOST:PORT, http(s)://URL, exec:CMD or cmd:CMD; '' picks a default. */
  ready: string
  readyTimeoutSeconds: number
  /** Host shell command run once the service is ready on a cold start. */
  warmup: string
  /** The user's part of the cache key. */
  key: string
  /** Older user key parts to restore from when the exact key misses (prefix matches). */
  restoreKeys: string[]
  /** Host shell command that brings a checkpoint restored by a restore key up to date. */
  refresh: string
  /** Checkpoint and restore held file locks (MariaDB needs it). */
  fileLocks: boolean
  /** Checkpoint and restore established TCP connections. */
  tcpEstablished: boolean
  /** Where a warm restore puts the service's volumes: in memory when they fit (auto), memory, disk. */
  volumeStorage: VolumeStorageSetting
  /** The time limit of one checkpoint or restore, in seconds; undefined: by size (engine/limits.ts). */
  criuTimeoutSeconds?: number
}

export type VolumeStorageSetting = 'auto' | 'memory' | 'disk'
const VOLUME_STORAGE: readonly VolumeStorageSetting[] = ['auto', 'memory', 'disk']

/** The spec as it arrives from a JSON file or flags, before validation. */
export interface RawSpec {
  image?: unknown
  name?: unknown
  ports?: unknown
  env?: unknown
  options?: unknown
  command?: unknown
  ready?: unknown
  'ready-timeout'?: unknown
  warmup?: unknown
  key?: unknown
  'restore-keys'?: unknown
  refresh?: unknown
  'file-locks'?: unknown
  'tcp-established'?: unknown
  'volume-storage'?: unknown
  'criu-timeout'?: unknown
}

export const SPEC_FIELDS: ReadonlyArray<keyof RawSpec> = [
  'image',
  'name',
  'ports',
  'env',
  'options',
  'command',
  'ready',
  'ready-timeout',
  'warmup',
  'key',
  'restore-keys',
  'refresh',
  'file-locks',
  'tcp-established',
  'volume-storage',
  'criu-timeout'
]

export class SpecError extends Error {
  constructor(
    readonly field: string,
    message: string
  ) {
    super(`${field}: ${message}`)
    this.name = 'SpecError'
  }
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const PORT =
  /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/

export const DEFAULT_READY_TIMEOUT_SECONDS = 120
const MAX_NAME_LENGTH = 128

export function parseSpec(raw: RawSpec): ServiceSpec {
  const unknown = Object.keys(raw).filter((field) => !SPEC_FIELDS.includes(field as keyof RawSpec))
  if (unknown.length) {
    throw new SpecError(
      unknown[0] as string,
      `unknown field; known fields: ${SPEC_FIELDS.join(', ')}`
    )
  }
  const image = text(raw.image, 'image')
  if (!image) throw new SpecError('image', 'required: the container image to run, e.g. postgres:15')
  if (/\s/.test(image)) throw new SpecError('image', `"${image}" contains white space`)
  const name = text(raw.name, 'name') || defaultName(image)
  if (!NAME.test(name)) {
    throw new SpecError('name', `"${name}" is not a valid container name (letters, digits, _ . -)`)
  }
  // The name is part of the cache key, which may not exceed 512 characters.
  if (name.length > MAX_NAME_LENGTH) {
    throw new SpecError('name', `is ${name.length} characters long; at most ${MAX_NAME_LENGTH}`)
  }
  const ports = list(raw.ports, 'ports')
  for (const port of ports) {
    const match = PORT.exec(port)
    if (!match || !validPort(match[1]) || !validPort(match[2])) {
      throw new SpecError('ports', `"${port}" is not HOST:CONTAINER (e.g. 15432:5432)`)
    }
  }
  const restoreKeys = list(raw['restore-keys'], 'restore-keys').map((restoreKey) => {
    if (restoreKey.includes(',')) throw new SpecError('restore-keys', 'must not contain commas')
    return restoreKey
  })
  const refresh = text(raw.refresh, 'refresh')
  if (restoreKeys.length && !refresh) {
    throw new SpecError(
      'restore-keys',
      'needs refresh: the command that brings an older checkpoint up to date (e.g. apply only new migrations)'
    )
  }
  return {
    image,
    name,
    ports,
    env: environment(list(raw.env, 'env')),
    options: list(raw.options, 'options'),
    command: words(raw.command, 'command'),
    ready: probeText(text(raw.ready, 'ready')),
    readyTimeoutSeconds: seconds(raw['ready-timeout'], 'ready-timeout'),
    warmup: text(raw.warmup, 'warmup'),
    key: cacheKeyPart(text(raw.key, 'key')),
    restoreKeys,
    refresh,
    fileLocks: flag(raw['file-locks'], 'file-locks', true),
    tcpEstablished: flag(raw['tcp-established'], 'tcp-established', false),
    volumeStorage: volumeStorage(text(raw['volume-storage'], 'volume-storage')),
    criuTimeoutSeconds: criuTimeout(raw['criu-timeout'])
  }
}

/** `auto` (or nothing): by size; else a positive number of seconds. */
function criuTimeout(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '' || value === 'auto') return undefined
  return seconds(value, 'criu-timeout')
}

function volumeStorage(value: string): VolumeStorageSetting {
  if (!value) return 'auto'
  const setting = VOLUME_STORAGE.find((known) => known === value.toLowerCase())
  if (!setting) {
    throw new SpecError('volume-storage', `"${value}" is not one of ${VOLUME_STORAGE.join(', ')}`)
  }
  return setting
}

/** `docker.io/library/postgres:15` -> `warmstart-postgres`. */
export function defaultName(image: string): string {
  const last = image.split('@')[0]?.split('/').pop() ?? ''
  const base = last.split(':')[0]?.replace(/[^a-zA-Z0-9_.-]/g, '-') ?? ''
  return `warmstart-${base || 'service'}`
}

/** The published ports, in order: `127.0.0.1:15432:5432` -> address 127.0.0.1, host 15432, container 5432. */
export function hostPorts(
  ports: string[]
): Array<{ address?: string; host: number; container: number }> {
  return ports.map((port) => {
    const match = PORT.exec(port)
    const address = /^(.*):\d+:\d+/.exec(port.replace(/\/(tcp|udp)$/, ''))?.[1]
    return {
      address: address?.replace(/^\[|\]$/g, ''),
      host: Number(match?.[1]),
      container: Number(match?.[2])
    }
  })
}

/**
 * Splits a command line into words the way a POSIX shell does for plain words, single and
 * double quotes and backslashes; no expansion. `command` given as one string goes through it.
 */
export function splitWords(line: string): string[] {
  const result: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < line.length; i++) {
    const char = line[i] as string
    if (quote) {
      if (char === quote) quote = undefined
      else if (
        char === '\\' &&
        quote === '"' &&
        i + 1 < line.length &&
        '$`"\\\n'.includes(line[i + 1] as string)
      ) {
        word += line[++i]
      } else word += char
    } else if (char === '"' || char === "'") {
      quote = char
      inWord = true
    } else if (char === '\\' && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (/\s/.test(char)) {
      if (inWord) result.push(word)
      word = ''
      inWord = false
    } else {
      word += char
      inWord = true
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote`)
  if (inWord) result.push(word)
  return result
}

function text(value: unknown, field: string): string {
  if (value === undefined || value === null) return ''
  if (typeof value !== 'string') throw new SpecError(field, `must be a string, got ${typeof value}`)
  return value.trim()
}

/** An array of strings, or one string with one item per line. */
function list(value: unknown, field: string): string[] {
  if (value === undefined || value === null || value === '') return []
  if (typeof value === 'string') {
    return value
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
  }
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return value.map((item: string) => item.trim()).filter((item) => item !== '')
  }
  throw new SpecError(field, 'must be an array of strings (or one item per line)')
}

function words(value: unknown, field: string): string[] {
  if (Array.isArray(value)) {
    // An array is taken word for word: empty and space-padded arguments are deliberate.
    if (value.every((item) => typeof item === 'string')) return [...(value as string[])]
    throw new SpecError(field, 'must be a string or an array of strings')
  }
  const line = text(value, field)
  try {
    return splitWords(line)
  } catch (error) {
    throw new SpecError(field, (error as Error).message)
  }
}

function environment(lines: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of lines) {
    const at = line.indexOf('=')
    const name = at >= 0 ? line.slice(0, at) : line
    // Never echo the value: it may be a password.
    if (at <= 0 || !ENV_NAME.test(name)) {
      throw new SpecError(
        'env',
        `"${name}" is not NAME=value with NAME made of letters, digits and _`
      )
    }
    env[name] = line.slice(at + 1)
  }
  return env
}

function seconds(value: unknown, field: string): number {
  if (value === undefined || value === null || value === '') return DEFAULT_READY_TIMEOUT_SECONDS
  const number = typeof value === 'number' ? value : Number(String(value).replace(/s$/, ''))
  if (!Number.isFinite(number) || number <= 0) {
    throw new SpecError(field, `"${String(value)}" is not a positive number of seconds`)
  }
  return number
}

function flag(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback
  if (typeof value === 'boolean') return value
  if (value === 'true') return true
  if (value === 'false') return false
  throw new SpecError(field, `"${String(value)}" is not true or false`)
}

function probeText(ready: string): string {
  if (ready && !/^(tcp:\/\/|https?:\/\/|exec:|cmd:)/.test(ready)) {
    throw new SpecError(
      'ready',
      `"${ready}" is not tcp://HOST:PORT, http(s)://URL, exec:CMD or cmd:CMD`
    )
  }
  return ready
}

function cacheKeyPart(key: string): string {
  if (key.includes(',')) throw new SpecError('key', 'must not contain commas (cache keys cannot)')
  if (key.length > 200) throw new SpecError('key', 'is longer than 200 characters')
  return key
}

function validPort(port: string | undefined): boolean {
  const number = Number(port)
  return Number.isInteger(number) && number >= 1 && number <= 65535
}
