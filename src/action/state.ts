// What the main step hands to the post step: one typed, versioned JSON object in the runner's
// state. The post step reads nothing else (no inputs, no module globals).
import type { ContainersConf } from './install.js'
import * as core from '@actions/core'
import type { PhaseTimings } from '../timings.js'

const STATE_NAME = 'warmstart'
const VERSION = 3

export interface MainState {
  version: typeof VERSION
  containerName: string
  image: string
  cacheKey: string
  cacheHit: boolean
  restored: boolean
  startupSeconds: number
  checkpointBytes: number
  timings: PhaseTimings
  /** Whether this run may write the cache, and why. */
  save: boolean
  saveReason: string
  /** The directory holding a staged checkpoint to upload, if any. */
  stagedDir?: string
  /** The registry store (oci://...) it goes to; the GitHub Actions cache when absent. */
  registry?: string
  /** Directories warmstart created, to remove in post. */
  tempDirs: string[]
  /** The containers.conf warmstart's podman calls use, if the install set one. */
  containersConf?: ContainersConf
  /** Why no checkpoint was made when one was wanted. */
  checkpointFailure?: string
  warnings: string[]
}

export function saveMainState(state: Omit<MainState, 'version'>): void {
  core.saveState(STATE_NAME, JSON.stringify({ version: VERSION, ...state }))
}

/** The main step's state, or undefined when main did not get far enough to leave one. */
export function readMainState(): MainState | undefined {
  const text = core.getState(STATE_NAME)
  if (!text) return undefined
  const state = JSON.parse(text) as Partial<MainState>
  if (
    state.version !== VERSION ||
    typeof state.containerName !== 'string' ||
    !Array.isArray(state.tempDirs)
  ) {
    throw new Error(
      `the main step left state this post step does not understand (version ${String(state.version)})`
    )
  }
  return state as MainState
}
