// The service's image. The cache key holds its digest; on a fresh runner the image is not there
// yet, and pulling it first would make the cache download wait for the pull. So a missing image
// is looked up in its registry (digest and config, without its layers), the key is composed from
// that, and the image is pulled by that digest while the checkpoint downloads: the warm path
// restores onto exactly the image the checkpoint was made from.
import type { ImageInfo, Podman } from './podman.js'
import type { Timings } from './timings.js'

export interface ServiceImage {
  /** What the key records: the image's digest (or its ID, for an image with none). */
  identity: string
  /** The user its processes run as (decides the user namespace). */
  user?: string
  /** Settles once the image is here: already, or when its pull by digest ends. */
  ready: Promise<void>
  /** The reference pulled by digest, when the image is being pulled. */
  pulling?: string
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

/**
 * The digest its registry gives the image, as a job that finds it missing reads it (locateImage):
 * from the image's repository digests when it came from that repository, else its own digest or
 * ID. (`Digest` alone can be another name's: podman keeps the digest an image was first known by
 * when the same image arrives under a second name.)
 */
export function localIdentity(image: string, info: ImageInfo): string {
  const repository = repositoryOf(image)
  const fromRepository = (info.RepoDigests ?? []).find((entry) => {
    const named = entry.split('@')[0] ?? ''
    return named === repository || named.endsWith(`/${repository}`)
  })
  return fromRepository?.split('@')[1] ?? info.Digest ?? info.Id
}

/**
 * The image as it is here, or as its registry describes it (then pulled by digest in the
 * background, and tagged with the spec's name so that podman finds it under that name); when the
 * registry cannot be asked without pulling (no skopeo), it is pulled first, as podman would.
 */
export async function locateImage(
  podman: Podman,
  image: string,
  timings: Timings
): Promise<ServiceImage> {
  const local = await podman.inspectImage(image).catch(() => undefined)
  if (local) {
    return {
      identity: localIdentity(image, local),
      user: local.Config?.User,
      ready: Promise.resolve()
    }
  }
  const remote = await podman.inspectRemoteImage(image).catch(() => undefined)
  if (!remote) {
    await timings.time('pull', () => podman.pull(image))
    const pulled = await podman.inspectImage(image)
    return {
      identity: localIdentity(image, pulled),
      user: pulled.Config?.User,
      ready: Promise.resolve()
    }
  }
  const reference = digestReference(image, remote.digest)
  const ready = timings.time('pull', async () => {
    await podman.pull(reference)
    if (!image.includes('@')) await podman.tag(reference, image)
  })
  // Awaited where the image is needed; until then a failure must not go unhandled.
  ready.catch(() => undefined)
  return { identity: remote.digest, user: remote.user, ready, pulling: reference }
}
