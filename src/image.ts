// The service's image: what the cache key knows it by, and how a missing one is brought here.
//
// The key's identity of an image is its config digest, which is podman's image ID. A manifest
// digest names one encoding of the image (its compression, its manifest format): pushing the
// image recompresses it, a registry may convert it, and podman then lists several repository
// digests for one name, so a key built from one of them changes with the image's history. The
// config digest names the image's content (its config lists the layers' uncompressed digests):
// it is the same here, after a push, a retag or a pull by digest, and it is known from the
// registry without pulling a layer (`skopeo inspect --config --raw`), which the fresh-runner path
// needs to compose the key before the image is here.
//
// Reading (readImage) is apart from acting (fetchImage): `warmstart key` reads the same facts as
// `up` and composes the same key, and only `up` pulls.
import { createHash } from 'node:crypto'
import type { ImageInfo, Podman } from './podman.js'
import type { Timings } from './timings.js'

/** What is known of the service's image before anything is pulled. */
export type ImageFacts =
  | {
      where: 'here' | 'registry'
      /** `sha256:` + the config digest (podman's image ID). */
      identity: string
      /** The user its processes start as, from its config. */
      user?: string
      /** For an image known from its registry only: the reference that pulls exactly it. */
      pullReference?: string
    }
  | {
      where: 'unknown'
      /** Why neither this host nor the registry could say what the image is. */
      reason: string
    }

/** `registry:5000/ns/name:tag` -> `registry:5000/ns/name`; a digest is stripped too. */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image
  const lastSlash = withoutDigest.lastIndexOf('/')
  const lastColon = withoutDigest.lastIndexOf(':')
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest
}

/** The reference that pulls exactly `digest` of the image's repository. */
export function digestReference(image: string, digest: string): string {
  return `${repositoryOf(image)}@${digest}`
}

/** The identity of an image that is here: its ID, which is its config digest. */
export function identityOfLocal(info: ImageInfo): string {
  return info.Id.startsWith('sha256:') ? info.Id : `sha256:${info.Id}`
}

/** The identity of an image from its config's bytes as the registry serves them. */
export function identityOfConfig(rawConfig: string): string {
  return `sha256:${createHash('sha256').update(rawConfig).digest('hex')}`
}

/**
 * The image as it is here, else as its registry describes it (without pulling). Never pulls,
 * never throws: an image that cannot be found anywhere is `unknown`, with the reason.
 */
export async function readImage(podman: Podman, image: string): Promise<ImageFacts> {
  const local = await podman.inspectImage(image).catch(() => undefined)
  if (local) {
    return {
      where: 'here',
      identity: identityOfLocal(local),
      user: local.Config?.User || undefined
    }
  }
  try {
    const remote = await podman.inspectRemoteImage(image)
    return {
      where: 'registry',
      identity: identityOfConfig(remote.rawConfig),
      user: remote.user,
      pullReference: digestReference(image, remote.digest)
    }
  } catch (error) {
    return {
      where: 'unknown',
      reason: `${image} is not here and its registry could not be asked (${error instanceof Error ? error.message : String(error)})`
    }
  }
}

/**
 * Brings an image known from its registry here, pulled by the digest the key was composed from
 * and tagged with the spec's name (so that podman finds it under that name); settles at once for
 * an image already here. The pull runs while the checkpoint is looked up and downloaded: the
 * promise is awaited where the image is needed, and never rejects unhandled meanwhile.
 */
export function fetchImage(
  podman: Podman,
  image: string,
  facts: ImageFacts,
  timings: Timings
): Promise<void> {
  if (facts.where !== 'registry' || !facts.pullReference) return Promise.resolve()
  const reference = facts.pullReference
  const ready = timings.time('pull', async () => {
    await podman.pull(reference)
    if (!image.includes('@')) await podman.tag(reference, image)
  })
  ready.catch(() => undefined)
  return ready
}
