// The command line: parse, run the engine, print. No logic of its own beyond that.
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import {
  down,
  formatBytes,
  message,
  planFor,
  up,
  UpError,
  type UpResult
} from '../engine/engine.js'
import { consoleLogger, silentLogger } from '../logger.js'
import { Podman } from '../podman.js'
import { parseSpec, SpecError, type RawSpec, type ServiceSpec } from '../spec.js'
import { LocalDirectoryStore, defaultStoreDir } from '../store/local.js'
import { isOciStore, parseOciLocation } from '../store/oci/artifact.js'
import { readCredentials } from '../store/oci/credentials.js'
import { OciRegistryStore } from '../store/oci-registry.js'
import { HELP } from './help.js'
import { parseCommand, UsageError, type Command } from './parse.js'
import { outputsOf } from '../outputs.js'
import { describePhases } from '../timings.js'

export const VERSION = '0.1.0'

export interface Io {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text)
}

/** Runs one command line; resolves to the process exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  try {
    return await execute(parseCommand(argv), io)
  } catch (error) {
    if (error instanceof UsageError || error instanceof SpecError) {
      io.stderr(`warmstart: ${error.message}\n`)
      return 2
    }
    io.stderr(`warmstart: ${message(error)}\n`)
    return error instanceof UpError ? error.exitCode : 1
  }
}

async function execute(command: Command, io: Io): Promise<number> {
  switch (command.name) {
    case 'help':
      io.stdout(`${HELP[command.topic ?? 'main'] ?? HELP.main}\n`)
      return 0
    case 'version':
      io.stdout(`warmstart ${VERSION}\n`)
      return 0
    case 'up': {
      const spec = loadSpec(command.spec, command.specFile)
      const logger = consoleLogger({ verbose: command.verbose })
      const podman = new Podman({ logger })
      const store = openStore(command.store)
      const result = await up(spec, { podman, store, logger, replace: command.replace })
      io.stdout(command.json ? `${JSON.stringify(outputs(result), null, 2)}\n` : describeUp(result))
      return 0
    }
    case 'key': {
      const spec = loadSpec(command.spec, command.specFile)
      // The same facts and decision as `up`: the key printed is the key `up` uses.
      const { key } = await planFor(spec, { podman: new Podman({ logger: silentLogger }) })
      if (command.json)
        io.stdout(
          `${JSON.stringify(command.explain ? { 'cache-key': key.key, components: key.components } : { 'cache-key': key.key })}\n`
        )
      else if (command.explain) {
        const width = Math.max(...Object.keys(key.components).map((name) => name.length))
        io.stdout(
          `${key.key}\n${Object.entries(key.components)
            .map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)
            .join('\n')}\n`
        )
      } else io.stdout(`${key.key}\n`)
      return 0
    }
    case 'down':
      await down(command.container, { podman: new Podman() })
      io.stderr(`removed ${command.container}\n`)
      return 0
    case 'ls': {
      const store = openStore(command.store)
      const entries = await store.list()
      if (command.json) {
        io.stdout(`${JSON.stringify(entries, null, 2)}\n`)
      } else if (!entries.length) {
        io.stdout(`no checkpoints in ${store.description}\n`)
      } else {
        for (const entry of entries) {
          const when =
            'lastUsedAt' in entry
              ? `last used ${new Date(entry.lastUsedAt).toISOString()}`
              : `created ${new Date(entry.createdAt).toISOString()}`
          io.stdout(`${entry.key}  ${formatBytes(entry.bytes)}  ${when}\n`)
        }
      }
      return 0
    }
    case 'prune': {
      const store = openStore(command.store)
      const removed: Array<{ bytes: number }> = await store.prune({
        maxBytes: command.all ? 0 : command.maxSize,
        maxAgeMs: command.maxAgeMs,
        dryRun: command.dryRun
      })
      if (command.json) io.stdout(`${JSON.stringify(removed, null, 2)}\n`)
      else {
        const verb = command.dryRun ? 'would remove' : 'removed'
        io.stdout(
          `${verb} ${removed.length} checkpoint(s), ${formatBytes(removed.reduce((sum, entry) => sum + entry.bytes, 0))}\n`
        )
      }
      return 0
    }
  }
}

function loadSpec(flags: RawSpec, file?: string): ServiceSpec {
  let fromFile: RawSpec = {}
  if (file) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw new UsageError(`--spec: cannot read ${file}: ${message(error)}`)
    }
    try {
      fromFile = JSON.parse(text) as RawSpec
    } catch (error) {
      throw new UsageError(`--spec: ${file} is not JSON: ${message(error)}`)
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new UsageError(`--spec: ${file} must hold a JSON object`)
    }
  }
  return parseSpec({ ...fromFile, ...flags })
}

/**
 * The store `--store` names: `oci://REGISTRY/REPOSITORY` (credentials from the auth files
 * podman and docker keep), else a directory.
 */
function openStore(text?: string): LocalDirectoryStore | OciRegistryStore {
  if (text === undefined || !isOciStore(text)) {
    return new LocalDirectoryStore({ dir: text ?? defaultStoreDir(process.env, homedir()) })
  }
  let location
  try {
    location = parseOciLocation(text)
  } catch (error) {
    throw new UsageError(`--store: ${message(error)}`)
  }
  return new OciRegistryStore({
    location,
    credentials: readCredentials(location.registry, location.repository, process.env, homedir())
  })
}

/** The action's output names, plus the phase timings and warnings. */
export function outputs(result: UpResult): Record<string, unknown> {
  return {
    ...outputsOf(result),
    saved: result.saved,
    ...(result.restoreStats ? { 'restore-stats': result.restoreStats } : {}),
    timings: result.timings,
    warnings: result.warnings
  }
}

function describeUp(result: UpResult): string {
  const how = result.restored ? 'restored from its checkpoint' : 'started cold'
  const phases = describePhases(result.timings)
  const stored = result.saved ? `; checkpoint of ${formatBytes(result.checkpointBytes)} stored` : ''
  return `${result.containerName} is up: ${how} in ${result.startupSeconds.toFixed(1)} s (${phases})${stored}\n`
}
