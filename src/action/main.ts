// The action's main step: read the inputs, bring the service up warm or cold, set the outputs.
// A fresh checkpoint is only staged here; the post step uploads it.
import * as core from '@actions/core'
import { mkdirSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { up } from '../engine/engine.js'
import { outputsOf } from '../outputs.js'
import { Podman } from '../podman.js'
import { ActionsCacheStore } from '../store/actions-cache.js'
import { actionCredentials } from '../store/oci/credentials.js'
import { OciRegistryStore } from '../store/oci-registry.js'
import { DeferredUploadStore, stageEntry } from '../store/staging.js'
import type { CheckpointStore, SaveResult, StoreHit } from '../store/store.js'
import { decideSave, getInputs, readEvent, type Inputs } from './inputs.js'
import { prepareRunner } from './install.js'
import { actionsLogger } from './logger.js'
import { saveMainState } from './state.js'

export async function run(): Promise<void> {
  try {
    const inputs = getInputs()
    const { spec } = inputs
    // Before any podman call: it may point them at warmstart's containers.conf (CONTAINERS_CONF).
    const prepared = await prepareRunner(inputs.install)
    const runnerTemp = process.env.RUNNER_TEMP || tmpdir()
    const workDir = join(runnerTemp, 'warmstart-work', spec.name)
    const cacheDir = join(runnerTemp, 'warmstart-cache', spec.name)
    mkdirSync(workDir, { recursive: true })
    const saving = decideSave(inputs.save, readEvent())
    const base = {
      containerName: spec.name,
      image: spec.image,
      save: saving.save,
      saveReason: saving.reason,
      tempDirs: [workDir, cacheDir],
      containersConf: prepared.containersConf
    }
    // Saved first, so that post cleans up even if main fails half-way.
    saveMainState({
      ...base,
      cacheKey: '',
      cacheHit: false,
      restored: false,
      startupSeconds: 0,
      checkpointBytes: 0,
      timings: {},
      warnings: []
    })

    const { deferred, stagedDir, available } = openStore(inputs, cacheDir)
    let store: CheckpointStore = deferred
    let checkpoint = saving.save
    if (!available) {
      core.warning(
        'the GitHub Actions cache service is not available to this job: the service starts cold and no checkpoint is kept (or give a registry as `store`)'
      )
      store = unavailableStore
      checkpoint = false
    } else if (!saving.save) {
      core.info(`this run does not write ${deferred.description}: ${saving.reason}`)
    }

    const podman = new Podman({ logger: actionsLogger })
    const result = await up(spec, {
      podman,
      store,
      logger: actionsLogger,
      workDir,
      checkpoint,
      // zstd parts, although @actions/cache compresses again: a plain archive makes the download
      // write every byte to disk before warmstart reads it back, and the parts cannot be
      // decompressed side by side. `npm run bench:compression`: warm 3.6-4.6 s with zstd, 6.3-6.7 s plain.
      compress: 'zstd',
      replace: false
    })

    for (const [name, value] of Object.entries(outputsOf(result))) {
      core.setOutput(name, String(value))
    }
    saveMainState({
      ...base,
      cacheKey: result.cacheKey,
      cacheHit: result.cacheHit,
      restored: result.restored,
      startupSeconds: result.startupSeconds,
      checkpointBytes: result.checkpointBytes,
      timings: result.timings,
      checkpointFailure: result.checkpointFailure,
      stagedDir: deferred.staged ? stagedDir : undefined,
      registry: inputs.store
        ? `oci://${inputs.store.registry}/${inputs.store.repository}`
        : undefined,
      warnings: prepared.ok ? result.warnings : [`install: ${prepared.reason}`, ...result.warnings]
    })
    core.info(
      result.restored
        ? `${spec.name} restored from its checkpoint in ${result.startupSeconds.toFixed(1)} s`
        : `${spec.name} started cold in ${result.startupSeconds.toFixed(1)} s`
    )
  } catch (error) {
    core.setFailed((error as Error).message)
  }
}

/**
 * The store the inputs name, wrapped so that a save only stages the archive for post: the Actions
 * cache (its entry directory is the staging directory: @actions/cache uploads that directory),
 * or a registry (read straight from its blobs; the staged archive in `cacheDir`/staged).
 */
function openStore(
  inputs: Inputs,
  cacheDir: string
): { deferred: DeferredUploadStore; stagedDir: string; available: boolean } {
  if (inputs.store) {
    const { registry, repository } = inputs.store
    const credentials = actionCredentials(
      registry,
      repository,
      inputs.registryToken,
      process.env,
      homedir()
    )
    const oci = new OciRegistryStore({
      location: inputs.store,
      credentials
    })
    const stagedDir = join(cacheDir, 'staged')
    const deferred = new DeferredUploadStore(oci, (archive, metadata) =>
      stageEntry(stagedDir, archive, metadata)
    )
    return { deferred, stagedDir, available: true }
  }
  const cache = new ActionsCacheStore({ dir: cacheDir })
  const deferred = new DeferredUploadStore(cache, (archive, metadata) =>
    cache.stage(archive, metadata)
  )
  return { deferred, stagedDir: cacheDir, available: ActionsCacheStore.available() }
}

/** No cache service: every lookup misses and nothing is kept. */
const unavailableStore: CheckpointStore = {
  description: 'no cache (service unavailable)',
  lookup: async (): Promise<StoreHit | undefined> => undefined,
  save: async (): Promise<SaveResult> => ({ saved: false, bytes: 0, reason: 'no cache service' }),
  discard: async () => undefined
}
