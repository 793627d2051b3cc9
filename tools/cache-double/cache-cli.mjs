// Runs one @actions/cache call in a child process, for tests that give the cache double's env to
// another process (the way warmstart's CLI would be run):
//   node cache-cli.mjs '{"op":"save","paths":["/abs/dir"],"key":"k"}'
//   node cache-cli.mjs '{"op":"restore","paths":["/abs/dir"],"key":"k","restoreKeys":["k-"]}'
//   node cache-cli.mjs '{"op":"available"}'
// @actions/core writes its log to stdout; the last line is `@@result {"result":...,"ms":...}`
// (result null for undefined), or `@@result {"threw":"message","ms":...}`.
import * as cache from '@actions/cache'

const request = JSON.parse(process.argv[2] ?? '{}')
const started = Date.now()
let answer
try {
  let result
  if (request.op === 'save') {
    result = await cache.saveCache(request.paths, request.key)
  } else if (request.op === 'restore') {
    result = await cache.restoreCache(request.paths, request.key, request.restoreKeys ?? [])
  } else if (request.op === 'available') {
    result = cache.isFeatureAvailable()
  } else {
    throw new Error(`unknown op ${request.op}`)
  }
  answer = { result: result ?? null, ms: Date.now() - started }
} catch (error) {
  answer = {
    threw: error instanceof Error ? error.message : String(error),
    ms: Date.now() - started
  }
}
process.stdout.write(`\n@@result ${JSON.stringify(answer)}\n`)
