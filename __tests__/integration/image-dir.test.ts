// The in-memory restore (src/engine/image-dir.ts) with the runtime wrapper this host's set-up
// installed (scripts/lib/runtime-wrapper.sh): a warm `up` goes through it and leaves nothing in
// the area; the wrapper refuses every directory that is not warmstart's, before runc runs; and a
// restore whose directory was tampered with starts the service cold.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile, spawnSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { down, up } from '../../src/engine/engine.js'
import { IMAGE_AREA } from '../../src/engine/image-dir.js'
import { HostReader } from '../../src/host/host.js'
import type { Logger } from '../../src/logger.js'
import { Podman, type RestoreOptions } from '../../src/podman.js'
import { parseSpec } from '../../src/spec.js'
import { LocalDirectoryStore } from '../../src/store/local.js'
import { IMAGES, freePort, redisCli, requireHost, tempDir } from './host.js'

const run = promisify(execFile)
const podman = new Podman()
const name = 'warmstart-it-image-dir'
const dirs: Array<{ remove: () => void }> = []
let wrapper: string

const quiet = (): Logger & { warnings: string[] } => {
  const warnings: string[] = []
  return {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warning: (message) => void warnings.push(message),
    group: (_title, work) => work()
  }
}

function redisSpec(port: number) {
  return parseSpec({
    image: IMAGES.redis,
    name,
    ports: [`127.0.0.1:${port}:6379`],
    warmup: 'redis-cli -p "$WARMSTART_PORT" set warmed yes',
    key: 'it-image-dir'
  })
}

function store(): LocalDirectoryStore {
  const dir = tempDir('store')
  dirs.push(dir)
  return new LocalDirectoryStore({ dir: dir.path })
}

/** The restore directories in warmstart's area right now. */
function inArea(): string[] {
  return existsSync(IMAGE_AREA) ? readdirSync(IMAGE_AREA) : []
}

beforeAll(async () => {
  await requireHost(podman, [IMAGES.redis])
  await down(name, { podman })
  wrapper = (await new HostReader({ podman }).podmanFacts()).runtimePath
  const version = await new HostReader({ podman }).runtimeWrapperVersion()
  if (version < 2) {
    throw new Error(
      `podman's runtime ${wrapper} is not warmstart's wrapper version 2 or later (it says ${version}): run \`npm run setup\``
    )
  }
})

afterEach(async () => {
  await down(name, { podman })
})

afterAll(() => {
  for (const dir of dirs) dir.remove()
})

test('a warm up unpacks the CRIU images into memory, restores from there, and leaves nothing', async () => {
  // What podman is handed: the slim archive's entries, read as it arrives.
  let handed: string[] = []
  class Watching extends Podman {
    override async restore(options: RestoreOptions) {
      handed = (await run('tar', ['-tf', options.importPath ?? ''])).stdout.trim().split('\n')
      return super.restore(options)
    }
  }
  const port = await freePort()
  const checkpoints = store()
  const cold = await up(redisSpec(port), {
    podman,
    store: checkpoints,
    logger: quiet(),
    replace: true
  })
  expect(cold).toMatchObject({ restored: false, saved: true })
  await down(name, { podman })
  const before = inArea()

  const warm = await up(redisSpec(port), {
    podman: new Watching(),
    store: checkpoints,
    logger: quiet(),
    replace: true
  })
  expect(warm).toMatchObject({ restored: true, warnings: [] })
  expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
  // podman got the marker and the two files it and runc read, and no CRIU image with pages.
  const checkpointEntries = handed.filter((entry) => /^(\.\/)?checkpoint\/./.test(entry))
  expect(
    checkpointEntries.map((entry) => entry.replace(/^(\.\/)?checkpoint\//, '')).sort()
  ).toEqual(['descriptors.json', 'inventory.img', 'warmstart-image-path'])
  expect(handed.some((entry) => /config\.dump$/.test(entry))).toBe(true)
  expect(inArea()).toEqual(before)
})

describe('the runtime wrapper refuses any directory that is not warmstart’s, before runc runs', () => {
  // A marker in podman's image directory names a target; the wrapper must refuse it. runc is given
  // a bundle that does not exist: had the wrapper let it run, runc would say so instead.
  let scratch: string
  beforeAll(() => {
    scratch = mkdtempSync('/tmp/warmstart-wrapper-')
    dirs.push({ remove: () => rmSync(scratch, { recursive: true, force: true }) })
    mkdirSync(IMAGE_AREA, { recursive: true, mode: 0o711 })
  })

  function wrapperSays(
    target: string,
    markerAsLink = false
  ): { status: number | null; stderr: string } {
    const imagePath = mkdtempSync(join(scratch, 'podman-images-'))
    const marker = join(imagePath, 'warmstart-image-path')
    if (markerAsLink) {
      writeFileSync(join(scratch, 'elsewhere'), `${target}\n`)
      symlinkSync(join(scratch, 'elsewhere'), marker)
    } else {
      writeFileSync(marker, `${target}\n`)
    }
    const result = spawnSync(
      wrapper,
      ['restore', '--image-path', imagePath, '--bundle', '/nonexistent-bundle', 'x'],
      {
        encoding: 'utf8'
      }
    )
    return { status: result.status, stderr: result.stderr }
  }

  const planted = (label: string): string => mkdtempSync(join(IMAGE_AREA, `restore.${label}`))

  test.each([
    ['outside the area', () => scratch, /not in \/dev\/shm\/warmstart-images/],
    ['a path with ..', () => `${IMAGE_AREA}/restore.x/../../../etc/images`, /not a plain path/],
    [
      'a link in the area to a directory elsewhere',
      () => {
        const dir = planted('link')
        mkdirSync(join(scratch, 'real-images'), { recursive: true })
        symlinkSync(join(scratch, 'real-images'), join(dir, 'images'))
        return join(dir, 'images')
      },
      /a link, or missing/
    ],
    [
      'a directory of another user',
      () => {
        const dir = planted('owner')
        mkdirSync(join(dir, 'images'))
        chownSync(join(dir, 'images'), 65534, 65534)
        return join(dir, 'images')
      },
      /not a directory of root's/
    ],
    ['a missing directory', () => `${IMAGE_AREA}/restore.missing/images`, /a link, or missing/]
  ])('%s', (_label, target, reason) => {
    const result = wrapperSays(target())
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/warmstart runtime wrapper: refusing the image directory/)
    expect(result.stderr).toMatch(reason)
    expect(result.stderr).not.toMatch(/nonexistent-bundle/)
  })

  test('a marker that is a link', () => {
    const dir = planted('marker')
    mkdirSync(join(dir, 'images'))
    const result = wrapperSays(join(dir, 'images'), true)
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/the marker is not a plain file/)
  })

  test('warmstart’s own directory is let through to runc', () => {
    const dir = planted('good')
    mkdirSync(join(dir, 'images'), { mode: 0o700 })
    const result = wrapperSays(join(dir, 'images'))
    expect(result.stderr).not.toMatch(/refusing/)
    expect(result.status).not.toBe(0) // runc itself fails: the bundle does not exist
  })

  afterAll(() => {
    for (const entry of inArea().filter((e) => /^restore\.(link|owner|marker|good)/.test(e))) {
      rmSync(join(IMAGE_AREA, entry), { recursive: true, force: true })
    }
  })
})

test('a restore whose image directory was swapped for a link is refused: the service starts cold', async () => {
  // Someone with root's powers between warmstart's unpack and podman's restore: the images
  // directory becomes a link to a copy elsewhere. The wrapper refuses it; warmstart starts cold.
  class Tampering extends Podman {
    override async restore(options: RestoreOptions) {
      const images = (options.importPath ?? '').replace(/\/slim\.tar$/, '/images')
      // Elsewhere on the same tmpfs, so that the move is a rename.
      const moved = mkdtempSync('/dev/shm/warmstart-moved-images-')
      dirs.push({ remove: () => rmSync(moved, { recursive: true, force: true }) })
      renameSync(images, join(moved, 'images'))
      symlinkSync(join(moved, 'images'), images)
      return super.restore(options)
    }
  }
  const tampering = new Tampering()
  const port = await freePort()
  const checkpoints = store()
  await up(redisSpec(port), { podman, store: checkpoints, logger: quiet(), replace: true })
  await down(name, { podman })

  const logger = quiet()
  const warm = await up(redisSpec(port), {
    podman: tampering,
    store: checkpoints,
    logger,
    replace: true
  })
  expect(warm).toMatchObject({ restored: false, cacheHit: true })
  expect(logger.warnings.join('\n')).toMatch(/refusing the image directory .*: a link, or missing/)
  expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
  expect(inArea().filter((entry) => entry.startsWith('restore.'))).toEqual([])
})

/** A Podman that records the archive each restore is handed, then restores. */
class Recording extends Podman {
  handed: string[] = []
  override async restore(options: RestoreOptions) {
    this.handed.push(options.importPath ?? '')
    return super.restore(options)
  }
}

test('a plain (uncompressed) checkpoint part streams into memory the same way', async () => {
  const port = await freePort()
  const checkpoints = store()
  const options = { store: checkpoints, logger: quiet(), replace: true, compress: 'none' as const }
  await up(redisSpec(port), { podman, ...options })
  await down(name, { podman })

  const recording = new Recording()
  const warm = await up(redisSpec(port), { ...options, podman: recording })
  expect(warm).toMatchObject({ restored: true, warnings: [] })
  expect(recording.handed).toEqual([
    expect.stringMatching(/^\/dev\/shm\/warmstart-images\/restore\.\w+\/slim\.tar$/)
  ])
  expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
})

test('an area that is not warmstart’s (mode 0755) is not used: podman imports it all, and the restore succeeds', async () => {
  const port = await freePort()
  const checkpoints = store()
  await up(redisSpec(port), { podman, store: checkpoints, logger: quiet(), replace: true })
  await down(name, { podman })

  mkdirSync(IMAGE_AREA, { recursive: true, mode: 0o711 })
  chmodSync(IMAGE_AREA, 0o755)
  try {
    const recording = new Recording()
    const warm = await up(redisSpec(port), {
      podman: recording,
      store: checkpoints,
      logger: quiet(),
      replace: true
    })
    expect(warm).toMatchObject({ restored: true, warnings: [] })
    expect(recording.handed).toHaveLength(1)
    expect(recording.handed[0]).not.toMatch(/warmstart-images/)
    expect(await redisCli(port, 'get', 'warmed')).toBe('yes')
    expect(inArea().filter((entry) => entry.startsWith('restore.'))).toEqual([])
  } finally {
    chmodSync(IMAGE_AREA, 0o711)
  }
})
