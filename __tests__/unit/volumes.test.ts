import { describe, expect, test } from '@jest/globals'
import type { VolumeStorageSetting } from '../../src/spec.js'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Podman } from '../../src/podman.js'
import { chooseVolumeStorage, makeDirectories, splitListing } from '../../src/volumes.js'

/** `find -printf '%y %n %s %P\0'` output for these entries. */
function listing(entries: Array<[string, number, number, string]>): Buffer {
  return Buffer.concat(
    entries.map(([type, links, size, path]) => Buffer.from(`${type} ${links} ${size} ${path}\0`))
  )
}

const names = (buffers: Buffer[]): string[] => buffers.map((b) => b.toString())
const sliceNames = (slice: { names: Buffer[] }): string[] => names(slice.names)

describe('splitListing', () => {
  test('directories and links apart, files spread by size, largest first to the lightest slice', () => {
    const { directories, fileSlices } = splitListing(
      listing([
        ['d', 2, 4096, 'base'],
        ['f', 1, 100, 'base/a'],
        ['f', 1, 700, 'base/b'],
        ['f', 1, 300, 'base/c'],
        ['f', 1, 350, 'base/d'],
        ['l', 1, 7, 'link']
      ]),
      2
    )
    // Links go with the directories: that slice is unpacked last.
    expect(names(directories)).toEqual(['./base', './link'])
    expect(fileSlices.map(sliceNames)).toEqual([['./base/b'], ['./base/d', './base/c', './base/a']])
    expect(fileSlices.map((slice) => slice.bytes)).toEqual([700, 750])
  })

  test('paths with spaces, newlines and non-UTF-8 bytes come through as bytes', () => {
    const odd = Buffer.concat([Buffer.from('f 1 5 we ird\nname'), Buffer.from([0xff, 0])])
    const { fileSlices } = splitListing(odd, 1)
    expect(fileSlices[0]?.names[0]).toEqual(
      Buffer.concat([Buffer.from('./we ird\nname'), Buffer.from([0xff])])
    )
  })

  test('files with several links stay in the first slice, so tar keeps them linked', () => {
    const { fileSlices } = splitListing(
      listing([
        ['f', 1, 1000, 'big'],
        ['f', 2, 10, 'x'],
        ['f', 2, 10, 'y']
      ]),
      2
    )
    expect(fileSlices.map(sliceNames)).toEqual([['./x', './y'], ['./big']])
  })

  test('an empty volume has no directories and no files', () => {
    expect(splitListing(Buffer.alloc(0), 2)).toEqual({
      directories: [],
      fileSlices: [
        { names: [], bytes: 0 },
        { names: [], bytes: 0 }
      ]
    })
  })
})

describe('chooseVolumeStorage', () => {
  const GiB = 1024 ** 3
  test.each<[VolumeStorageSetting, number, number, string]>([
    ['auto', 1 * GiB, 16 * GiB, 'memory'],
    ['auto', 4 * GiB, 16 * GiB, 'memory'],
    ['auto', 4 * GiB + 1, 16 * GiB, 'disk'],
    ['memory', 12 * GiB, 16 * GiB, 'memory'],
    ['disk', 1, 16 * GiB, 'disk']
  ])('%s with %d bytes on a host of %d: %s', (setting, bytes, memory, expected) => {
    expect(chooseVolumeStorage(setting, bytes, memory)).toBe(expected)
  })
})

describe('makeDirectories', () => {
  const podman = new Podman({ uid: process.getuid?.() ?? 0 })

  test('makes every directory of the listing, nested and shared, before the slices unpack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warmstart-test-mkdirs-'))
    try {
      await makeDirectories(podman, dir, ['./base/', './base/1/', 'global', './pg wal/archive'])
      for (const path of ['base/1', 'global', 'pg wal/archive'])
        expect(statSync(join(dir, path)).isDirectory()).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test.each(['../outside', 'base/../../outside', '/etc/outside'])(
    'refuses %s, making nothing',
    async (path) => {
      const dir = mkdtempSync(join(tmpdir(), 'warmstart-test-mkdirs-'))
      try {
        await expect(makeDirectories(podman, dir, ['fine', path])).rejects.toThrow(
          /refusing to make directory/
        )
        expect(readdirSync(dir)).toEqual([])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  )
})
