import { describe, expect, test } from '@jest/globals'
import {
  decodeParts,
  encodeParts,
  isVolumePart,
  volumeGroups,
  type ArchivePart
} from '../../src/archive/layout.js'

const SHA_A = 'a'.repeat(64)
const SHA_B = 'b'.repeat(64)

const parts: ArchivePart[] = [
  { kind: 'checkpoint', offset: 0, bytes: 1000, sha256: SHA_A },
  {
    kind: 'volume',
    offset: 1000,
    bytes: 500,
    sha256: SHA_B,
    name: 'f00dfeed',
    destination: '/var/lib/postgresql/data',
    uid: 100000,
    gid: 100000,
    slice: 0,
    unpackedBytes: 4096
  }
]

/** The encoded parts with one part changed. */
function withPart(index: number, change: Record<string, unknown>): string {
  const copy = parts.map((part) => ({ ...part })) as Array<Record<string, unknown>>
  Object.assign(copy[index] as Record<string, unknown>, change)
  return JSON.stringify(copy)
}

describe('decodeParts', () => {
  test('reads back what encodeParts wrote', () => {
    expect(decodeParts(encodeParts(parts), 1500)).toEqual(parts)
    expect(decodeParts(encodeParts(parts), 1500).filter(isVolumePart)).toHaveLength(1)
  })

  test('a checkpoint alone is a valid layout', () => {
    expect(decodeParts(encodeParts([parts[0] as ArchivePart]), 1000)).toHaveLength(1)
  })

  test.each([
    ['missing', undefined, 1500, /parts: missing/],
    ['not JSON', '{', 1500, /not JSON/],
    ['empty', '[]', 1500, /not a list of parts/],
    ['short of the archive', encodeParts(parts), 1501, /cover 1500 bytes of an archive of 1501/],
    ['with a gap', withPart(1, { offset: 1001 }), 1501, /part 1 starts at 1001, expected 1000/],
    ['volume first', JSON.stringify([parts[1], parts[0]]), 1500, /checkpoint must be the first/],
    ['two checkpoints', withPart(1, { kind: 'checkpoint' }), 1500, /checkpoint must be the first/],
    ['of an unknown kind', withPart(1, { kind: 'image' }), 1500, /unknown kind "image"/],
    ['without a hash', withPart(0, { sha256: 'abc' }), 1500, /part 0 has no sha256/],
    ['with a negative size', withPart(0, { bytes: -1 }), 1500, /part 0 has no bytes/],
    ['with a path as name', withPart(1, { name: '../etc' }), 1500, /invalid volume name/],
    ['relative', withPart(1, { destination: 'data' }), 1500, /invalid destination/],
    ['climbing', withPart(1, { destination: '/a/../b' }), 1500, /invalid destination/],
    ['without owner', withPart(1, { uid: 'root' }), 1500, /part 1 has no uid/]
  ])('rejects parts %s', (_label, encoded, bytes, reason) => {
    expect(() => decodeParts(encoded, bytes)).toThrow(reason)
  })

  const volume = parts[1] as ArchivePart & { kind: 'volume' }
  const slice = (n: number, offset: number, change: Partial<typeof volume> = {}) => ({
    ...volume,
    offset,
    slice: n,
    ...change
  })

  test('a volume in slices, and another volume after it, group by volume', () => {
    const layout = [
      parts[0],
      slice(0, 1000),
      slice(1, 1500),
      slice(2, 2000),
      slice(0, 2500, { name: 'other' })
    ]
    const decoded = decodeParts(JSON.stringify(layout), 3000)
    expect(volumeGroups(decoded).map((group) => group.map((p) => `${p.name}/${p.slice}`))).toEqual([
      ['f00dfeed/0', 'f00dfeed/1', 'f00dfeed/2'],
      ['other/0']
    ])
  })

  test.each([
    ['listed twice from 0', [slice(0, 1000), slice(0, 1500)], /has slice 0 after 0/],
    ['starting past 0', [slice(1, 1000)], /starts at slice 1/],
    ['skipping one', [slice(0, 1000), slice(2, 1500)], /has slice 2 after 0/],
    [
      'apart',
      [slice(0, 1000), slice(0, 1500, { name: 'other' }), slice(0, 2000)],
      /slices of volume f00dfeed are apart/
    ],
    [
      'with two owners',
      [slice(0, 1000), slice(1, 1500, { uid: 0 })],
      /disagree on its mount or owner/
    ]
  ])('rejects slices %s', (_label, volumes, reason) => {
    const layout = [parts[0], ...volumes]
    expect(() => decodeParts(JSON.stringify(layout), 1000 + 500 * volumes.length)).toThrow(reason)
  })
})
