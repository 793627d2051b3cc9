// The order test files run in: by path, or shuffled by WARMSTART_TEST_SEED when it is set.
// Never by jest's cache of past timings (its default), which differs from machine to machine and
// once hid a test that passed only after another had run. .ci/run sets the seed, passes the same
// one to jest's --seed (which shuffles the tests inside each file), and prints it: a failure that
// depends on the order is reproduced with that seed.
import sequencer from '@jest/test-sequencer'

// A CommonJS module: its classes arrive as the default export's properties.
const Sequencer = sequencer.default ?? sequencer

/** mulberry32: a small, well-known seeded generator; the same seed gives the same order anywhere. */
function generator(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class SeededSequencer extends Sequencer {
  sort(tests) {
    const ordered = [...tests].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    const seed = process.env.WARMSTART_TEST_SEED
    if (!seed) return ordered
    if (!/^-?\d+$/.test(seed))
      throw new Error(`WARMSTART_TEST_SEED must be an integer, not "${seed}"`)
    const random = generator(Number(seed))
    for (let i = ordered.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[ordered[i], ordered[j]] = [ordered[j], ordered[i]]
    }
    return ordered
  }
}

export default SeededSequencer
