// The one way warmstart starts a process: run to completion, stopped at a time limit.
import { expect, test } from '@jest/globals'
import { collectOutput, runCommand, startPipeline } from '../../src/process.js'

test('a command runs to completion: its exit code, output and input', async () => {
  const result = await runCommand(['sh', '-c', 'cat; echo err >&2; exit 3'], { input: 'in' })
  expect(result).toEqual({ exitCode: 3, stdout: 'in', stderr: 'err\n' })
})

test('a command past its time limit is stopped: timedOut, exit 124', async () => {
  const started = Date.now()
  const result = await runCommand(['sleep', '30'], { timeoutSeconds: 0.5 })
  expect(result).toMatchObject({ exitCode: 124, timedOut: true })
  expect(Date.now() - started).toBeLessThan(5000)
})

test('one that ignores SIGTERM is killed; a child holding its output does not hold the caller', async () => {
  const started = Date.now()
  const result = await runCommand(['sh', '-c', 'trap "" TERM; sleep 8 & sleep 30'], {
    timeoutSeconds: 0.5
  })
  expect(result).toMatchObject({ exitCode: 124, timedOut: true })
  // SIGTERM ignored, SIGKILL after the 5 s grace; the orphaned `sleep 8` keeps stdout open.
  expect(Date.now() - started).toBeLessThan(7500)
}, 15_000)

test('a command that cannot start rejects, naming it', async () => {
  await expect(runCommand(['warmstart-no-such-command'])).rejects.toThrow(
    /^warmstart-no-such-command: cannot start: /
  )
})

test('a pipeline that fails says what, its exit code and the end of its stderr', async () => {
  const { exited } = startPipeline(['sh', '-c', 'echo broken >&2; exit 2'], 'the test pipeline')
  await expect(exited).rejects.toThrow('the test pipeline failed (exit 2): broken')
  await expect(collectOutput(['printf', 'a\\0b'], 'printf')).resolves.toEqual(Buffer.from('a\0b'))
})
