// The first query a test suite sends, timed on the server's side of the client: psql's own
// `\timing` for PostgreSQL, MariaDB's query profile, and the round trip of one command on an
// open connection for Redis.
// Process start-up and connecting are left out, so the numbers show the service's caches.
import { Socket } from 'node:net'
import { describeFailure, runCommand } from '../src/process.js'

/** Runs a client to completion; its stdout, or an error with what it said. */
async function run(argv: string[]): Promise<{ stdout: string }> {
  const result = await runCommand(argv)
  if (result.exitCode !== 0)
    throw new Error(describeFailure(argv[0] as string, result.exitCode, result.stderr))
  return { stdout: result.stdout }
}

export interface QueryResult {
  /** The query's latency in milliseconds. */
  ms: number
  /** What it returned, to check that every peer serves the same data. */
  answer: string
}

export async function psqlTimed(port: number, sql: string): Promise<QueryResult> {
  const { stdout } = await run([
    'psql',
    ...['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-X', '-q', '-At'],
    ...['-v', 'ON_ERROR_STOP=1', '-c', '\\timing on', '-c', sql]
  ])
  const lines = stdout.trim().split('\n')
  const time = lines.map((line) => /^Time: ([\d.]+) ms/.exec(line)?.[1]).find(Boolean)
  if (!time) throw new Error(`psql printed no timing for ${sql}: ${stdout.trim()}`)
  const answer = lines.filter((line) => !line.startsWith('Time: ')).join('\n')
  return { ms: Number(time), answer }
}

/** Runs `sql` with MariaDB's profiling on; its latency is the server's own Duration of it. */
export async function mariadbTimed(port: number, sql: string): Promise<QueryResult> {
  const { stdout } = await run([
    'mariadb',
    ...['-h', '127.0.0.1', '-P', String(port), '-uroot', '-N', '-B'],
    ...['-e', `SET profiling = 1; ${sql}; SHOW PROFILES`]
  ])
  const lines = stdout.trim().split('\n')
  // SHOW PROFILES prints `Query_ID <tab> Duration <tab> Query` for each statement profiled.
  const profile = lines.map((line) => line.split('\t')).find((fields) => fields[2] === sql)
  if (!profile) throw new Error(`mariadb printed no profile for ${sql}: ${stdout.trim()}`)
  const answer = lines.filter((line) => !/^\d+\t[\d.]+\t/.test(line)).join('\n')
  return { ms: Number(profile[1]) * 1000, answer }
}

/** Sends one command on a fresh connection; times it from the write to the complete reply. */
export function redisTimed(port: number, args: string[]): Promise<QueryResult> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    let reply = Buffer.alloc(0)
    let start = 0
    const fail = (error: Error): void => {
      socket.destroy()
      reject(error)
    }
    socket.setTimeout(30_000, () => fail(new Error(`redis on port ${port}: no reply in 30 s`)))
    socket.once('error', fail)
    socket.connect(port, '127.0.0.1', () => {
      start = performance.now()
      socket.write(encodeCommand(args))
    })
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk])
      const parsed = parseReply(reply)
      if (parsed === undefined) return
      const ms = performance.now() - start
      socket.end()
      if (parsed.error) reject(new Error(`redis ${args[0]}: ${parsed.value}`))
      else resolve({ ms, answer: parsed.value })
    })
  })
}

export function encodeCommand(args: string[]): string {
  const parts = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`)
  return `*${args.length}\r\n${parts.join('')}`
}

/** A complete simple, error, integer or bulk reply; undefined while more bytes are due. */
export function parseReply(buffer: Buffer): { value: string; error: boolean } | undefined {
  const end = buffer.indexOf('\r\n')
  if (end < 0) return undefined
  const line = buffer.subarray(1, end).toString('utf8')
  switch (String.fromCharCode(buffer[0] ?? 0)) {
    case '+':
    case ':':
      return { value: line, error: false }
    case '-':
      return { value: line, error: true }
    case '$': {
      const length = Number(line)
      if (length < 0) return { value: '(nil)', error: false }
      if (buffer.length < end + 2 + length + 2) return undefined
      return { value: buffer.subarray(end + 2, end + 2 + length).toString('utf8'), error: false }
    }
    default:
      return { value: `unsupported reply: ${buffer.toString('utf8', 0, 40)}`, error: true }
  }
}

/** `get KEY` in memcached's text protocol on a fresh connection; the value, or (miss). */
export function memcachedTimed(port: number, key: string): Promise<QueryResult> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    let reply = ''
    let start = 0
    const fail = (error: Error): void => {
      socket.destroy()
      reject(error)
    }
    socket.setTimeout(30_000, () => fail(new Error(`memcached on port ${port}: no reply in 30 s`)))
    socket.once('error', fail)
    socket.connect(port, '127.0.0.1', () => {
      start = performance.now()
      socket.write(`get ${key}\r\n`)
    })
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8')
      if (!reply.endsWith('END\r\n') && !/^(SERVER_|CLIENT_)?ERROR/.test(reply)) return
      const ms = performance.now() - start
      socket.end()
      // VALUE <key> <flags> <bytes>\r\n<data>\r\nEND\r\n
      const value = /^VALUE \S+ \d+ \d+\r\n([\s\S]*)\r\nEND\r\n$/.exec(reply)?.[1]
      if (reply.startsWith('END')) resolve({ ms, answer: '(miss)' })
      else if (value === undefined) reject(new Error(`memcached get ${key}: ${reply.trim()}`))
      else resolve({ ms, answer: value })
    })
  })
}

/** One GET on a fresh connection, timed from the request to the whole response. */
export async function httpTimed(port: number, path: string): Promise<QueryResult> {
  const start = performance.now()
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(60_000)
  })
  const answer = (await response.text()).trim()
  const ms = performance.now() - start
  if (!response.ok) throw new Error(`GET ${path} on port ${port}: ${response.status} ${answer}`)
  return { ms, answer }
}

/**
 * Requests per second, second by second, for `seconds` seconds: `connections` keep-alive clients
 * each sending GET `path` as soon as the last answer came. What a test suite's first seconds look
 * like to a JVM service: per-second counts show how fast it reaches its compiled speed.
 */
export async function httpThroughput(
  port: number,
  path: string,
  seconds: number,
  connections = 4
): Promise<number[]> {
  const { Agent, request } = await import('node:http')
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const counts = new Array<number>(seconds).fill(0)
  const start = performance.now()
  const end = start + seconds * 1000
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume()
        res.on('end', () => {
          const second = Math.floor((performance.now() - start) / 1000)
          if (second < seconds && res.statusCode === 200) counts[second] = (counts[second] ?? 0) + 1
          resolve()
        })
      })
      req.setTimeout(30_000, () => req.destroy(new Error(`GET ${path}: no answer in 30 s`)))
      req.on('error', reject)
      req.end()
    })
  const client = async (): Promise<void> => {
    while (performance.now() < end) await one()
  }
  try {
    await Promise.all(Array.from({ length: connections }, client))
  } finally {
    agent.destroy()
  }
  return counts
}
