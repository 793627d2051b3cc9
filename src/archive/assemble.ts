// One archive of parts laid end to end (the layout is src/archive/layout.ts): the checkpoint part,
// then every volume's slices, each hashed on the way.
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs'
import { finished, pipeline } from 'node:stream/promises'
import type { ContainerVolume, VolumeSlice } from '../volumes.js'
import type { ArchivePart } from './layout.js'

/**
 * Lays the parts end to end in `archive` (the checkpoint part is moved there, the volume parts
 * appended and removed) and hashes each part and the whole on the way.
 */
export async function assembleArchive(
  archive: string,
  checkpointFile: string,
  volumes: Array<{ volume: ContainerVolume; slices: VolumeSlice[] }>
): Promise<{ parts: ArchivePart[]; sha256: string }> {
  const whole = createHash('sha256')
  renameSync(checkpointFile, archive)
  const first = await hashPart(archive, whole)
  const parts: ArchivePart[] = [{ kind: 'checkpoint', offset: 0, ...first }]
  let offset = first.bytes
  const slices = volumes.flatMap(({ volume, slices }) =>
    slices.map((slice) => ({ volume, ...slice }))
  )
  for (const { volume, path, slice, unpackedBytes } of slices) {
    const part = await hashPart(path, whole, archive)
    rmSync(path, { force: true })
    parts.push({
      kind: 'volume',
      offset,
      ...part,
      name: volume.name,
      destination: volume.destination,
      uid: volume.uid,
      gid: volume.gid,
      slice,
      unpackedBytes
    })
    offset += part.bytes
  }
  return { parts, sha256: whole.digest('hex') }
}

/** Reads a part's file once: its size and SHA-256, into `whole` too, appended to `appendTo` if given. */
async function hashPart(
  path: string,
  whole: ReturnType<typeof createHash>,
  appendTo?: string
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256')
  let bytes = 0
  const source = createReadStream(path).on('data', (chunk) => {
    hash.update(chunk)
    whole.update(chunk)
    bytes += chunk.length
  })
  if (appendTo) await pipeline(source, createWriteStream(appendTo, { flags: 'a' }))
  else await finished(source)
  return { bytes, sha256: hash.digest('hex') }
}
