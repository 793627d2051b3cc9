// The action's post step: upload the checkpoint main staged (when this run may save), remove the
// container and every temporary file, and write the job summary. Cache troubles only warn.
import { useContainersConf } from './install.js'
import * as core from '@actions/core'
import { rmdirSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { down, formatBytes, message } from '../engine/engine.js'
import { Podman } from '../podman.js'
import { homedir } from 'node:os'
import { ActionsCacheStore } from '../store/actions-cache.js'
import { parseOciLocation } from '../store/oci/artifact.js'
import { actionCredentials } from '../store/oci/credentials.js'
import { OciRegistryStore } from '../store/oci-registry.js'
import { readStagedEntry } from '../store/staging.js'
import type { SaveResult } from '../store/store.js'
import { describePhases } from '../timings.js'
import { actionsLogger } from './logger.js'
import { readMainState, type MainState } from './state.js'

export async function run(): Promise<void> {
  let state: MainState | undefined
  try {
    state = readMainState()
  } catch (error) {
    core.warning(message(error))
    return
  }
  if (!state) return
  // The container was made with this configuration (runc, cgroupfs): removing it needs it too.
  if (state.containersConf) useContainersConf(state.containersConf)
  let uploaded: { saved: boolean; bytes: number; reason?: string } | undefined
  try {
    if (state.stagedDir && state.save && state.cacheKey) {
      uploaded = await core.group('Save the checkpoint', async () => {
        const result = await upload(state as MainState)
        if (result.saved) core.info(`saved ${formatBytes(result.bytes)} under ${state.cacheKey}`)
        else core.warning(`the checkpoint was not saved: ${result.reason}`)
        return result
      })
    }
  } catch (error) {
    core.warning(`the checkpoint was not saved: ${message(error)}`)
  }
  await core
    .group('Clean up', async () => {
      await down(state.containerName, { podman: new Podman({ logger: actionsLogger }) }).catch(
        (error: unknown) =>
          core.warning(`could not remove ${state.containerName}: ${message(error)}`)
      )
      for (const dir of state.tempDirs) rmSync(dir, { recursive: true, force: true })
      // Their parents (warmstart-work, warmstart-cache) go too once empty: other services may share them.
      for (const parent of new Set(state.tempDirs.map((dir) => dirname(dir)))) {
        try {
          rmdirSync(parent)
        } catch {
          // not empty: another warmstart step of this job still uses it
        }
      }
    })
    .catch((error: unknown) => core.warning(`clean-up: ${message(error)}`))
  // No key: main failed before the service was up, and its error says why.
  if (!state.cacheKey) return
  await writeSummary(state, uploaded).catch((error: unknown) =>
    core.warning(`could not write the job summary: ${message(error)}`)
  )
}

/**
 * Uploads the checkpoint main staged: to the registry main used, or the Actions cache. The
 * registry's token is read from the input here, never from the state (which is a file on the
 * runner): post steps see the same inputs as main.
 */
async function upload(state: MainState): Promise<SaveResult> {
  const dir = state.stagedDir as string
  if (!state.registry) return new ActionsCacheStore({ dir }).upload(state.cacheKey)
  const location = parseOciLocation(state.registry)
  const token = core.getInput('registry-token') || undefined
  if (token) core.setSecret(token)
  const store = new OciRegistryStore({
    location,
    credentials: actionCredentials(
      location.registry,
      location.repository,
      token,
      process.env,
      homedir()
    )
  })
  const staged = readStagedEntry(dir)
  try {
    return await store.save(state.cacheKey, staged.archivePath, staged.metadata)
  } catch (error) {
    return { saved: false, bytes: 0, reason: message(error) }
  }
}

/** The job summary: what happened, what it cost, what a warm run should save. */
export function summaryRows(
  state: MainState,
  uploaded?: { saved: boolean; bytes: number; reason?: string }
): string[][] {
  const rows = [
    ['service', `${state.containerName} (${state.image})`],
    [
      'result',
      state.restored
        ? 'restored from a checkpoint'
        : state.cacheHit
          ? 'started cold: the checkpoint could not be restored'
          : 'started cold: no checkpoint for this key'
    ],
    ['cache key', state.cacheKey],
    ['startup', `${state.startupSeconds.toFixed(1)} s`],
    ['phases', describePhases(state.timings)]
  ]
  if (state.checkpointBytes) rows.push(['checkpoint size', formatBytes(state.checkpointBytes)])
  if (state.checkpointFailure) rows.push(['checkpoint failed', state.checkpointFailure])
  if (uploaded) rows.push(['saved', uploaded.saved ? 'yes' : `no: ${uploaded.reason ?? ''}`])
  else if (!state.restored)
    rows.push(['saved', state.save ? 'no checkpoint was made' : `no: ${state.saveReason}`])
  const expectedWarm = state.timings.resume
  if (!state.restored && expectedWarm !== undefined && uploaded?.saved) {
    const saving = Math.max(0, state.startupSeconds - expectedWarm)
    rows.push([
      'expected saving',
      `about ${saving.toFixed(0)} s per run (a warm start should take about ${expectedWarm.toFixed(1)} s)`
    ])
  }
  for (const warning of state.warnings) rows.push(['warning', warning])
  return rows
}

async function writeSummary(
  state: MainState,
  uploaded?: { saved: boolean; bytes: number; reason?: string }
): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary
    .addHeading('warmstart', 3)
    .addTable(
      summaryRows(state, uploaded).map(([name, value]) => [
        { data: name as string, header: false },
        value as string
      ])
    )
    .write()
}
