import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ts from 'typescript'
import {
  archiveProblems,
  entryProblem,
  inspectArchive,
  TarWalker,
  type ArchiveEntry
} from '../../src/archive/inspect.js'
import { readHead, sha256OfRange } from '../../src/archive/source.js'
import { parseTarListing, type TarListing } from '../../src/archive/tar-listing.js'

// Archives are built with python3's tarfile module (exact control over formats and entry types)
// and with GNU tar (real files), compressed with the zstd CLI.

let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warmstart-archive-'))
})

/** Directories of transpiled modules run in child processes (see 'crashes' below). */
const childDirs: string[] = []

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  for (const childDir of childDirs) rmSync(childDir, { recursive: true, force: true })
})

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

let fileCount = 0
const tempPath = (name: string): string => join(dir, `${fileCount++}-${name}`)

interface EntrySpec {
  name: string
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'chr' | 'blk' | 'fifo'
  size?: number
  linkname?: string
  dev?: [number, number]
  /** Data of zero bytes (compressible) rather than random bytes. */
  zeros?: boolean
  /** Overrides the archive's format for this entry's header. */
  format?: Format
}
type Format = 'gnu' | 'pax' | 'ustar'

const BUILD_TAR = `
import io, json, random, sys, tarfile
out, spec = sys.argv[1], json.loads(sys.argv[2])
formats = {'gnu': tarfile.GNU_FORMAT, 'pax': tarfile.PAX_FORMAT, 'ustar': tarfile.USTAR_FORMAT}
types = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE,
         'link': tarfile.LNKTYPE, 'chr': tarfile.CHRTYPE, 'blk': tarfile.BLKTYPE,
         'fifo': tarfile.FIFOTYPE}
with tarfile.open(out, 'w', format=formats[spec['format']], encoding='utf-8') as tar:
    for index, e in enumerate(spec['entries']):
        tar.format = formats[e.get('format', spec['format'])]
        info = tarfile.TarInfo(e['name'])
        info.type = types[e.get('type', 'file')]
        info.mtime = 1700000000
        info.mode = 0o755 if info.type == tarfile.DIRTYPE else 0o644
        info.linkname = e.get('linkname', '')
        info.devmajor, info.devminor = e.get('dev', [0, 0])
        data = None
        if info.type == tarfile.REGTYPE:
            info.size = e.get('size', 0)
            data = io.BytesIO(bytes(info.size) if e.get('zeros') else
                              random.Random(index).randbytes(info.size))
        tar.addfile(info, data)
`

/** Writes a tar archive of the given entries with python's tarfile; returns its path. */
function pythonTar(entries: EntrySpec[], format: Format = 'gnu'): string {
  const out = tempPath('archive.tar')
  execFileSync('python3', ['-c', BUILD_TAR, out, JSON.stringify({ format, entries })])
  return out
}

function zstd(file: string): string {
  const out = `${file}.zst`
  execFileSync('zstd', ['-q', '-3', file, '-o', out])
  return out
}

/** The entries a TarWalker reads from the bytes, pushed in chunks of the given sizes. */
function walk(
  data: Buffer,
  chunkSizes: (index: number) => number = () => data.length
): ArchiveEntry[] {
  const walker = new TarWalker()
  for (let offset = 0, index = 0; offset < data.length; index++) {
    const size = Math.max(1, chunkSizes(index))
    walker.push(data.subarray(offset, offset + size))
    offset += size
  }
  return walker.entries
}

const file = (path: string, size: number): ArchiveEntry => ({
  path,
  type: '0',
  size,
  linkTarget: ''
})
const directory = (path: string): ArchiveEntry => ({ path, type: '5', size: 0, linkTarget: '' })

/** The layout of `podman container checkpoint --export`, with real files. */
const PODMAN_FILES: [path: string, size: number][] = [
  ['checkpoint/inventory.img', 45],
  ['checkpoint/pages-1.img', 48 * 1024 + 77],
  ['checkpoint/pagemap-1.img', 1234],
  ['config.dump', 3187],
  ['spec.dump', 6021],
  ['network.status', 2],
  ['rootfs-diff.tar', 10240]
]
const PODMAN_ORDER = [
  'artifacts',
  'checkpoint',
  'checkpoint/inventory.img',
  'checkpoint/pages-1.img',
  'checkpoint/pagemap-1.img',
  'config.dump',
  'spec.dump',
  'network.status',
  'rootfs-diff.tar'
]
const podmanEntries: ArchiveEntry[] = [
  directory('artifacts/'),
  directory('checkpoint/'),
  ...PODMAN_FILES.map(([path, size]) => file(path, size))
]
const podmanUnpacked = PODMAN_FILES.reduce((sum, [, size]) => sum + size, 0)

/** A directory tree like podman's export; `extra` adds files (path, size). */
function podmanTree(extra: [string, number][] = []): string {
  const tree = tempPath('tree')
  mkdirSync(join(tree, 'artifacts'), { recursive: true })
  mkdirSync(join(tree, 'checkpoint'))
  for (const [path, size] of [...PODMAN_FILES, ...extra]) {
    writeFileSync(join(tree, path), randomBytes(size))
  }
  return tree
}

/** GNU tar of the podman-like tree, entries in PODMAN_ORDER (then `extra`). */
function podmanTar(extra: [string, number][] = []): string {
  const tree = podmanTree(extra)
  const out = tempPath('checkpoint.tar')
  const names = [...PODMAN_ORDER, ...extra.map(([path]) => path)]
  execFileSync('tar', ['--no-recursion', '-C', tree, '-cf', out, ...names])
  return out
}

describe('entryProblem', () => {
  test.each([
    file('config.dump', 10),
    file('./config.dump', 10),
    directory('checkpoint/'),
    directory('./'),
    { path: 'old-style', type: '\0', size: 1, linkTarget: '' },
    { path: 'contiguous', type: '7', size: 1, linkTarget: '' },
    file('checkpoint/..pages.img', 1),
    file('a..b/c', 1)
  ])('accepts %j', (entry) => {
    expect(entryProblem(entry)).toBeUndefined()
  })

  test.each<[ArchiveEntry, string]>([
    [file('../escaped', 1), '../escaped: leaves the archive (..)'],
    [file('./../escaped', 1), './../escaped: leaves the archive (..)'],
    [file('a/../../escaped', 1), 'a/../../escaped: leaves the archive (..)'],
    [directory('..'), '..: leaves the archive (..)'],
    [file('/etc/passwd', 1), '/etc/passwd: absolute path'],
    [{ path: 's', type: '2', size: 0, linkTarget: '/etc/shadow' }, 's: link to /etc/shadow'],
    [{ path: 'h', type: '1', size: 0, linkTarget: 'config.dump' }, 'h: link to config.dump'],
    [{ path: 'c', type: '3', size: 0, linkTarget: '' }, 'c: device node'],
    [{ path: 'b', type: '4', size: 0, linkTarget: '' }, 'b: device node'],
    [
      { path: 'p', type: '6', size: 0, linkTarget: '' },
      'p: not a regular file or directory (tar type "6")'
    ],
    [
      { path: 'd', type: 'D', size: 0, linkTarget: '' },
      'd: not a regular file or directory (tar type "D")'
    ]
  ])('rejects %j', (entry, problem) => {
    expect(entryProblem(entry)).toBe(problem)
  })
})

describe('a normal checkpoint archive', () => {
  let plain: string
  let compressed: string

  beforeAll(() => {
    plain = podmanTar()
    compressed = zstd(plain)
  })

  test('plain tar: entries, sizes, hash, no problems', async () => {
    const data = readFileSync(plain)
    const inspection = await inspectArchive(plain)
    expect(inspection).toEqual({
      sha256: sha256(data),
      bytes: data.length,
      entries: podmanEntries,
      unpackedBytes: podmanUnpacked,
      unreadable: undefined,
      importPath: plain
    })
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual([])
  })

  test('zstd-compressed: the same entries; hash and bytes of the compressed file', async () => {
    const data = readFileSync(compressed)
    expect(data.readUInt32LE(0)).toBe(0xfd2fb528)
    expect(data.length).not.toBe(statSync(plain).size)
    const inspection = await inspectArchive(compressed)
    expect(inspection).toEqual({
      sha256: sha256(data),
      bytes: data.length,
      entries: podmanEntries,
      unpackedBytes: podmanUnpacked,
      unreadable: undefined,
      importPath: compressed
    })
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual([])
  })

  test('the walker reads the same entries as GNU tar lists', () => {
    const listed = execFileSync('tar', ['-tf', plain], { encoding: 'utf8' }).trim().split('\n')
    expect(walk(readFileSync(plain)).map((entry) => entry.path)).toEqual(listed)
  })

  test('archived as `tar -C dir .`: ./ paths, no problems', async () => {
    const tree = podmanTree()
    const out = tempPath('dot.tar')
    execFileSync('tar', ['-C', tree, '-cf', out, '.'])
    const inspection = await inspectArchive(out)
    const paths = inspection.entries.map((entry) => entry.path).sort()
    expect(paths).toEqual(
      ['./', './artifacts/', './checkpoint/', ...PODMAN_FILES.map(([path]) => `./${path}`)].sort()
    )
    expect(inspection.unpackedBytes).toBe(podmanUnpacked)
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual([])
  })

  test('several MB through zstd (many chunks, back-pressure): the same entries', async () => {
    const pages: [string, number][] = [['checkpoint/pages-2.img', 6 * 1024 * 1024 + 5]]
    const big = zstd(podmanTar(pages))
    const data = readFileSync(big)
    const inspection = await inspectArchive(big)
    expect(inspection.unreadable).toBeUndefined()
    expect(inspection.sha256).toBe(sha256(data))
    expect(inspection.bytes).toBe(data.length)
    expect(inspection.entries).toEqual([...podmanEntries, file(pages[0]![0], pages[0]![1])])
    expect(inspection.unpackedBytes).toBe(podmanUnpacked + pages[0]![1])
  })

  test('decompressTo: the plain tar written beside, the one to import', async () => {
    const out = tempPath('decompressed.tar')
    const inspection = await inspectArchive(compressed, { decompressTo: out })
    expect(inspection.unreadable).toBeUndefined()
    expect(inspection.importPath).toBe(out)
    expect(inspection.sha256).toBe(sha256(readFileSync(compressed)))
    expect(inspection.entries).toEqual(podmanEntries)
    expect(sha256(readFileSync(out))).toBe(sha256(readFileSync(plain)))
  })

  test('decompressTo with a plain tar: nothing written, the archive is imported', async () => {
    const out = tempPath('not-written.tar')
    const inspection = await inspectArchive(plain, { decompressTo: out })
    expect(inspection.importPath).toBe(plain)
    expect(inspection.entries).toEqual(podmanEntries)
    expect(() => statSync(out)).toThrow(/ENOENT/)
  })

  test('a missing file: rejects', async () => {
    await expect(inspectArchive(join(dir, 'no-such.tar'))).rejects.toThrow(/ENOENT/)
  })
})

describe('entries that must not reach podman', () => {
  const bad: [label: string, entry: EntrySpec, problem: string][] = [
    ['../ path', { name: '../escaped', size: 10 }, '../escaped: leaves the archive (..)'],
    [
      'a/../.. path',
      { name: 'a/../../escaped', size: 10 },
      'a/../../escaped: leaves the archive (..)'
    ],
    ['absolute path', { name: '/etc/passwd', size: 10 }, '/etc/passwd: absolute path'],
    [
      'symlink to an absolute target',
      { name: 'shadow', type: 'symlink', linkname: '/etc/shadow' },
      'shadow: link to /etc/shadow'
    ],
    [
      'symlink to a relative target',
      { name: 'checkpoint/alias.img', type: 'symlink', linkname: 'pages-1.img' },
      'checkpoint/alias.img: link to pages-1.img'
    ],
    [
      'hard link',
      { name: 'hard', type: 'link', linkname: 'config.dump' },
      'hard: link to config.dump'
    ],
    ['character device', { name: 'null', type: 'chr', dev: [1, 3] }, 'null: device node'],
    ['block device', { name: 'sda', type: 'blk', dev: [8, 0] }, 'sda: device node'],
    ['fifo', { name: 'pipe', type: 'fifo' }, 'pipe: not a regular file or directory (tar type "6")']
  ]

  test.each(bad)(
    '%s: detected, and the entries after it still listed',
    async (_l, entry, problem) => {
      const archive = pythonTar([
        { name: 'config.dump', size: 700 },
        entry,
        { name: 'spec.dump', size: 1500 },
        { name: 'checkpoint', type: 'dir' }
      ])
      const inspection = await inspectArchive(archive)
      expect(inspection.entries.map((e) => e.path)).toEqual([
        'config.dump',
        entry.name,
        'spec.dump',
        'checkpoint/'
      ])
      expect(inspection.entries[2]).toEqual(file('spec.dump', 1500))
      expect(archiveProblems(inspection, 1024 * 1024)).toEqual([problem])
    }
  )

  test('all of them in one archive: every one reported, in order', async () => {
    const archive = pythonTar([
      { name: 'config.dump', size: 100 },
      ...bad.map(([, entry]) => entry),
      { name: 'spec.dump', size: 100 }
    ])
    const inspection = await inspectArchive(archive)
    expect(inspection.entries).toHaveLength(bad.length + 2)
    expect(inspection.entries.at(-1)).toEqual(file('spec.dump', 100))
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual(bad.map(([, , problem]) => problem))
  })

  test('entry types as written by python: symlink 2, hard link 1, devices 3/4, fifo 6', () => {
    const archive = pythonTar(bad.slice(3).map(([, entry]) => entry))
    expect(walk(readFileSync(archive)).map((entry) => [entry.type, entry.linkTarget])).toEqual([
      ['2', '/etc/shadow'],
      ['2', 'pages-1.img'],
      ['1', 'config.dump'],
      ['3', ''],
      ['4', ''],
      ['6', '']
    ])
  })

  test('GNU tar -P: an absolute path is kept and detected', async () => {
    const tree = podmanTree()
    const out = tempPath('absolute.tar')
    execFileSync('tar', ['-P', '-cf', out, join(tree, 'config.dump')])
    const inspection = await inspectArchive(out)
    expect(inspection.entries.map((e) => e.path)).toEqual([join(tree, 'config.dump')])
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual([
      `${join(tree, 'config.dump')}: absolute path`
    ])
  })

  test.each(['checkpoint/warmstart-image-path', './checkpoint/warmstart-image-path'])(
    "the in-memory restore's marker (%s): no stored archive may name the CRIU images' directory",
    async (name) => {
      const archive = pythonTar([
        { name: 'config.dump', size: 100 },
        { name: 'checkpoint', type: 'dir' },
        { name, size: 40 },
        { name: 'checkpoint/warmstart-image-path.txt', size: 3 }
      ])
      const inspection = await inspectArchive(archive)
      expect(archiveProblems(inspection, 1024 * 1024)).toEqual([
        `${name}: the marker of warmstart's in-memory restore, which no archive may carry`
      ])
    }
  )

  test('a pax path with a newline before its ../ components is detected', async () => {
    // Regression (was a bug): parsePax splits the pax body on '\n', but pax records are
    // length-prefixed and a value may hold newlines. The walker reads only 'xxx…x' here, GNU tar
    // and Go's archive/tar (podman) read 'xxx…x\n/../../escaped', which leaves the archive.
    const name = `${'x'.repeat(120)}\n/../../escaped`
    const archive = pythonTar([{ name, size: 3 }], 'pax')
    const inspection = await inspectArchive(archive)
    expect(inspection.entries.map((e) => e.path)).toEqual([name])
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual([`${name}: leaves the archive (..)`])
  })
})

describe('long names', () => {
  const long150 = `checkpoint/${'d'.repeat(60)}/${'p'.repeat(60)}/pages-${'9'.repeat(7)}.img`
  const long300 = `${'a'.repeat(99)}/${'b'.repeat(99)}/${'c'.repeat(99)}.x`
  const unicode = 'données/café-☕-检查点.img'

  test('the long paths are as long as the tests need', () => {
    expect(long150).toHaveLength(150)
    expect(long300).toHaveLength(301)
  })

  test('GNU format, 150-char path: read from the L record', async () => {
    const archive = pythonTar([
      { name: long150, size: 1000 },
      { name: 'config.dump', size: 10 }
    ])
    const data = readFileSync(archive)
    expect(data.subarray(0, 13).toString()).toBe('././@LongLink')
    expect(String.fromCharCode(data[156]!)).toBe('L')
    const inspection = await inspectArchive(archive)
    expect(inspection.entries).toEqual([file(long150, 1000), file('config.dump', 10)])
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual([])
  })

  test('GNU tar, 150-char path of a real file', async () => {
    const tree = tempPath('long')
    const parent = long150.slice(0, long150.lastIndexOf('/'))
    mkdirSync(join(tree, parent), { recursive: true })
    writeFileSync(join(tree, long150), randomBytes(777))
    const out = tempPath('long-gnu.tar')
    execFileSync('tar', ['-C', tree, '-cf', out, long150])
    expect(String.fromCharCode(readFileSync(out)[156]!)).toBe('L')
    const inspection = await inspectArchive(out)
    expect(inspection.entries).toEqual([file(long150, 777)])
  })

  test('GNU format, long symlink target: read from the K record', () => {
    const target = `/var/lib/${'t'.repeat(140)}`
    const archive = pythonTar([{ name: 'lnk', type: 'symlink', linkname: target }])
    const [entry] = walk(readFileSync(archive))
    expect(entry).toEqual({ path: 'lnk', type: '2', size: 0, linkTarget: target })
    expect(entryProblem(entry!)).toBe(`lnk: link to ${target}`)
  })

  test('ustar format, 150-char path: read from prefix and name', () => {
    const archive = pythonTar([{ name: long150, size: 5 }], 'ustar')
    const data = readFileSync(archive)
    expect(data.subarray(257, 263).toString('latin1')).toBe('ustar\0')
    expect(data.subarray(345, 350).toString()).toBe('check')
    expect(walk(data)).toEqual([file(long150, 5)])
  })

  test('pax format: a 300-char path and a non-ASCII name', async () => {
    const archive = pythonTar(
      [
        { name: long300, size: 2049 },
        { name: unicode, size: 33 },
        { name: 'données', type: 'dir' }
      ],
      'pax'
    )
    const data = readFileSync(archive)
    expect(String.fromCharCode(data[156]!)).toBe('x')
    const inspection = await inspectArchive(archive)
    expect(inspection.entries).toEqual([
      file(long300, 2049),
      file(unicode, 33),
      directory('données/')
    ])
    expect(inspection.unpackedBytes).toBe(2082)
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual([])
  })

  test('pax format: a long ../ path is detected', async () => {
    const name = `../${'e'.repeat(250)}/escaped.img`
    const archive = pythonTar(
      [
        { name: 'config.dump', size: 5 },
        { name, size: 5 }
      ],
      'pax'
    )
    const inspection = await inspectArchive(archive)
    expect(inspection.entries.map((e) => e.path)).toEqual(['config.dump', name])
    expect(archiveProblems(inspection, 1024 * 1024)).toEqual([`${name}: leaves the archive (..)`])
  })

  test('pax format: a long absolute path is detected', () => {
    const name = `/${'r'.repeat(200)}/etc/cron.d/job`
    const archive = pythonTar([{ name, size: 5 }], 'pax')
    const [entry] = walk(readFileSync(archive))
    expect(entry?.path).toBe(name)
    expect(entryProblem(entry!)).toBe(`${name}: absolute path`)
  })
})

describe('sizes over 8 GiB', () => {
  const HEADER = `
import sys, tarfile
info = tarfile.TarInfo('checkpoint/pages-1.img')
info.size = int(sys.argv[2])
info.mtime = 1700000000
fmt = {'gnu': tarfile.GNU_FORMAT, 'pax': tarfile.PAX_FORMAT}[sys.argv[1]]
sys.stdout.buffer.write(info.tobuf(fmt, 'utf-8', 'surrogateescape'))
`
  const size = 9 * 1024 ** 3 + 12345

  test('GNU base-256 size field', () => {
    const header = execFileSync('python3', ['-c', HEADER, 'gnu', String(size)])
    expect(header).toHaveLength(512)
    expect(header[124]! & 0x80).toBe(0x80)
    expect(walk(header)).toEqual([file('checkpoint/pages-1.img', size)])
  })

  test('pax size record', () => {
    const header = execFileSync('python3', ['-c', HEADER, 'pax', String(size)])
    expect(String.fromCharCode(header[156]!)).toBe('x')
    expect(header.toString('latin1')).toContain(` size=${size}\n`)
    expect(walk(header)).toEqual([file('checkpoint/pages-1.img', size)])
  })

  test('the walker skips the data: what follows is read as the next header', () => {
    const first = execFileSync('python3', ['-c', HEADER, 'gnu', '1000'])
    const archive = readFileSync(pythonTar([{ name: 'spec.dump', size: 3 }]))
    const data = Buffer.concat([first, randomBytes(1024), archive])
    expect(walk(data)).toEqual([file('checkpoint/pages-1.img', 1000), file('spec.dump', 3)])
  })
})

describe('chunking', () => {
  // Every header kind, and data sizes around the 512-byte block.
  const mixed: EntrySpec[] = [
    { name: 'checkpoint', type: 'dir', format: 'ustar' },
    { name: 'checkpoint/pages-1.img', size: 5000, format: 'ustar' },
    { name: `checkpoint/${'g'.repeat(140)}.img`, size: 1, format: 'gnu' },
    { name: 'lnk', type: 'symlink', linkname: `/${'k'.repeat(120)}`, format: 'gnu' },
    { name: `${'p'.repeat(150)}/${'q'.repeat(149)}`, size: 513, format: 'pax' },
    { name: 'données/café-☕.img', size: 0, format: 'pax' },
    { name: 'exact-block', size: 512, format: 'gnu' },
    { name: 'one-short', size: 511, format: 'gnu' },
    { name: `${'u'.repeat(80)}/${'v'.repeat(90)}`, size: 1025, format: 'ustar' },
    { name: 'empty', size: 0, format: 'gnu' },
    { name: 'last', size: 3000, format: 'pax' }
  ]
  const expected: ArchiveEntry[] = [
    directory('checkpoint/'),
    file('checkpoint/pages-1.img', 5000),
    file(`checkpoint/${'g'.repeat(140)}.img`, 1),
    { path: 'lnk', type: '2', size: 0, linkTarget: `/${'k'.repeat(120)}` },
    file(`${'p'.repeat(150)}/${'q'.repeat(149)}`, 513),
    file('données/café-☕.img', 0),
    file('exact-block', 512),
    file('one-short', 511),
    file(`${'u'.repeat(80)}/${'v'.repeat(90)}`, 1025),
    file('empty', 0),
    file('last', 3000)
  ]
  let data: Buffer

  beforeAll(() => {
    data = readFileSync(pythonTar(mixed, 'gnu'))
  })

  test('in one push', () => {
    expect(walk(data)).toEqual(expected)
  })

  test.each([1, 2, 511, 512, 513, 1000, 4096])('in chunks of %i bytes', (size) => {
    expect(walk(data, () => size)).toEqual(expected)
  })

  /** A small deterministic PRNG, so a failure can be reproduced from its seed. */
  function mulberry32(seed: number): () => number {
    let a = seed
    return () => {
      a = (a + 0x6d2b79f5) | 0
      let t = Math.imul(a ^ (a >>> 15), 1 | a)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }

  test.each([1, 2, 3, 42, 1234])('in random-size chunks (seed %i)', (seed) => {
    const random = mulberry32(seed)
    expect(walk(data, () => 1 + Math.floor(random() * 1100))).toEqual(expected)
  })

  test('pushing after the end of the archive adds nothing', () => {
    const walker = new TarWalker()
    walker.push(data)
    walker.push(readFileSync(pythonTar([{ name: 'after-the-end', size: 1 }])))
    expect(walker.entries).toEqual(expected)
  })
})

describe('the unpacked-size bound', () => {
  let archive: string

  beforeAll(() => {
    archive = pythonTar([
      { name: 'checkpoint', type: 'dir' },
      { name: 'checkpoint/pages-1.img', size: 2000 },
      { name: 'config.dump', size: 1000 },
      { name: 'spec.dump', size: 96 }
    ])
  })

  test('above the bound: reported with both numbers', async () => {
    const inspection = await inspectArchive(archive)
    expect(inspection.unpackedBytes).toBe(3096)
    expect(archiveProblems(inspection, 3095)).toEqual([
      'it unpacks to 3096 bytes, more than the bound of 3095'
    ])
    expect(archiveProblems(inspection, 1024)).toEqual([
      'it unpacks to 3096 bytes, more than the bound of 1024'
    ])
  })

  test('at the bound: accepted', async () => {
    expect(archiveProblems(await inspectArchive(archive), 3096)).toEqual([])
  })

  test('zstd-compressed: the bound applies to the unpacked size, not the file', async () => {
    const compressed = zstd(
      pythonTar([
        { name: 'checkpoint/pages-1.img', size: 1_000_000, zeros: true },
        { name: 'config.dump', size: 500_000, zeros: true }
      ])
    )
    const inspection = await inspectArchive(compressed)
    expect(inspection.bytes).toBeLessThan(10_000)
    expect(inspection.unpackedBytes).toBe(1_500_000)
    expect(archiveProblems(inspection, 1_499_999)).toEqual([
      'it unpacks to 1500000 bytes, more than the bound of 1499999'
    ])
    expect(archiveProblems(inspection, 1_500_000)).toEqual([])
  })

  test('bad entries and the bound: all reported', async () => {
    const inspection = await inspectArchive(
      pythonTar([
        { name: '../x', size: 600 },
        { name: 'y', size: 600 }
      ])
    )
    expect(archiveProblems(inspection, 1000)).toEqual([
      '../x: leaves the archive (..)',
      'it unpacks to 1200 bytes, more than the bound of 1000'
    ])
  })
})

/** The zstd magic, then bytes zstd rejects at once (0xff sets a reserved frame-header bit). */
const zstdGarbage = (length: number): Buffer =>
  Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(length, 0xff)])

describe('damaged and empty archives', () => {
  test('an empty file: no tar entries', async () => {
    const empty = tempPath('empty.tar')
    writeFileSync(empty, '')
    const inspection = await inspectArchive(empty)
    expect(inspection).toEqual({
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      bytes: 0,
      entries: [],
      unpackedBytes: 0,
      unreadable: undefined,
      importPath: empty
    })
    expect(archiveProblems(inspection, 1024)).toEqual(['the archive holds no tar entries'])
  })

  test('only end-of-archive blocks: no tar entries', async () => {
    const zeros = tempPath('zeros.tar')
    writeFileSync(zeros, Buffer.alloc(10240))
    const inspection = await inspectArchive(zeros)
    expect(inspection.entries).toEqual([])
    expect(archiveProblems(inspection, 1024)).toEqual(['the archive holds no tar entries'])
  })

  test('a corrupt zstd file (valid magic, garbage after): resolves with unreadable', async () => {
    const corrupt = tempPath('corrupt.tar.zst')
    const data = zstdGarbage(300)
    writeFileSync(corrupt, data)
    const inspection = await inspectArchive(corrupt)
    expect(inspection.unreadable).toMatch(/^zstd cannot decompress the archive: \S/)
    expect(inspection.sha256).toBe(sha256(data))
    expect(inspection.bytes).toBe(304)
    expect(inspection.entries).toEqual([])
    expect(archiveProblems(inspection, 1024)).toContain('the archive holds no tar entries')
  })

  test('a corrupt zstd file: archiveProblems reports it unreadable', async () => {
    // Regression (was a bug): archiveProblems ignores `inspection.unreadable`; add
    // `if (inspection.unreadable) problems.push(inspection.unreadable)`.
    const corrupt = tempPath('corrupt.tar.zst')
    writeFileSync(corrupt, zstdGarbage(300))
    const inspection = await inspectArchive(corrupt)
    expect(inspection.unreadable).toMatch(/^zstd cannot decompress the archive: /)
    expect(archiveProblems(inspection, 1024).join('\n')).toContain(inspection.unreadable)
  })

  describe('a truncated zstd file (the first MBs decompress)', () => {
    let truncated: string

    beforeAll(() => {
      const whole = readFileSync(zstd(podmanTar([['checkpoint/pages-2.img', 4 * 1024 * 1024]])))
      truncated = tempPath('truncated.tar.zst')
      writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)))
    })

    test('resolves with unreadable, and the entries read before the cut', async () => {
      const inspection = await inspectArchive(truncated)
      expect(inspection.unreadable).toMatch(/^zstd cannot decompress the archive: /)
      expect(inspection.entries).toEqual([
        ...podmanEntries,
        file('checkpoint/pages-2.img', 4194304)
      ])
    })

    test('archiveProblems reports it (else it passes with every entry fine)', async () => {
      // Regression (was a bug): archiveProblems ignores `inspection.unreadable`, so an
      // archive zstd fails on partway is accepted whenever the entries read so far are fine.
      const inspection = await inspectArchive(truncated)
      expect(inspection.unreadable).toBeDefined()
      expect(archiveProblems(inspection, 1024 ** 3).join('\n')).toContain(inspection.unreadable)
    })
  })

  describe('a truncated plain tar', () => {
    let data: Buffer

    beforeAll(() => {
      data = readFileSync(podmanTar())
    })

    test.each([
      // Header offsets: artifacts/ 0, checkpoint/ 512, inventory.img 1024 (+1 data block).
      [100, []],
      [512, ['artifacts/']],
      [1100, ['artifacts/', 'checkpoint/']],
      [1536, ['artifacts/', 'checkpoint/', 'checkpoint/inventory.img']],
      [2048, ['artifacts/', 'checkpoint/', 'checkpoint/inventory.img']],
      [2560, ['artifacts/', 'checkpoint/', 'checkpoint/inventory.img', 'checkpoint/pages-1.img']]
    ])('cut at %i bytes: resolves with the entries before the cut', async (length, paths) => {
      const cut = tempPath('cut.tar')
      writeFileSync(cut, data.subarray(0, length))
      const inspection = await inspectArchive(cut)
      expect(inspection.entries.map((entry) => entry.path)).toEqual(paths)
      expect(inspection.bytes).toBe(length)
      expect(inspection.sha256).toBe(sha256(data.subarray(0, length)))
      expect(Array.isArray(archiveProblems(inspection, 1024 ** 2))).toBe(true)
    })

    test('cut in the middle of a large file: resolves', async () => {
      const cut = tempPath('cut.tar')
      writeFileSync(cut, data.subarray(0, 20_000))
      const inspection = await inspectArchive(cut)
      expect(inspection.entries.map((entry) => entry.path).at(-1)).toBe('checkpoint/pages-1.img')
    })
  })
})

describe('crashes (in a child process, so a crash fails only the test)', () => {
  // src/archive/inspect.ts and the one module it imports (src/process.ts), transpiled alone, run
  // in a plain node process. Written under node_modules/.cache so that @actions/exec resolves.
  let driver: string

  beforeAll(() => {
    const transpile = (path: string): string =>
      ts.transpileModule(readFileSync(new URL(path, import.meta.url), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 }
      }).outputText
    const cache = new URL('../../node_modules/.cache/', import.meta.url).pathname
    mkdirSync(cache, { recursive: true })
    const childDir = mkdtempSync(join(cache, 'warmstart-archive-child-'))
    childDirs.push(childDir)
    writeFileSync(
      join(childDir, 'archive.mjs'),
      transpile('../../src/archive/inspect.ts')
        .replace("'../process.js'", "'./process.mjs'")
        .replaceAll("'./source.js'", "'./source.mjs'")
    )
    writeFileSync(join(childDir, 'process.mjs'), transpile('../../src/process.ts'))
    writeFileSync(join(childDir, 'source.mjs'), transpile('../../src/archive/source.ts'))
    driver = join(childDir, 'driver.mjs')
    writeFileSync(
      driver,
      `import { archiveProblems, inspectArchive } from './archive.mjs'
const inspection = await inspectArchive(process.argv[2])
const problems = archiveProblems(inspection, 1024 ** 3)
console.log(JSON.stringify({ ...inspection, problems }))
`
    )
  })

  function inspectInChild(path: string): { status: number | null; output: string; stderr: string } {
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    const child = spawnSync(process.execPath, [driver, path], {
      encoding: 'utf8',
      timeout: 60_000,
      env
    })
    return { status: child.status, output: child.stdout, stderr: child.stderr }
  }

  test('the child runs inspectArchive (a normal archive)', () => {
    const archive = zstd(podmanTar())
    const { status, output, stderr } = inspectInChild(archive)
    expect(stderr).toBe('')
    expect(status).toBe(0)
    const result = JSON.parse(output) as { entries: ArchiveEntry[]; problems: string[] }
    expect(result.entries).toEqual(podmanEntries)
    expect(result.problems).toEqual([])
  })

  test('a file shorter than 4 bytes: no crash, no tar entries', () => {
    // Regression (was a bug): `first.readUInt32LE(0)` throws ERR_BUFFER_OUT_OF_BOUNDS
    // inside the stream's 'data' handler when the file has fewer than 4 bytes, an uncaught
    // exception that ends the process. Check `first.length >= 4 &&` first.
    const tiny = tempPath('tiny.tar')
    writeFileSync(tiny, 'ab')
    const { status, output, stderr } = inspectInChild(tiny)
    expect(stderr).not.toContain('ERR_BUFFER_OUT_OF_BOUNDS')
    expect(status).toBe(0)
    expect(JSON.parse(output)).toMatchObject({
      bytes: 2,
      entries: [],
      problems: ['the archive holds no tar entries']
    })
  })

  test('a large corrupt zstd file: resolves with unreadable, no crash', () => {
    // Regression (was a bug): zstd exits on the first bad frame while the file is
    // still being written to its stdin: the next write fails with EPIPE, an 'error' event with no
    // listener on decompressor.stdin (uncaught: the process ends), the input stays paused for a
    // 'drain' that never comes, and `decompressed` rejects before anything handles it
    // (unhandled rejection). Listen for 'error' on stdin; once zstd has closed, stop writing to
    // it and resume the input (the hash still needs the whole file); attach the rejection
    // handler when the promise is made.
    const corrupt = tempPath('large-corrupt.tar.zst')
    writeFileSync(corrupt, zstdGarbage(8 * 1024 * 1024))
    const { status, output, stderr } = inspectInChild(corrupt)
    expect(stderr).not.toContain('EPIPE')
    expect(status).toBe(0)
    expect(JSON.parse(output)).toMatchObject({
      bytes: 8 * 1024 * 1024 + 4,
      unreadable: expect.stringMatching(/^zstd cannot decompress the archive: /)
    })
  })
})

describe('GNU incremental archives (atime/ctime where ustar keeps its prefix)', () => {
  test('a relative path reads as written', async () => {
    // Regression (was a bug): the GNU magic 'ustar  \0' also starts with 'ustar', so the
    // walker takes bytes 345-499 as a ustar prefix; in GNU headers they hold atime/ctime
    // (written by `tar --incremental`). Only magic 'ustar\0' has a prefix:
    // `header.subarray(257, 263).toString('latin1') === 'ustar\0'`.
    const tree = podmanTree()
    const out = tempPath('incremental.tar')
    execFileSync('tar', ['--incremental', '-C', tree, '-cf', out, 'config.dump'])
    expect(execFileSync('tar', ['-tf', out], { encoding: 'utf8' })).toBe('config.dump\n')
    const inspection = await inspectArchive(out)
    expect(inspection.entries).toEqual([file('config.dump', 3187)])
  })

  test('an absolute path is detected', async () => {
    // BUG (src/archive/inspect.ts, TarWalker), as above: the walker reads '<atime>//tmp/…/config.dump',
    // which is not absolute, while tar and podman's Go reader see '/tmp/…/config.dump'.
    const tree = podmanTree()
    const out = tempPath('incremental-absolute.tar')
    const absolute = join(tree, 'config.dump')
    execFileSync('tar', ['--incremental', '-P', '-cf', out, absolute])
    expect(execFileSync('tar', ['-tPf', out], { encoding: 'utf8' })).toBe(`${absolute}\n`)
    const inspection = await inspectArchive(out)
    expect(archiveProblems(inspection, 1024 ** 3)).toEqual([`${absolute}: absolute path`])
  })

  test('the data of a dumpdir (type D) entry is skipped, not read as headers', () => {
    // Regression (was a bug): only types 0, \0 and 7 have their data skipped; tar (and Go's
    // archive/tar) skip `size` bytes for every type but the header-only ones (1-6). A type-D
    // entry's data is read as a header here, giving a phantom entry. Skip the data unless the
    // type is one of '1'-'6'.
    const tree = podmanTree()
    const out = tempPath('incremental-dir.tar')
    execFileSync('tar', ['--incremental', '-C', tree, '-cf', out, 'checkpoint'])
    const listed = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trim().split('\n')
    expect(listed).toHaveLength(4)
    expect(walk(readFileSync(out)).map((entry) => entry.type)).toEqual(['D', '0', '0', '0'])
  })
})

describe('reading one part of a local archive (what a warm restore hashes beside its tar)', () => {
  // Three parts end to end, of sizes around the 1 MiB read size, like an archive's layout.
  const [first, second, third] = [
    randomBytes(1024 * 1024 + 7),
    randomBytes(13),
    randomBytes(3 * 1024 * 1024)
  ]
  const parts = [first, second, third]
  const offsets = [0, first.length, first.length + second.length]
  let path: string
  beforeAll(() => {
    path = tempPath('parts.bin')
    writeFileSync(path, Buffer.concat(parts))
  })

  test('each range hashes to its own bytes, not its neighbours', async () => {
    for (const [i, part] of parts.entries()) {
      const range = { offset: offsets[i] as number, bytes: part.length }
      expect(await sha256OfRange(path, range)).toBe(sha256(part))
    }
  })

  test('an empty range is the hash of nothing', async () => {
    expect(await sha256OfRange(path, { offset: 5, bytes: 0 })).toBe(sha256(Buffer.alloc(0)))
  })

  test('a file cut short hashes short: the manifest check then fails', async () => {
    const truncated = tempPath('truncated.bin')
    writeFileSync(truncated, Buffer.concat(parts).subarray(0, first.length + second.length + 100))
    const last = { offset: first.length + second.length, bytes: third.length }
    expect(await sha256OfRange(truncated, last)).toBe(sha256(third.subarray(0, 100)))
  })

  test('readHead gives the first bytes of a part, fewer at the end of the file', () => {
    expect(readHead(path, first.length, 4)).toEqual(second.subarray(0, 4))
    const size = statSync(path).size
    expect(readHead(path, size - 2, 4)).toEqual(third.subarray(-2))
  })
})

describe("tar's own listing of what it unpacks (a local checkpoint part, src/archive/tar-listing.ts)", () => {
  /** What GNU tar lists as it unpacks (-x) or lists (-t) the archive, parsed; and its exit status. */
  function tarListing(archive: string, mode: 'x' | 't' = 'x'): TarListing & { status: number } {
    const into = tempPath('unpacked')
    mkdirSync(into)
    const run = spawnSync(
      'tar',
      [`-${mode}vv`, '--numeric-owner', '--quoting-style=c', '-f', archive, '-C', into],
      { env: { ...process.env, LC_ALL: 'C' } }
    )
    return { ...parseTarListing(run.stdout.toString('latin1')), status: run.status ?? -1 }
  }

  const awkward = [
    'dir with space/',
    'dir with space/a "quoted" name',
    'back\\slash and\ttab',
    'new\nline',
    'caf\u00e9 \u2603',
    `long/${'x'.repeat(150)}`,
    `${'p'.repeat(60)}/${'q'.repeat(90)}`
  ]

  test.each(['gnu', 'pax', 'ustar'] as const)(
    'the entries tar lists are the ones its headers hold (%s format, awkward names)',
    (format) => {
      const names =
        format === 'ustar' ? awkward.filter((name) => !name.startsWith('long/')) : awkward
      const archive = pythonTar(
        names.map((name, i) =>
          name.endsWith('/') ? { name, type: 'dir' as const } : { name, size: 100 * i + 1 }
        ),
        format
      )
      const listing = tarListing(archive)
      expect(listing.status).toBe(0)
      expect(listing.problems).toEqual([])
      expect(listing.entries).toEqual(walk(readFileSync(archive)))
    }
  )

  test("podman's layout, written by GNU tar: the same entries as the walker's", () => {
    const archive = podmanTar()
    const listing = tarListing(archive)
    expect(listing.entries).toEqual(podmanEntries)
    expect(archiveProblems({ ...inspectionOf(listing), sha256: '' }, 1024 ** 3)).toEqual([])
  })

  test('links, devices and fifos are listed with their types, and refused', () => {
    const archive = pythonTar([
      { name: 'checkpoint/', type: 'dir' },
      { name: 'checkpoint/sym', type: 'symlink', linkname: '/etc/shadow' },
      { name: 'checkpoint/hard', type: 'link', linkname: 'checkpoint/sym' },
      { name: 'checkpoint/null', type: 'chr', dev: [1, 3] },
      { name: 'checkpoint/disk', type: 'blk', dev: [8, 0] },
      { name: 'checkpoint/pipe', type: 'fifo' }
    ])
    const listing = tarListing(archive, 't')
    expect(listing.problems).toEqual([])
    expect(listing.entries).toEqual(walk(readFileSync(archive)))
    expect(listing.entries.map(entryProblem)).toEqual([
      undefined,
      'checkpoint/sym: link to /etc/shadow',
      'checkpoint/hard: link to checkpoint/sym',
      'checkpoint/null: device node',
      'checkpoint/disk: device node',
      'checkpoint/pipe: not a regular file or directory (tar type "6")'
    ])
  })

  test('an absolute path is listed as stored, and refused', () => {
    const listing = tarListing(pythonTar([{ name: '/etc/cron.d/planted', size: 5 }]))
    expect(listing.entries.map(entryProblem)).toEqual(['/etc/cron.d/planted: absolute path'])
  })

  test('a ../ member: tar itself refuses it and fails (the restore then fails)', () => {
    const listing = tarListing(pythonTar([{ name: '../escaped', size: 5 }]))
    expect(listing.status).not.toBe(0)
    expect(listing.entries).toEqual([])
  })

  test('a line it cannot read is a problem (fails closed); directories tar made are not entries', () => {
    const made = 'drwxr-xr-x                  Creating directory: "checkpoint"'
    const member = '-rw-r--r-- 0/0               5 2026-12-02 16:50 "checkpoint/x"'
    const odd = 'V--------- 0/0               0 2026-12-02 16:50 --Volume Header--'
    expect(parseTarListing([made, member, odd, ''].join('\n'))).toEqual({
      entries: [file('checkpoint/x', 5)],
      problems: [`tar listed a member this cannot read: ${JSON.stringify(odd)}`]
    })
    expect(parseTarListing('')).toEqual({ entries: [], problems: [] })
  })
})

function inspectionOf(listing: TarListing): {
  bytes: number
  entries: ArchiveEntry[]
  unpackedBytes: number
  importPath: string
} {
  const unpackedBytes = listing.entries.reduce((sum, entry) => sum + entry.size, 0)
  return { bytes: 0, entries: listing.entries, unpackedBytes, importPath: '' }
}
