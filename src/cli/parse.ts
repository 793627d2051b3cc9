// Command-line parsing, pure: argv in, a command to run out (or a usage error). The flags carry
// the spec fields' names, which are the action inputs' names.
import { parseArgs } from 'node:util'
import { SPEC_FIELDS, type RawSpec } from '../spec.js'

export type Command =
  | {
      name: 'up'
      spec: RawSpec
      specFile?: string
      store?: string
      json: boolean
      replace: boolean
      verbose: boolean
    }
  | { name: 'key'; spec: RawSpec; specFile?: string; json: boolean; explain: boolean }
  | { name: 'down'; container: string }
  | { name: 'ls'; store?: string; json: boolean }
  | {
      name: 'prune'
      store?: string
      maxSize?: number
      /** Milliseconds: entries not used (local) or created (registry) for longer go. */
      maxAgeMs?: number
      all: boolean
      dryRun: boolean
      json: boolean
    }
  | { name: 'help'; topic?: string }
  | { name: 'version' }

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

const specOptions = {
  spec: { type: 'string' },
  image: { type: 'string' },
  name: { type: 'string' },
  ports: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  options: { type: 'string', multiple: true },
  command: { type: 'string' },
  ready: { type: 'string' },
  'ready-timeout': { type: 'string' },
  warmup: { type: 'string' },
  key: { type: 'string' },
  'restore-keys': { type: 'string', multiple: true },
  refresh: { type: 'string' },
  'file-locks': { type: 'boolean' },
  'no-file-locks': { type: 'boolean' },
  'tcp-established': { type: 'boolean' },
  'volume-storage': { type: 'string' },
  'criu-timeout': { type: 'string' }
} as const

const common = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const

export function parseCommand(argv: string[]): Command {
  const [name, ...rest] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h')
    return { name: 'help', topic: rest[0] }
  if (name === '--version' || name === 'version') return { name: 'version' }
  switch (name) {
    case 'up': {
      const values = parse(
        rest,
        {
          ...specOptions,
          ...common,
          store: { type: 'string' },
          replace: { type: 'boolean', default: false },
          verbose: { type: 'boolean', short: 'v', default: false }
        },
        0
      )
      if (values.help) return { name: 'help', topic: 'up' }
      return {
        name: 'up',
        spec: rawSpec(values),
        specFile: values.spec as string | undefined,
        store: values.store as string | undefined,
        json: values.json === true,
        replace: values.replace === true,
        verbose: values.verbose === true
      }
    }
    case 'key': {
      const values = parse(
        rest,
        { ...specOptions, ...common, explain: { type: 'boolean', default: false } },
        0
      )
      if (values.help) return { name: 'help', topic: 'key' }
      return {
        name: 'key',
        spec: rawSpec(values),
        specFile: values.spec as string | undefined,
        json: values.json === true,
        explain: values.explain === true
      }
    }
    case 'down': {
      const { values, positionals } = parseWithPositionals(rest, common)
      if (values.help) return { name: 'help', topic: 'down' }
      if (positionals.length !== 1)
        throw new UsageError('down takes one container name: warmstart down NAME')
      return { name: 'down', container: positionals[0] as string }
    }
    case 'ls': {
      const values = parse(rest, { ...common, store: { type: 'string' } }, 0)
      if (values.help) return { name: 'help', topic: 'ls' }
      return { name: 'ls', store: values.store as string | undefined, json: values.json === true }
    }
    case 'prune': {
      const values = parse(
        rest,
        {
          ...common,
          store: { type: 'string' },
          'max-size': { type: 'string' },
          'max-age': { type: 'string' },
          all: { type: 'boolean', default: false },
          'dry-run': { type: 'boolean', default: false }
        },
        0
      )
      if (values.help) return { name: 'help', topic: 'prune' }
      const maxSize =
        values['max-size'] === undefined ? undefined : parseSize(values['max-size'] as string)
      return {
        name: 'prune',
        store: values.store as string | undefined,
        maxSize,
        maxAgeMs:
          values['max-age'] === undefined ? undefined : parseAge(values['max-age'] as string),
        all: values.all === true,
        dryRun: values['dry-run'] === true,
        json: values.json === true
      }
    }
    default:
      throw new UsageError(
        `unknown command "${name}"; commands: up, down, ls, prune, key (warmstart --help)`
      )
  }
}

/** `10G`, `500M`, `2048` (bytes) -> bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim())
  if (!match) throw new UsageError(`--max-size: "${text}" is not a size such as 500M or 10G`)
  const power = ' KMGT'.indexOf((match[2] || ' ').toUpperCase())
  return Math.round(Number(match[1]) * 1024 ** power)
}

/** `7d`, `12h`, `30m`, `90s` -> milliseconds. */
export function parseAge(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim())
  if (!match) throw new UsageError(`--max-age: "${text}" is not an age such as 12h or 7d`)
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[
    (match[2] as string).toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'
  ]
  return Math.round(Number(match[1]) * unit * 1000)
}

type Options = Parameters<typeof parseArgs>[0] extends infer C
  ? C extends { options?: infer O }
    ? O
    : never
  : never

function parse(args: string[], options: Options, positionals: number): Record<string, unknown> {
  const parsed = parseWithPositionals(args, options)
  if (parsed.positionals.length > positionals) {
    throw new UsageError(
      `unexpected argument "${parsed.positionals[positionals]}" (an option value that starts with -- is written --options=--flag=value)`
    )
  }
  return parsed.values
}

function parseWithPositionals(
  args: string[],
  options: Options
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: true
    })
    return { values: values as Record<string, unknown>, positionals }
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^Unknown option/, 'unknown option'))
  }
}

/** The spec fields given as flags; a spec file's fields are overridden by them. */
function rawSpec(values: Record<string, unknown>): RawSpec {
  const spec: RawSpec = {}
  // The booleans have --flag / --no-flag forms, handled below.
  for (const field of SPEC_FIELDS.filter(
    (name) => name !== 'file-locks' && name !== 'tcp-established'
  )) {
    if (values[field] !== undefined) spec[field] = values[field]
  }
  if (values['file-locks'] && values['no-file-locks'])
    throw new UsageError('--file-locks and --no-file-locks contradict each other')
  if (values['file-locks']) spec['file-locks'] = true
  if (values['no-file-locks']) spec['file-locks'] = false
  if (values['tcp-established']) spec['tcp-established'] = true
  return spec
}
