// The OCI distribution API, the few calls the registry store needs, over Node's own fetch.
//
// Why HTTP here rather than skopeo or oras: the warm path reads each part's blob from the
// registry while it is written to its place in the archive, side by side, and the cold path
// pushes each part straight from its byte range in the one archive file. skopeo copies images,
// not artifacts of arbitrary blobs (and needs each blob as a file or a layout on disk); oras
// needs one file per blob and is on neither GitHub's runners nor Debian 12. The calls below are
// the distribution spec's (https://github.com/opencontainers/distribution-spec/blob/main/spec.md):
// blobs (HEAD, GET, POST + PUT monolithic upload), manifests (GET, PUT, DELETE), tags/list.
//
// Authentication follows the registry's 401 challenge: Basic (a registry with htpasswd) or a
// Bearer token fetched from the challenge's realm (GHCR, Docker Hub, Harbor, distribution with a
// token server), with the credentials given, else anonymously. Credentials and tokens never
// appear in an error message.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Credentials } from './credentials.js'
import type { OciLocation } from './artifact.js'

/** A registry answered with an HTTP status warmstart did not expect. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string
  ) {
    super(message)
    this.name = 'RegistryError'
  }
}

export interface RegistryClientOptions {
  location: OciLocation
  credentials?: Credentials
  /** Seconds for one request that moves no blob (manifests, tags, auth). */
  requestTimeoutSeconds?: number
}

interface Challenge {
  scheme: string
  params: Record<string, string>
}

type Body = () => RequestInit['body']

export class RegistryClient {
  private readonly location: OciLocation
  private readonly credentials?: Credentials
  private readonly timeoutMs: number
  /** The Authorization header that last worked (Basic, or a Bearer token for a scope). */
  private authorization?: string

  constructor(options: RegistryClientOptions) {
    this.location = options.location
    this.credentials = options.credentials
    this.timeoutMs = (options.requestTimeoutSeconds ?? 60) * 1000
  }

  get where(): string {
    return `${this.location.registry}/${this.location.repository}`
  }

  async blobExists(digest: string): Promise<boolean> {
    const response = await this.request('HEAD', `blobs/${digest}`, { ok: [200, 404] })
    return response.status === 200
  }

  /** The blob's bytes as a stream; the caller checks them against the digest. */
  async blobStream(digest: string): Promise<Readable> {
    const response = await this.request('GET', `blobs/${digest}`, { ok: [200], stream: true })
    if (!response.body) throw new RegistryError(`blob ${digest}: an empty answer`, response.status)
    return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream)
  }

  /**
   * Uploads one blob in a single PUT (POST opens the upload, PUT sends every byte and names the
   * digest, which the registry checks). `body` makes a fresh stream of the bytes.
   */
  async pushBlob(digest: string, size: number, body: Body): Promise<void> {
    const opened = await this.request('POST', 'blobs/uploads/', { ok: [202] })
    const location = opened.headers.get('location')
    if (!location) throw new RegistryError('blob upload: no Location in the answer', 202)
    const url = new URL(location, this.location.baseUrl)
    url.searchParams.set('digest', digest)
    await this.request('PUT', url, {
      ok: [201],
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      stream: true
    })
  }

  /** The manifest under a tag or digest, with the digest of its bytes; undefined when absent. */
  async getManifest(
    reference: string,
    accept: string
  ): Promise<{ body: string; digest: string } | undefined> {
    const response = await this.request('GET', `manifests/${reference}`, {
      ok: [200, 404],
      headers: { accept }
    })
    if (response.status === 404) return undefined
    const body = await response.text()
    return { body, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` }
  }

  /** Stores a manifest under a tag; resolves with its digest. */
  async putManifest(tag: string, mediaType: string, body: string): Promise<string> {
    await this.request('PUT', `manifests/${tag}`, {
      ok: [201],
      body: () => body,
      headers: { 'content-type': mediaType }
    })
    return `sha256:${createHash('sha256').update(body).digest('hex')}`
  }

  /**
   * Deletes a manifest by digest (every tag on it goes too). False when the registry does not
   * allow deletes (405, or distribution's UNSUPPORTED), or it is gone already.
   */
  async deleteManifest(digest: string): Promise<boolean> {
    const response = await this.request('DELETE', `manifests/${digest}`, { ok: [202, 404, 405] })
    return response.status === 202
  }

  /** Every tag of the repository (following the Link header's pages); none when it is new. */
  async listTags(): Promise<string[]> {
    const tags: string[] = []
    let next: string | URL | undefined = 'tags/list?n=1000'
    while (next) {
      const response = await this.request('GET', next, { ok: [200, 404] })
      if (response.status === 404) return tags
      const page = (await response.json()) as { tags?: string[] | null }
      tags.push(...(page.tags ?? []))
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')?.[1]
      next = link ? new URL(link, this.location.baseUrl) : undefined
    }
    return tags
  }

  /**
   * One call to the API, authenticating on a 401 challenge and trying once more. A status
   * outside `ok` is a RegistryError naming the registry's error code.
   */
  private async request(
    method: string,
    path: string | URL,
    options: { ok: number[]; body?: Body; headers?: Record<string, string>; stream?: boolean }
  ): Promise<Response> {
    const url =
      path instanceof URL
        ? path
        : new URL(`/v2/${this.location.repository}/${path}`, this.location.baseUrl)
    const what = `${method} ${url.pathname}`
    let used: string | undefined
    const send = (): Promise<Response> => {
      const headers: Record<string, string> = { ...options.headers }
      used = this.authorization
      if (used) headers.authorization = used
      const body = options.body?.()
      return fetch(url, {
        method,
        headers,
        body,
        // A stream body must say so; a blob may take longer than any fixed limit.
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
        ...(options.stream ? {} : { signal: AbortSignal.timeout(this.timeoutMs) })
      } as RequestInit).catch((error: unknown) => {
        throw new RegistryError(
          `${this.location.registry} is unreachable (${what}): ${causeOf(error)}`,
          0
        )
      })
    }
    let response = await send()
    if (response.status === 401) {
      const challenge = parseChallenge(response.headers.get('www-authenticate') ?? '')
      await response.body?.cancel()
      const authorization = await this.authorize(challenge)
      // Requests run side by side: another may have authenticated meanwhile. Try once more
      // whenever this one went without what is now known to work.
      if (authorization && authorization !== used) {
        this.authorization = authorization
        response = await send()
      }
    }
    if (!options.ok.includes(response.status)) {
      const detail = await errorDetail(response)
      if (response.status === 401 || response.status === 403) {
        throw new RegistryError(
          `${this.where}: access denied (${what}: ${response.status}${detail.text}); ${
            this.credentials
              ? 'the credentials given were refused or lack this permission'
              : 'no credentials were found for it: log in with `podman login ' +
                this.location.registry +
                '` (or docker login), set REGISTRY_AUTH_FILE, or in the Action pass `registry-token`'
          }`,
          response.status,
          detail.code
        )
      }
      throw new RegistryError(
        `${this.where}: ${what} answered ${response.status}${detail.text}`,
        response.status,
        detail.code
      )
    }
    return response
  }

  /** The Authorization header a challenge asks for, or undefined when none can be made. */
  private async authorize(challenge: Challenge | undefined): Promise<string | undefined> {
    if (!challenge) return undefined
    const basic = this.credentials
      ? `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`
      : undefined
    if (challenge.scheme === 'basic') return basic
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) return undefined
    const realm = new URL(challenge.params.realm)
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service)
    realm.searchParams.set(
      'scope',
      challenge.params.scope ?? `repository:${this.location.repository}:pull,push`
    )
    const response = await fetch(realm, {
      headers: basic ? { authorization: basic } : {},
      signal: AbortSignal.timeout(this.timeoutMs)
    }).catch((error: unknown) => {
      throw new RegistryError(
        `${this.location.registry}: its token service ${realm.host} is unreachable: ${causeOf(error)}`,
        0
      )
    })
    if (!response.ok) {
      await response.body?.cancel()
      throw new RegistryError(
        `${this.where}: the token service refused ${basic ? 'the credentials' : 'an anonymous token'} (${response.status})`,
        response.status
      )
    }
    const answer = (await response.json()) as { token?: string; access_token?: string }
    const token = answer.token ?? answer.access_token
    return token ? `Bearer ${token}` : undefined
  }
}

/** `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`. */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*(\w+)\s*(.*)$/.exec(header)
  if (!match) return undefined
  const params: Record<string, string> = {}
  for (const param of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) {
    params[(param[1] as string).toLowerCase()] = param[2] as string
  }
  return { scheme: (match[1] as string).toLowerCase(), params }
}

async function errorDetail(response: Response): Promise<{ text: string; code?: string }> {
  if (response.status === 0 || response.headers.get('content-length') === '0') {
    await response.body?.cancel()
    return { text: '' }
  }
  const text = await response.text().catch(() => '')
  try {
    const first = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> })
      .errors?.[0]
    if (first?.code)
      return { text: ` ${first.code}: ${first.message ?? ''}`.trimEnd(), code: first.code }
  } catch {
    // not the distribution spec's error body
  }
  return { text: '' }
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error as Error).message
}
