import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { GARBAGE_GRACE_MS, LocalDirectoryStore, defaultStoreDir } from '../../src/store/local.js'

let root: string
let storeDir: string
let sourceDir: string

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'warmstart-store-'))
  storeDir = path.join(root, 'cache', 'checkpoints')
  sourceDir = path.join(root, 'src')
  await fs.mkdir(sourceDir)
})

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

/** A clock the test moves by hand. */
function manualClock(start = 1_000) {
  let time = start
  return { now: () => time, set: (t: number) => void (time = t) }
}

let sourceCount = 0
/** Writes an archive to save, outside the store. */
async function sourceArchive(content: string | Buffer): Promise<string> {
  const file = path.join(sourceDir, `archive-${sourceCount++}.tar`)
  await fs.writeFile(file, content, { mode: 0o644 })
  return file
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

async function storeFiles(): Promise<string[]> {
  return (await fs.readdir(storeDir)).sort()
}

async function makeOld(file: string): Promise<void> {
  const old = new Date(Date.now() - GARBAGE_GRACE_MS - 60_000)
  await fs.utimes(file, old, old)
}

describe('lookup misses', () => {
  test('on a directory that does not exist, without creating it', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    expect(await store.lookup('redis-7', ['redis-'])).toBeUndefined()
    expect(await store.list()).toEqual([])
    await expect(fs.stat(storeDir)).rejects.toThrow('ENOENT')
  })

  test('on an empty directory', async () => {
    await fs.mkdir(storeDir, { recursive: true })
    const store = new LocalDirectoryStore({ dir: storeDir })
    expect(await store.lookup('redis-7', ['redis-'])).toBeUndefined()
  })

  test('on a key that is only a prefix of a stored key, without restore keys', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('redis-7-abc', await sourceArchive('x'), {})
    expect(await store.lookup('redis-7')).toBeUndefined()
  })
})

describe('save and lookup', () => {
  test('a saved archive comes back with the same bytes, size and metadata', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    const content = randomBytes(64 * 1024)
    const source = await sourceArchive(content)
    const metadata = { service: 'postgres', cpu: 'x86-64-v3', pages: 123, compressed: false }

    expect(await store.save('pg-15', source, metadata)).toEqual({ saved: true, bytes: 65536 })
    const hit = await store.lookup('pg-15')

    expect(hit).toMatchObject({ key: 'pg-15', bytes: 65536, metadata })
    expect(path.dirname(hit!.archivePath)).toBe(storeDir)
    expect(await fs.readFile(hit!.archivePath)).toEqual(content)
    // A copy: the store's archive does not depend on the caller's file.
    await fs.rm(source)
    expect(await fs.readFile(hit!.archivePath)).toEqual(content)
  })

  test('describes itself by its directory', () => {
    expect(new LocalDirectoryStore({ dir: storeDir }).description).toBe(
      `local directory ${storeDir}`
    )
  })

  test('saving a key again replaces the entry', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('k', await sourceArchive('first'), { n: 1 })
    await store.save('k', await sourceArchive('second!'), { n: 2 })

    const hit = await store.lookup('k')
    expect(hit?.metadata).toEqual({ n: 2 })
    expect(hit?.bytes).toBe(7)
    expect(await fs.readFile(hit!.archivePath, 'utf8')).toBe('second!')
    expect((await store.list()).map((e) => e.key)).toEqual(['k'])
    expect((await storeFiles()).filter((f) => f.endsWith('.json'))).toHaveLength(1)
  })

  test('any string up to 512 characters is a key; an empty or longer one is rejected', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    const keys = ['../../etc/passwd', 'a/b\\c\nd', 'ключ 🔑', 'x'.repeat(512)]
    for (const [i, key] of keys.entries()) {
      await store.save(key, await sourceArchive(`content ${i}`), { i })
    }
    for (const [i, key] of keys.entries()) {
      const hit = await store.lookup(key)
      expect(hit?.key).toBe(key)
      expect(await fs.readFile(hit!.archivePath, 'utf8')).toBe(`content ${i}`)
    }
    const source = await sourceArchive('x')
    await expect(store.save('', source, {})).rejects.toThrow('checkpoint key is empty')
    await expect(store.save('x'.repeat(513), source, {})).rejects.toThrow('513 characters')
    await expect(store.lookup('')).rejects.toThrow('checkpoint key is empty')
  })

  test('metadata that JSON cannot hold is rejected before anything is written', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await expect(store.save('k', await sourceArchive('x'), { pages: NaN })).rejects.toThrow(
      'metadata pages is NaN'
    )
    await expect(fs.stat(storeDir)).rejects.toThrow('ENOENT')
  })

  test('an archive larger than the cap is declined with a reason', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir, maxBytes: 10 })
    const result = await store.save('k', await sourceArchive('eleven byte'), {})
    expect(result).toEqual({
      saved: false,
      bytes: 11,
      reason: expect.stringContaining('cap of 10')
    })
    expect(await store.lookup('k')).toBeUndefined()
  })

  test('a missing source archive is an error naming it', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    const missing = path.join(sourceDir, 'nope.tar')
    await expect(store.save('k', missing, {})).rejects.toThrow(missing)
  })
})

describe('restore keys', () => {
  async function storeWithThreeEntries() {
    const clock = manualClock()
    const store = new LocalDirectoryStore({ dir: storeDir, now: clock.now })
    clock.set(1_000)
    await store.save('pg-linux-aaa', await sourceArchive('aaa'), { which: 'aaa' })
    clock.set(2_000)
    await store.save('pg-linux-bbb', await sourceArchive('bbb'), { which: 'bbb' })
    clock.set(3_000)
    await store.save('pg-mac-ccc', await sourceArchive('ccc'), { which: 'ccc' })
    clock.set(4_000)
    return { store, clock }
  }

  test('the newest created entry matching the first prefix that matches wins', async () => {
    const { store } = await storeWithThreeEntries()
    const hit = await store.lookup('pg-linux-zzz', ['pg-linux-', 'pg-'])
    expect(hit?.key).toBe('pg-linux-bbb')
    expect(await fs.readFile(hit!.archivePath, 'utf8')).toBe('bbb')
    expect((await store.lookup('pg-linux-zzz', ['nothing-', 'pg-']))?.key).toBe('pg-mac-ccc')
    expect(await store.lookup('pg-linux-zzz', ['mysql-'])).toBeUndefined()
  })

  test('the exact key is preferred over newer prefix matches', async () => {
    const { store } = await storeWithThreeEntries()
    expect((await store.lookup('pg-linux-aaa', ['pg-']))?.metadata).toEqual({ which: 'aaa' })
  })

  test('newest means created, not used', async () => {
    const { store, clock } = await storeWithThreeEntries()
    clock.set(9_000)
    await store.lookup('pg-linux-aaa')
    expect((await store.lookup('pg-linux-zzz', ['pg-linux-']))?.key).toBe('pg-linux-bbb')
  })

  test('an empty restore key matches nothing', async () => {
    const { store } = await storeWithThreeEntries()
    expect(await store.lookup('other', [''])).toBeUndefined()
  })
})

describe('list and prune', () => {
  /** Entries a, b, c of 100 bytes each, created at 1000, 2000, 3000; cap of 300 bytes. */
  async function storeWithABC() {
    const clock = manualClock()
    const store = new LocalDirectoryStore({ dir: storeDir, maxBytes: 300, now: clock.now })
    for (const [i, key] of ['a', 'b', 'c'].entries()) {
      clock.set((i + 1) * 1_000)
      await store.save(key, await sourceArchive(key.repeat(100)), { key })
    }
    return { store, clock }
  }

  test('list shows every entry, most recently used first, with its times', async () => {
    const { store, clock } = await storeWithABC()
    clock.set(4_000)
    await store.lookup('a')
    const entries = await store.list()
    expect(entries.map((e) => [e.key, e.createdAt, e.lastUsedAt])).toEqual([
      ['a', 1_000, 4_000],
      ['c', 3_000, 3_000],
      ['b', 2_000, 2_000]
    ])
    expect(entries[0]).toMatchObject({ bytes: 100, metadata: { key: 'a' } })
    expect(await fs.readFile(entries[0]!.archivePath, 'utf8')).toBe('a'.repeat(100))
  })

  test('a lookup records the use without touching the archive', async () => {
    const { store, clock } = await storeWithABC()
    const before = await store.lookup('b')
    const stats = await fs.stat(before!.archivePath)
    clock.set(5_000)
    const after = await store.lookup('b')
    expect(after?.archivePath).toBe(before?.archivePath)
    expect((await fs.stat(after!.archivePath)).mtimeMs).toBe(stats.mtimeMs)
    expect((await store.list())[0]).toMatchObject({ key: 'b', lastUsedAt: 5_000 })
  })

  test('saving beyond the cap removes the least recently used entries', async () => {
    const { store, clock } = await storeWithABC()
    clock.set(4_000)
    await store.lookup('a') // a is now more recently used than b and c
    clock.set(5_000)
    await store.save('d', await sourceArchive('d'.repeat(100)), {})

    expect((await store.list()).map((e) => e.key)).toEqual(['d', 'a', 'c'])
    expect(await store.lookup('b')).toBeUndefined()
    expect((await storeFiles()).filter((f) => f.endsWith('.tar'))).toHaveLength(3)
  })

  test('prune with a smaller cap removes in LRU order until the rest fits', async () => {
    const { store, clock } = await storeWithABC()
    clock.set(4_000)
    await store.lookup('a')
    const removed = await store.prune({ maxBytes: 150 })
    expect(removed.map((e) => e.key)).toEqual(['b', 'c'])
    expect((await store.list()).map((e) => e.key)).toEqual(['a'])
    for (const entry of removed) await expect(fs.stat(entry.archivePath)).rejects.toThrow('ENOENT')
  })

  test('prune with an age removes the entries unused for longer, then applies the cap', async () => {
    const { store, clock } = await storeWithABC()
    clock.set(4_000)
    await store.lookup('a') // used at 4000; b and c last at their creation
    clock.set(10_000)
    const stale = await store.prune({ maxAgeMs: 6_500, dryRun: true })
    expect(stale.map((e) => e.key).sort()).toEqual(['b', 'c'])
    const removed = await store.prune({ maxAgeMs: 6_500 })
    expect(removed.map((e) => e.key).sort()).toEqual(['b', 'c'])
    expect((await store.list()).map((e) => e.key)).toEqual(['a'])
  })

  test('prune under the cap removes nothing', async () => {
    const { store } = await storeWithABC()
    expect(await store.prune()).toEqual([])
    expect(await store.list()).toHaveLength(3)
  })

  test('a dry run reports what would go and removes nothing', async () => {
    const { store } = await storeWithABC()
    const filesBefore = await storeFiles()
    const wouldGo = await store.prune({ maxBytes: 0, dryRun: true })
    expect(wouldGo.map((e) => e.key)).toEqual(['a', 'b', 'c'])
    expect(await storeFiles()).toEqual(filesBefore)
    expect(await store.list()).toHaveLength(3)
  })

  test('a cap of 0 removes every entry and its files', async () => {
    const { store, clock } = await storeWithABC()
    clock.set(4_000)
    await store.lookup('c')
    expect((await store.prune({ maxBytes: 0 })).map((e) => e.key)).toEqual(['a', 'b', 'c'])
    expect(await store.list()).toEqual([])
    expect(await storeFiles()).toEqual([])
  })
})

describe('discard', () => {
  test('removes the pointer, the archive and the use record', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('keep', await sourceArchive('keep'), {})
    await store.save('drop', await sourceArchive('drop'), {})
    const hit = await store.lookup('drop')
    await store.discard('drop')

    expect(await store.lookup('drop')).toBeUndefined()
    await expect(fs.stat(hit!.archivePath)).rejects.toThrow('ENOENT')
    expect((await store.list()).map((e) => e.key)).toEqual(['keep'])
    expect(await storeFiles()).toHaveLength(2) // keep's pointer and archive
  })

  test('is a no-op for an unknown key or a missing directory', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.discard('nothing')
    await store.save('k', await sourceArchive('k'), {})
    await store.discard('nothing')
    expect((await store.list()).map((e) => e.key)).toEqual(['k'])
  })
})

describe('concurrent saves', () => {
  async function randomArchive(): Promise<{ file: string; sha: string }> {
    const content = randomBytes(256 * 1024 + Math.floor(Math.random() * 1024))
    return { file: await sourceArchive(content), sha: sha256(content) }
  }

  async function expectOneConsistentEntry(store: LocalDirectoryStore, key: string, shas: string[]) {
    const hit = await store.lookup(key)
    expect(hit).toBeDefined()
    expect(shas).toContain(hit!.metadata.sha)
    const content = await fs.readFile(hit!.archivePath)
    expect(sha256(content)).toBe(hit!.metadata.sha)
    expect(content.length).toBe(hit!.bytes)
    expect((await store.list()).filter((e) => e.key === key)).toHaveLength(1)
  }

  test('two saves of the same key both succeed and leave one consistent entry', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    for (let round = 0; round < 5; round++) {
      const one = await randomArchive()
      const two = await randomArchive()
      const results = await Promise.all([
        store.save('same', one.file, { sha: one.sha }),
        store.save('same', two.file, { sha: two.sha })
      ])
      expect(results.map((r) => r.saved)).toEqual([true, true])
      await expectOneConsistentEntry(store, 'same', [one.sha, two.sha])
    }
    expect((await storeFiles()).filter((f) => f.startsWith('.tmp-'))).toEqual([])
  })

  test('two stores on the same directory (two processes) saving at once', async () => {
    const first = new LocalDirectoryStore({ dir: storeDir })
    const second = new LocalDirectoryStore({ dir: storeDir })
    for (let round = 0; round < 5; round++) {
      const [a, b, c, d] = [
        await randomArchive(),
        await randomArchive(),
        await randomArchive(),
        await randomArchive()
      ]
      await Promise.all([
        first.save('shared', a.file, { sha: a.sha }),
        second.save('shared', b.file, { sha: b.sha }),
        first.save(`own-first-${round}`, c.file, { sha: c.sha }),
        second.save(`own-second-${round}`, d.file, { sha: d.sha })
      ])
      await expectOneConsistentEntry(first, 'shared', [a.sha, b.sha])
      await expectOneConsistentEntry(second, 'shared', [a.sha, b.sha])
      await expectOneConsistentEntry(second, `own-first-${round}`, [c.sha])
      await expectOneConsistentEntry(first, `own-second-${round}`, [d.sha])
    }
    expect(await first.list()).toHaveLength(11)
  })

  test('a replaced archive stays readable for the grace period, then prune removes it', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('k', await sourceArchive('old'), {})
    const oldHit = await store.lookup('k')
    await store.save('k', await sourceArchive('new'), {})

    // A reader that got the old path just before the replacement can still open it.
    expect(await fs.readFile(oldHit!.archivePath, 'utf8')).toBe('old')
    await store.prune()
    expect(await fs.readFile(oldHit!.archivePath, 'utf8')).toBe('old')

    await makeOld(oldHit!.archivePath)
    await store.prune()
    await expect(fs.stat(oldHit!.archivePath)).rejects.toThrow('ENOENT')
    expect(await fs.readFile((await store.lookup('k'))!.archivePath, 'utf8')).toBe('new')
  })
})

describe('damage and crashes', () => {
  const pointerOf = async (store: LocalDirectoryStore, key: string) => {
    const hit = await store.lookup(key)
    return hit!.archivePath.replace(/-[^/]*\.tar$/, '.json')
  }

  test('a corrupt pointer is a miss, listing still works, and prune cleans it', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('good', await sourceArchive('good'), {})
    await store.save('broken', await sourceArchive('broken'), {})
    const brokenArchive = (await store.lookup('broken'))!.archivePath
    const pointer = await pointerOf(store, 'broken')
    await fs.writeFile(pointer, '{"version":1,"key":"bro')

    expect(await store.lookup('broken')).toBeUndefined()
    expect(await store.lookup('x', ['bro'])).toBeUndefined()
    expect((await store.list()).map((e) => e.key)).toEqual(['good'])

    await makeOld(brokenArchive)
    expect(await store.prune()).toEqual([])
    await expect(fs.stat(pointer)).rejects.toThrow('ENOENT')
    await expect(fs.stat(brokenArchive)).rejects.toThrow('ENOENT')
    expect((await store.lookup('good'))?.key).toBe('good')
  })

  test('a pointer whose archive is missing or truncated is a miss', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('gone', await sourceArchive('gone'), {})
    await store.save('short', await sourceArchive('short'), {})
    await fs.rm((await store.lookup('gone'))!.archivePath)
    await fs.truncate((await store.lookup('short'))!.archivePath, 2)

    expect(await store.lookup('gone')).toBeUndefined()
    expect(await store.lookup('short')).toBeUndefined()
    expect(await store.list()).toEqual([])
  })

  test('a pointer naming a file outside its own entry is a miss', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('k', await sourceArchive('k'), {})
    const pointer = await pointerOf(store, 'k')
    const tampered = JSON.parse(await fs.readFile(pointer, 'utf8'))
    tampered.archive = '../../src/archive-0.tar'
    await fs.writeFile(pointer, JSON.stringify(tampered))
    expect(await store.lookup('k')).toBeUndefined()
  })

  test("a crashed writer's temp files and unreferenced archives go once older than the grace period", async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('k', await sourceArchive('k'), {})
    const oldTemp = path.join(storeDir, '.tmp-4242-0123456789abcdef')
    const freshTemp = path.join(storeDir, '.tmp-4243-0123456789abcdef')
    const hash = sha256('crashed').slice(0, 32)
    const oldOrphan = path.join(storeDir, `${hash}-4242-aaaa.tar`)
    const freshOrphan = path.join(storeDir, `${hash}-4243-bbbb.tar`)
    const notOurs = path.join(storeDir, 'README')
    for (const file of [oldTemp, freshTemp, oldOrphan, freshOrphan, notOurs]) {
      await fs.writeFile(file, 'partial')
    }
    await makeOld(oldTemp)
    await makeOld(oldOrphan)
    await makeOld(notOurs)

    expect(await store.prune()).toEqual([])

    const files = await storeFiles()
    expect(files).not.toContain(path.basename(oldTemp))
    expect(files).not.toContain(path.basename(oldOrphan))
    expect(files).toEqual(
      expect.arrayContaining(['README', path.basename(freshTemp), path.basename(freshOrphan)])
    )
    expect((await store.lookup('k'))?.key).toBe('k')
  })
})

describe('the store directory', () => {
  test('is created private on the first save, with private archives and pointers', async () => {
    const store = new LocalDirectoryStore({ dir: storeDir })
    await store.save('k', await sourceArchive('secret memory'), {})

    expect((await fs.stat(storeDir)).mode & 0o777).toBe(0o700)
    const files = await storeFiles()
    expect(files.map((f) => path.extname(f)).sort()).toEqual(['.json', '.tar'])
    for (const file of files) {
      expect((await fs.stat(path.join(storeDir, file))).mode & 0o777).toBe(0o600)
    }
  })

  test('that cannot be created makes save fail naming the directory and the reason', async () => {
    // A file where a directory should be stops even root, which chmod would not.
    const blocked = path.join(root, 'blocked')
    await fs.writeFile(blocked, 'a file')
    const dir = path.join(blocked, 'checkpoints')
    const store = new LocalDirectoryStore({ dir })

    const save = store.save('k', await sourceArchive('k'), {})
    await expect(save).rejects.toThrow(`cannot save checkpoint in local directory ${dir}`)
    await expect(save).rejects.toThrow('not a directory')
    expect(await store.lookup('k')).toBeUndefined()
  })

  test('that is a file makes save fail naming the directory', async () => {
    await fs.writeFile(path.join(root, 'cache'), 'a file')
    const dir = path.join(root, 'cache')
    const store = new LocalDirectoryStore({ dir })
    await expect(store.save('k', await sourceArchive('k'), {})).rejects.toThrow(
      new RegExp(`local directory ${dir}: EEXIST`)
    )
  })
})

describe('defaultStoreDir', () => {
  test('uses an absolute XDG_CACHE_HOME', () => {
    expect(defaultStoreDir({ XDG_CACHE_HOME: '/var/cache/me' }, '/home/me')).toBe(
      '/var/cache/me/warmstart/checkpoints'
    )
  })

  test('falls back to ~/.cache when XDG_CACHE_HOME is unset, empty or relative', () => {
    for (const env of [{}, { XDG_CACHE_HOME: '' }, { XDG_CACHE_HOME: 'cache' }]) {
      expect(defaultStoreDir(env, '/home/me')).toBe('/home/me/.cache/warmstart/checkpoints')
    }
  })
})
