import { expect, test } from '@jest/globals'
import { summaryRows } from '../../src/action/post.js'
import type { MainState } from '../../src/action/state.js'

const state: MainState = {
  version: 3,
  containerName: 'db',
  image: 'postgres:16',
  cacheKey: 'warmstart-db-0123456789ab-0123456789abcdef',
  cacheHit: false,
  restored: false,
  startupSeconds: 21.4,
  checkpointBytes: 0,
  timings: { start: 0.4, ready: 3.1, warmup: 17.2, checkpoint: 0.6 },
  save: true,
  saveReason: 'a push',
  tempDirs: [],
  checkpointFailure:
    'checkpoint failed: podman container checkpoint ... exited with 125\nWhat to do: let the warm-up close its connections',
  warnings: ['no checkpoint: checkpoint failed: ...']
} as MainState

test('a failed checkpoint has its own row in the job summary, with the reason', () => {
  const rows = summaryRows(state)
  expect(rows).toContainEqual(['checkpoint failed', state.checkpointFailure])
  expect(rows).toContainEqual(['saved', 'no checkpoint was made'])
})

test('no row when the checkpoint was made', () => {
  const rows = summaryRows({ ...state, checkpointFailure: undefined, checkpointBytes: 1024 })
  expect(rows.map(([name]) => name)).not.toContain('checkpoint failed')
})
