// What `up` tells its caller, under the names action.yml declares: the Action sets them as step
// outputs and the CLI prints them with --json, from this one place.
import type { UpResult } from './engine/engine.js'

export const OUTPUTS = [
  'cache-hit',
  'restored',
  'container-id',
  'container-name',
  'cache-key',
  'startup-seconds',
  'checkpoint-bytes',
  'checkpoint-failed'
] as const

export type OutputName = (typeof OUTPUTS)[number]

export function outputsOf(result: UpResult): Record<OutputName, string | number | boolean> {
  return {
    'cache-hit': result.cacheHit,
    restored: result.restored,
    'container-id': result.containerId,
    'container-name': result.containerName,
    'cache-key': result.cacheKey,
    'startup-seconds': result.startupSeconds,
    'checkpoint-bytes': result.checkpointBytes,
    'checkpoint-failed': result.checkpointFailure ?? ''
  }
}
