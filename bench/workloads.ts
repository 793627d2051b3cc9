// The fixed first workload of each scenario: a few hundred representative requests, sent one
// after the other through one client, right after the first query. What a test suite does in
// its first seconds, and where a service restored with its memory (caches, buffers, compiled
// code) should pay off against one started on a copied data directory. Every peer gets the same
// requests; the answer is a digest of every reply, so the peers can be checked to agree.
import { createHash } from 'node:crypto'
import { Socket } from 'node:net'
import { describeFailure, runCommand } from '../src/process.js'

export interface WorkloadResult {
  /** How many requests it sent. */
  requests: number
  /** Wall-clock seconds from the first request to the last reply (client start included). */
  seconds: number
  /** A digest of every reply, in order. */
  answer: string
}

/** `count` numbers spread evenly over 1..`max`, the same on every run (no randomness). */
export function spread(count: number, max: number): number[] {
  const step = Math.max(1, Math.floor(max / count))
  // An odd stride over the range visits it out of order, as a test suite's queries would.
  return Array.from({ length: count }, (_, i) => 1 + ((i * step * 7) % max))
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}

/** Runs a command-line client with the requests on its stdin; times it end to end. */
async function clientWorkload(argv: string[], requests: string[]): Promise<WorkloadResult> {
  const start = performance.now()
  const result = await runCommand(argv, { input: requests.join('\n') + '\n' })
  const seconds = (performance.now() - start) / 1000
  if (result.exitCode !== 0) {
    throw new Error(describeFailure(`workload (${argv[0]})`, result.exitCode, result.stderr))
  }
  return { requests: requests.length, seconds, answer: digest(result.stdout) }
}

export function psqlWorkload(port: number, statements: string[]): Promise<WorkloadResult> {
  return clientWorkload(
    [
      'psql',
      ...['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-X', '-q', '-At'],
      ...['-v', 'ON_ERROR_STOP=1']
    ],
    statements
  )
}

export function mariadbWorkload(port: number, statements: string[]): Promise<WorkloadResult> {
  return clientWorkload(
    ['mariadb', '-h', '127.0.0.1', '-P', String(port), '-uroot', '-N', '-B'],
    statements
  )
}

/** redis-cli reads one command per line from stdin and sends them one at a time. */
export function redisWorkload(port: number, commands: string[]): Promise<WorkloadResult> {
  return clientWorkload(['redis-cli', '-h', '127.0.0.1', '-p', String(port)], commands)
}

/** `get KEY` for every key, one at a time on one connection. */
export function memcachedWorkload(port: number, keys: string[]): Promise<WorkloadResult> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    const hash = createHash('sha256')
    let reply = ''
    let next = 0
    let start = 0
    const fail = (error: Error): void => {
      socket.destroy()
      reject(error)
    }
    const send = (): void => {
      socket.write(`get ${keys[next] as string}\r\n`)
    }
    socket.setTimeout(60_000, () => fail(new Error(`memcached on port ${port}: no reply in 60 s`)))
    socket.once('error', fail)
    socket.connect(port, '127.0.0.1', () => {
      start = performance.now()
      send()
    })
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8')
      if (/^(SERVER_|CLIENT_)?ERROR/.test(reply)) return fail(new Error(`memcached: ${reply}`))
      if (!reply.endsWith('END\r\n')) return
      hash.update(reply)
      reply = ''
      next += 1
      if (next < keys.length) return send()
      const seconds = (performance.now() - start) / 1000
      socket.end()
      resolve({ requests: keys.length, seconds, answer: hash.digest('hex').slice(0, 16) })
    })
  })
}

/** GET every path in turn on one keep-alive connection. */
export async function httpWorkload(port: number, paths: string[]): Promise<WorkloadResult> {
  const { Agent } = await import('node:http')
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const hash = createHash('sha256')
  const start = performance.now()
  try {
    for (const path of paths) {
      const body = await httpGet(port, path, agent)
      hash.update(body)
    }
  } finally {
    agent.destroy()
  }
  const seconds = (performance.now() - start) / 1000
  return { requests: paths.length, seconds, answer: hash.digest('hex').slice(0, 16) }
}

async function httpGet(
  port: number,
  path: string,
  agent: import('node:http').Agent
): Promise<string> {
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (text: string) => (body += text))
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(body)
          : reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`))
      )
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${path}: no answer in 30 s`)))
    req.on('error', reject)
    req.end()
  })
}
