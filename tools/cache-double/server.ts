// A local double of the GitHub Actions cache service, for tests. It speaks the two protocols
// @actions/cache 6.3 speaks (see shared/docs/actions-cache-protocol.md):
// - v2: Twirp JSON (CreateCacheEntry, FinalizeCacheEntryUpload, GetCacheEntryDownloadURL) whose
//   signed URLs point at a real blob store, azurite (Microsoft's Azure Storage emulator), run as a
//   child process and signed with its well-known devstoreaccount1 key;
// - v1: the legacy REST API of GitHub Enterprise Server (_apis/artifactcache), whose archives the
//   double stores in files and serves itself.
// It never touches process.env: `env` says what to set, in this process or in a child process.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type ContainerClient
} from '@azure/storage-blob'

export type CacheProtocol = 'v2' | 'v1'

/**
 * Injected faults and what @actions/cache 6.3 makes of them (measured with this double):
 *
 * | fault | v1 (GHES) | v2 |
 * | --- | --- | --- |
 * | lookup error500 | miss + warning, at once | miss + warning after 5 tries, 24-35 s |
 * | lookup malformed | miss + warning, at once | miss + warning after 5 tries, 24-35 s |
 * | upload error500 | warning, nothing stored, but saveCache returns the reserved id | -1 + warning after 4 blob tries, ~16 s |
 * | upload quota | -1 + warning naming the quota | -1, info line; quota text only in the debug log |
 * | download error500 | miss + warning, at once | miss + warning, at once |
 * | download truncate | miss + warning ("aborted"), at once | the same |
 *
 * Lookup and v1 faults apply to each request as it comes. The v2 blob faults (upload error500,
 * download *) apply to the signed URLs handed out while they are set: such URLs point at the
 * double, which answers the fault (or, for truncate, passes the request on to azurite and cuts
 * the answer); other URLs point straight at azurite.
 *
 * As in the service, a reservation whose upload failed stays: saving the same key and version
 * again is declined ("another job may be creating this cache"). Use a new key after such a fault.
 */
export interface CacheFaults {
  /** error500: 500 with a JSON error body; malformed: 200 with a body that is not JSON. */
  lookup?: 'error500' | 'malformed'
  /**
   * error500: the upload itself answers 500 (v2: the blob PUT, with an Azure XML error; v1: the
   * PATCH of each chunk). quota: the reservation is refused for lack of storage quota (v2: Twirp
   * resource_exhausted "insufficient usage ..."; v1: 400 with a message naming the quota).
   */
  upload?: 'error500' | 'quota'
  /** error500: the archive GET answers 500; truncate: half the bytes, then the connection is cut. */
  download?: 'error500' | 'truncate'
}

export interface CacheEntryInfo {
  key: string
  version: string
  size: number
}

/** One request the double answered (v2 blob traffic is recorded only when a fault routes it here). */
export interface CacheRequestRecord {
  method: string
  /** Path without the query string. */
  path: string
  status: number
  /** Milliseconds since the double started, when the request arrived. */
  at: number
}

export interface CacheDouble {
  protocol: CacheProtocol
  /** Base URL of the double's HTTP server, without a trailing slash. */
  url: string
  /**
   * Environment variables that point @actions/cache (in this process or a child process) at the
   * double, for the chosen protocol. An empty value means "unset": @actions/cache reads an empty
   * variable as unset; `withEnv` and `childEnv` (./env.ts) delete such variables.
   */
  env: Record<string, string>
  /** Entries stored (committed) so far, oldest first. */
  entries(): Promise<CacheEntryInfo[]>
  /** Fault injection, for tests of warmstart's failure handling (see CacheFaults). */
  faults: CacheFaults
  /** Requests answered so far, oldest first. */
  requests(): CacheRequestRecord[]
  /** v2 only: the azurite account URL (http://127.0.0.1:<port>/devstoreaccount1). */
  blobStoreUrl?: string
  /** The double's own temporary directory, removed by stop(). */
  dir: string
  stop(): Promise<void>
}

export interface CacheDoubleOptions {
  protocol: CacheProtocol
  /** Parent directory for the double's temporary directory (default: the OS temp dir). */
  dir?: string
  /** The bearer token the double requires (default: a random one, put in `env`). */
  token?: string
}

/** Azurite's well-known development account (public, documented by Microsoft). */
const ACCOUNT = 'devstoreaccount1'
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
const CONTAINER = 'actions-cache'
const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/'
const V1_PREFIX = '/_apis/artifactcache/'
const V1_BLOB_PREFIX = '/_blobs/'
const SAS_LIFETIME_MS = 6 * 60 * 60 * 1000

interface Entry {
  id: number
  key: string
  version: string
  size: number
  committed: boolean
  created: Date
  /** v2: blob name in the container; v1: archive file path. */
  blob: string
  /** v1: the `sig` the archive URL carries. */
  sig: string
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message)
  }
}

/** Newest first; per key in order: exact match, then prefix match; the version must match. */
function findEntry(entries: Entry[], keys: string[], version: string): Entry | undefined {
  const ready = entries.filter((e) => e.committed && e.version === version)
  ready.sort((a, b) => b.id - a.id)
  for (const key of keys) {
    const hit = ready.find((e) => e.key === key) ?? ready.find((e) => e.key.startsWith(key))
    if (hit) return hit
  }
  return undefined
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text)
  })
  res.end(text)
}

function sendRaw(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** An Azure Storage error as the blob service sends it. */
function sendAzureError(res: ServerResponse, status: number, code: string, message: string): void {
  const requestId = randomUUID()
  const xml =
    '<?xml version="1.0" encoding="utf-8"?><Error>' +
    `<Code>${code}</Code><Message>${message}\nRequestId:${requestId}\n` +
    `Time:${new Date().toISOString()}</Message></Error>`
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(xml),
    'x-ms-error-code': code,
    'x-ms-request-id': requestId,
    'x-ms-version': '2025-11-05'
  })
  res.end(xml)
}

/** Twirp's error codes and their HTTP statuses. */
const TWIRP_STATUS: Record<string, number> = {
  invalid_argument: 400,
  malformed: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  failed_precondition: 412,
  resource_exhausted: 429,
  internal: 500,
  unavailable: 503
}

function twirpError(code: string, msg: string): HttpError {
  return new HttpError(TWIRP_STATUS[code] ?? 500, code, msg)
}

/** A v1 (Azure DevOps style) error. */
function v1Error(status: number, typeKey: string, message: string): HttpError {
  return new HttpError(status, typeKey, message)
}

function sendV1Error(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, {
    $id: '1',
    innerException: null,
    message: error.message,
    typeName: `Microsoft.Azure.DevOps.PipelineCache.WebApi.${error.code}, Microsoft.Azure.DevOps.PipelineCache.WebApi`,
    typeKey: error.code,
    errorCode: 0,
    eventId: 3000
  })
}

function etagOf(entry: Entry): string {
  return `"0x${createHash('sha256').update(`${entry.id}:${entry.created.getTime()}`).digest('hex').slice(0, 15).toUpperCase()}"`
}

/** Sends the first `keep` bytes of `source`, then cuts the connection (download truncate). */
async function sendTruncated(
  res: ServerResponse,
  source: NodeJS.ReadableStream,
  keep: number
): Promise<void> {
  let sent = 0
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const room = keep - sent
    if (room <= 0) break
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk
    sent += part.length
    if (!res.write(part)) await new Promise((resolve) => res.once('drain', resolve))
  }
  // Let what was written reach the client, then cut the connection mid-body.
  await new Promise((resolve) => setTimeout(resolve, 50))
  res.socket?.destroy()
  if ('destroy' in source && typeof source.destroy === 'function') source.destroy()
}

interface Azurite {
  process: ChildProcess
  url: string
  port: number
}

// Runs azurite's blob service in a child node that also exits when its stdin closes, so that
// the child never outlives a test process that dies without calling stop().
const WATCHDOG =
  "process.stdin.on('end',()=>process.exit(0));process.stdin.on('error',()=>process.exit(0));" +
  'process.stdin.resume();require(process.argv[1])'

async function startAzurite(location: string): Promise<Azurite> {
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js')
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const child = spawn(
    process.execPath,
    [
      '-e',
      WATCHDOG,
      '--',
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--location',
      location,
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck'
    ],
    { env, stdio: ['pipe', 'pipe', 'pipe'] }
  )
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('azurite did not start within 30 s')), 30_000)
    const onData = (data: Buffer): void => {
      output += data.toString()
      const found = /successfully listens on (http:\/\/\S+)/.exec(output)
      if (found?.[1]) {
        clearTimeout(timer)
        resolve(found[1])
      }
    }
    const fail = (error: Error): void => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${error.message}\n${output}`))
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('error', fail)
    child.once('exit', (code, signal) => fail(new Error(`azurite exited (${code ?? signal})`)))
  })
  child.removeAllListeners('exit')
  child.removeAllListeners('error')
  child.on('error', () => undefined)
  child.stdin?.on('error', () => undefined)
  // Keep draining its output so that it never blocks on a full pipe.
  for (const stream of [child.stdout, child.stderr]) {
    stream?.removeAllListeners('data')
    stream?.resume()
  }
  return { process: child, url, port: Number(new URL(url).port) }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.stdin?.end()
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}

export async function startCacheDouble(options: CacheDoubleOptions): Promise<CacheDouble> {
  const { protocol } = options
  const token = options.token ?? `double-${randomBytes(12).toString('hex')}`
  const parent = options.dir ?? tmpdir()
  await mkdir(parent, { recursive: true })
  const root = await mkdtemp(join(parent, 'cache-double-'))
  const started = Date.now()
  const entries: Entry[] = []
  const log: CacheRequestRecord[] = []
  const faults: CacheFaults = {}
  let nextId = 1

  let azurite: Azurite | undefined
  let container: ContainerClient | undefined
  const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY)
  const server: Server = createServer()

  const cleanup = async (): Promise<void> => {
    server.closeAllConnections()
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()))
    if (azurite) await stopChild(azurite.process)
    await rm(root, { recursive: true, force: true })
  }

  try {
    if (protocol === 'v2') {
      const location = join(root, 'azurite')
      await mkdir(location)
      azurite = await startAzurite(location)
      const service = new BlobServiceClient(`${azurite.url}/${ACCOUNT}`, credential)
      container = service.getContainerClient(CONTAINER)
      await container.createIfNotExists()
    } else {
      await mkdir(join(root, 'blobs'))
    }

    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      const record: CacheRequestRecord = {
        method: req.method ?? 'GET',
        path,
        status: 0,
        at: Date.now() - started
      }
      log.push(record)
      res.once('finish', () => (record.status = res.statusCode))
      res.once('close', () => (record.status ||= res.statusCode))
      handle(req, res, path).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error)
        if (res.headersSent) {
          res.destroy()
        } else if (path.startsWith(`/${ACCOUNT}/`) || path.startsWith(V1_BLOB_PREFIX)) {
          sendAzureError(res, 500, 'InternalError', message)
        } else if (path.startsWith(TWIRP_PREFIX)) {
          sendJson(res, 500, { code: 'internal', msg: message })
        } else {
          sendV1Error(res, v1Error(500, 'InternalServerErrorException', message))
        }
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
  } catch (error) {
    await cleanup()
    throw error
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  // ---- shared --------------------------------------------------------------------------------

  function authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${token}`
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (protocol === 'v2' && path.startsWith(TWIRP_PREFIX)) return twirp(req, res, path)
    if (protocol === 'v2' && path.startsWith(`/${ACCOUNT}/${CONTAINER}/`)) {
      return faultyBlob(req, res)
    }
    if (protocol === 'v1' && path.startsWith(V1_PREFIX)) return v1Api(req, res, path)
    if (protocol === 'v1' && path.startsWith(V1_BLOB_PREFIX)) return v1Blob(req, res, path)
    await readBody(req)
    if (protocol === 'v2') {
      sendJson(res, 404, { code: 'bad_route', msg: `no handler for ${req.method} ${path}` })
    } else {
      sendV1Error(res, v1Error(404, 'NotFoundException', `no handler for ${req.method} ${path}`))
    }
  }

  // ---- v2: Twirp -----------------------------------------------------------------------------

  function sas(blob: string, permissions: string): string {
    return generateBlobSASQueryParameters(
      {
        containerName: CONTAINER,
        blobName: blob,
        permissions: BlobSASPermissions.parse(permissions),
        startsOn: new Date(Date.now() - 5 * 60 * 1000),
        expiresOn: new Date(Date.now() + SAS_LIFETIME_MS)
      },
      credential
    ).toString()
  }

  /** Straight to azurite, or through the double while a fault of that direction is set. */
  function signedUrl(blob: string, permissions: string, faulty: boolean): string {
    const base = faulty ? url : azurite?.url
    return `${base}/${ACCOUNT}/${CONTAINER}/${blob}?${sas(blob, permissions)}`
  }

  async function twirp(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = path.slice(TWIRP_PREFIX.length)
    const raw = await readBody(req)
    try {
      if (req.method !== 'POST') throw twirpError('bad_route', `${req.method} is not supported`)
      if (!authorized(req)) throw twirpError('unauthenticated', 'invalid or missing bearer token')
      let body: Record<string, unknown>
      try {
        body = JSON.parse(raw.toString() || '{}') as Record<string, unknown>
      } catch {
        throw twirpError('malformed', 'the request body is not JSON')
      }
      const key = typeof body.key === 'string' ? body.key : ''
      const version = typeof body.version === 'string' ? body.version : ''
      if (!key || !version) throw twirpError('invalid_argument', 'key and version are required')
      switch (method) {
        case 'CreateCacheEntry':
          return sendJson(res, 200, createEntry(key, version))
        case 'FinalizeCacheEntryUpload':
          return sendJson(res, 200, await finalizeEntry(key, version, Number(body.size_bytes)))
        case 'GetCacheEntryDownloadURL': {
          if (faults.lookup === 'error500') throw twirpError('internal', 'injected fault: error500')
          if (faults.lookup === 'malformed') {
            return sendRaw(res, 200, 'application/json', '{"ok": true, "signed_download_url": ')
          }
          const restoreKeys = Array.isArray(body.restore_keys)
            ? body.restore_keys.filter((k): k is string => typeof k === 'string')
            : []
          const hit = findEntry(entries, [key, ...restoreKeys], version)
          if (!hit)
            return sendJson(res, 200, { ok: false, signed_download_url: '', matched_key: '' })
          return sendJson(res, 200, {
            ok: true,
            signed_download_url: signedUrl(hit.blob, 'r', faults.download !== undefined),
            matched_key: hit.key
          })
        }
        default:
          throw twirpError('bad_route', `no method ${method}`)
      }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error
      sendJson(res, error.status, { code: error.code, msg: error.message })
    }
  }

  function createEntry(key: string, version: string): Record<string, unknown> {
    if (faults.upload === 'quota') {
      // The message @actions/cache recognizes as "cache storage quota has been hit".
      throw twirpError('resource_exhausted', 'insufficient usage to create cache entry')
    }
    if (entries.some((e) => e.key === key && e.version === version)) {
      throw twirpError(
        'already_exists',
        'cache entry with the same key, version, and scope already exists'
      )
    }
    const id = nextId++
    const blob = `entries/${id}.tzst`
    entries.push({
      id,
      key,
      version,
      size: 0,
      committed: false,
      created: new Date(),
      blob,
      sig: ''
    })
    return {
      ok: true,
      signed_upload_url: signedUrl(blob, 'cw', faults.upload === 'error500'),
      message: ''
    }
  }

  async function finalizeEntry(
    key: string,
    version: string,
    size: number
  ): Promise<Record<string, unknown>> {
    const entry = entries.find((e) => e.key === key && e.version === version && !e.committed)
    if (!entry) throw twirpError('not_found', 'no cache entry reserved for this key and version')
    if (!container) throw twirpError('internal', 'no blob store')
    let actual: number
    try {
      actual = (await container.getBlobClient(entry.blob).getProperties()).contentLength ?? -1
    } catch {
      return { ok: false, entry_id: '0', message: 'the cache archive was not uploaded' }
    }
    if (Number.isFinite(size) && size !== actual) {
      return {
        ok: false,
        entry_id: '0',
        message: `size mismatch: ${size} B declared, ${actual} B uploaded`
      }
    }
    entry.size = actual
    entry.committed = true
    entry.created = new Date()
    return { ok: true, entry_id: String(entry.id), message: '' }
  }

  /** The blob URLs handed out while a fault is set: faults applied, otherwise passed to azurite. */
  async function faultyBlob(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const upload = req.method === 'PUT'
    const fault = upload ? faults.upload : faults.download
    if (fault === 'error500') {
      await readBody(req)
      return sendAzureError(
        res,
        500,
        'InternalError',
        'Server encountered an internal error. Please try again after some time.'
      )
    }
    if (!azurite) throw new Error('no blob store')
    const upstream = httpRequest({
      host: '127.0.0.1',
      port: azurite.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: `127.0.0.1:${azurite.port}` }
    })
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      upstream.once('response', resolve)
      upstream.once('error', reject)
    })
    await pipeline(req, upstream)
    const answer = await response
    res.writeHead(answer.statusCode ?? 502, answer.headers as OutgoingHttpHeaders)
    const length = Number(answer.headers['content-length'] ?? 0)
    if (fault === 'truncate' && req.method === 'GET' && answer.statusCode === 200 && length > 0) {
      return sendTruncated(res, answer, Math.floor(length / 2))
    }
    await pipeline(answer, res)
  }

  // ---- v1: legacy REST -----------------------------------------------------------------------

  async function v1Api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const resource = path.slice(V1_PREFIX.length)
    const query = new URL(req.url ?? '/', url).searchParams
    const chunkId = /^caches\/(\d+)$/.exec(resource)?.[1]
    try {
      if (!authorized(req)) {
        await readBody(req)
        throw v1Error(401, 'UnauthorizedException', 'invalid or missing bearer token')
      }
      if (req.method === 'GET' && resource === 'cache') return lookupV1(res, query)
      if (req.method === 'GET' && resource === 'caches') {
        const key = query.get('key') ?? ''
        const caches = entries.filter((e) => e.committed && e.key === key)
        return sendJson(res, 200, {
          totalCount: caches.length,
          artifactCaches: caches.map((e) => ({
            cacheKey: e.key,
            cacheVersion: e.version,
            scope: 'refs/heads/main',
            creationTime: e.created.toISOString()
          }))
        })
      }
      if (req.method === 'POST' && resource === 'caches') {
        return sendJson(res, 201, reserveV1(await readJson(req)))
      }
      if (req.method === 'PATCH' && chunkId) return await uploadChunkV1(req, res, Number(chunkId))
      if (req.method === 'POST' && chunkId) {
        await commitV1(Number(chunkId), await readJson(req))
        res.writeHead(204)
        return void res.end()
      }
      await readBody(req)
      throw v1Error(404, 'NotFoundException', `no handler for ${req.method} ${path}`)
    } catch (error) {
      if (!(error instanceof HttpError)) throw error
      sendV1Error(res, error)
    }
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    try {
      return JSON.parse((await readBody(req)).toString() || '{}') as Record<string, unknown>
    } catch {
      throw v1Error(400, 'ArgumentException', 'the request body is not JSON')
    }
  }

  function lookupV1(res: ServerResponse, query: URLSearchParams): void {
    if (faults.lookup === 'error500') {
      throw v1Error(500, 'InternalServerErrorException', 'injected fault: error500')
    }
    if (faults.lookup === 'malformed') {
      return sendRaw(res, 200, 'application/json', '{"cacheKey": "x", "archiveLocation": ')
    }
    const keys = (query.get('keys') ?? '').split(',').filter((k) => k !== '')
    const version = query.get('version') ?? ''
    if (keys.length === 0 || !version) {
      throw v1Error(400, 'ArgumentException', 'keys and version are required')
    }
    const hit = findEntry(entries, keys, version)
    if (!hit) {
      res.writeHead(204)
      return void res.end()
    }
    sendJson(res, 200, {
      cacheKey: hit.key,
      cacheVersion: hit.version,
      scope: 'refs/heads/main',
      creationTime: hit.created.toISOString(),
      archiveLocation: `${url}${V1_BLOB_PREFIX}${hit.id}?sig=${hit.sig}`
    })
  }

  function reserveV1(body: Record<string, unknown>): Record<string, unknown> {
    const key = typeof body.key === 'string' ? body.key : ''
    const version = typeof body.version === 'string' ? body.version : ''
    if (!key || !version) throw v1Error(400, 'ArgumentException', 'key and version are required')
    if (faults.upload === 'quota') {
      const size = Number(body.cacheSize ?? 0)
      throw v1Error(
        400,
        'ArtifactCacheSizeLimitExceededException',
        `Cache size of ~${Math.round(size / (1024 * 1024))} MB (${size} B) is over the ` +
          'repository cache storage quota, not saving cache.'
      )
    }
    if (entries.some((e) => e.key === key && e.version === version)) {
      throw v1Error(
        409,
        'ArtifactCacheAlreadyExistsException',
        `Cache already exists. Scope: refs/heads/main, Key: ${key}, Version: ${version}`
      )
    }
    const id = nextId++
    const blob = join(root, 'blobs', `${id}.tzst`)
    const sig = randomBytes(16).toString('hex')
    entries.push({ id, key, version, size: 0, committed: false, created: new Date(), blob, sig })
    return { cacheId: id }
  }

  function reserved(id: number): Entry {
    const entry = entries.find((e) => e.id === id)
    if (!entry) throw v1Error(404, 'ArtifactCacheNotFoundException', `no cache with id ${id}`)
    if (entry.committed) {
      throw v1Error(409, 'ArtifactCacheAlreadyCommittedException', `cache ${id} is committed`)
    }
    return entry
  }

  async function uploadChunkV1(
    req: IncomingMessage,
    res: ServerResponse,
    id: number
  ): Promise<void> {
    if (faults.upload === 'error500') {
      await readBody(req)
      throw v1Error(500, 'InternalServerErrorException', 'injected fault: error500')
    }
    let entry: Entry
    try {
      entry = reserved(id)
    } catch (error) {
      await readBody(req)
      throw error
    }
    const range = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(String(req.headers['content-range'] ?? ''))
    if (!range) {
      await readBody(req)
      throw v1Error(400, 'ArgumentException', 'a Content-Range of bytes start-end/* is required')
    }
    const start = Number(range[1])
    const end = Number(range[2])
    const file = await open(entry.blob, 'a')
    await file.close()
    let received = 0
    const out = createWriteStream(entry.blob, { flags: 'r+', start })
    await pipeline(
      req,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          received += chunk.length
          yield chunk
        }
      },
      out
    )
    if (received !== end - start + 1) {
      throw v1Error(
        400,
        'ArgumentException',
        `Content-Range says ${end - start + 1} B, the body has ${received} B`
      )
    }
    res.writeHead(204)
    res.end()
  }

  async function commitV1(id: number, body: Record<string, unknown>): Promise<void> {
    const entry = reserved(id)
    const size = Number(body.size)
    const actual = await stat(entry.blob).then(
      (s) => s.size,
      () => 0
    )
    if (!Number.isFinite(size) || size !== actual) {
      throw v1Error(400, 'ArgumentException', `size ${size} B does not match ${actual} B uploaded`)
    }
    entry.size = actual
    entry.committed = true
    entry.created = new Date()
  }

  /** The archiveLocation URLs: GET and HEAD, ranges, the headers a blob store sends. */
  async function v1Blob(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    await readBody(req)
    const id = Number(path.slice(V1_BLOB_PREFIX.length))
    const sig = new URL(req.url ?? '/', url).searchParams.get('sig')
    const entry = entries.find((e) => e.id === id && e.committed)
    if (!entry || sig !== entry.sig) {
      return sendAzureError(res, 403, 'AuthenticationFailed', 'Signature did not match.')
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendAzureError(res, 405, 'UnsupportedHttpVerb', `${req.method} is not supported`)
    }
    if (faults.download === 'error500') {
      return sendAzureError(res, 500, 'InternalError', 'Server encountered an internal error.')
    }
    const headers: OutgoingHttpHeaders = {
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      etag: etagOf(entry),
      'last-modified': entry.created.toUTCString(),
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-request-id': randomUUID(),
      'x-ms-version': '2025-11-05'
    }
    let start = 0
    let end = entry.size - 1
    let status = 200
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''))
    if (range && (range[1] || range[2])) {
      if (range[1]) {
        start = Number(range[1])
        end = range[2] ? Math.min(Number(range[2]), entry.size - 1) : entry.size - 1
      } else {
        start = Math.max(0, entry.size - Number(range[2]))
      }
      if (start >= entry.size || start > end) {
        res.writeHead(416, { 'content-range': `bytes */${entry.size}` })
        return void res.end()
      }
      status = 206
      headers['content-range'] = `bytes ${start}-${end}/${entry.size}`
    }
    const length = entry.size === 0 ? 0 : end - start + 1
    headers['content-length'] = length
    res.writeHead(status, headers)
    if (req.method === 'HEAD' || length === 0) return void res.end()
    const source = createReadStream(entry.blob, { start, end })
    if (faults.download === 'truncate') return sendTruncated(res, source, Math.floor(length / 2))
    await pipeline(source, res)
  }

  // ---- the handle ----------------------------------------------------------------------------

  const env: Record<string, string> =
    protocol === 'v2'
      ? {
          ACTIONS_CACHE_SERVICE_V2: 'true',
          ACTIONS_RESULTS_URL: `${url}/`,
          ACTIONS_RUNTIME_TOKEN: token,
          GITHUB_SERVER_URL: 'https://github.com'
        }
      : {
          ACTIONS_CACHE_SERVICE_V2: '',
          ACTIONS_CACHE_URL: `${url}/`,
          ACTIONS_RUNTIME_TOKEN: token,
          GITHUB_SERVER_URL: 'https://ghes.example.test'
        }
  for (const name of ['RUNNER_TEMP', 'GITHUB_WORKSPACE']) {
    if (process.env[name]) continue
    const dir = join(root, name.toLowerCase())
    await mkdir(dir)
    env[name] = dir
  }

  let stopping: Promise<void> | undefined
  return {
    protocol,
    url,
    env,
    faults,
    dir: root,
    blobStoreUrl: azurite ? `${azurite.url}/${ACCOUNT}` : undefined,
    entries: async () =>
      entries
        .filter((e) => e.committed)
        .sort((a, b) => a.created.getTime() - b.created.getTime() || a.id - b.id)
        .map(({ key, version, size }) => ({ key, version, size })),
    requests: () => log.map((r) => ({ ...r })),
    stop: () => (stopping ??= cleanup())
  }
}
