import { afterEach, describe, expect, test } from '@jest/globals'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type AddressInfo, type Server } from 'node:net'
import type { CommandResult, ContainerInfo, Podman } from '../../src/podman.js'
import {
  NotReadyError,
  describeProbe,
  parseProbe,
  waitUntilReady,
  type Probe
} from '../../src/ready.js'

describe('parseProbe', () => {
  test.each<[string, string[], Probe]>([
    ['tcp://127.0.0.1:5432', [], { kind: 'tcp', host: '127.0.0.1', port: 5432 }],
    ['tcp://db.internal:3306', ['15432:5432'], { kind: 'tcp', host: 'db.internal', port: 3306 }],
    ['tcp://localhost:6379/', [], { kind: 'tcp', host: 'localhost', port: 6379 }],
    ['tcp://[::1]:5432', [], { kind: 'tcp', host: '::1', port: 5432 }],
    ['http://127.0.0.1:8080/health', [], { kind: 'http', url: 'http://127.0.0.1:8080/health' }],
    ['https://localhost/ready?x=1', [], { kind: 'http', url: 'https://localhost/ready?x=1' }],
    ['exec:pg_isready -q', [], { kind: 'exec', command: 'pg_isready -q' }],
    ['exec: redis-cli ping ', [], { kind: 'exec', command: 'redis-cli ping' }],
    [
      'cmd:pg_isready -h 127.0.0.1 -p 15432',
      [],
      { kind: 'cmd', command: 'pg_isready -h 127.0.0.1 -p 15432' }
    ],
    ['', ['15432:5432', '16379:6379'], { kind: 'tcp', host: '127.0.0.1', port: 15432 }],
    ['', ['127.0.0.1:15432:5432'], { kind: 'tcp', host: '127.0.0.1', port: 15432 }],
    ['', ['13306:3306/tcp'], { kind: 'tcp', host: '127.0.0.1', port: 13306 }],
    ['', [], { kind: 'running' }]
  ])('%j with ports %j', (ready, ports, probe) => {
    expect(parseProbe(ready, ports)).toEqual(probe)
  })

  test.each([
    'tcp://127.0.0.1',
    'tcp://:5432',
    'tcp://db:port',
    'tcp://db:5432/x',
    'tcp://::1:5432',
    'tcp://',
    'tcp://db:5432:1'
  ])('%j throws', (ready) => {
    expect(() => parseProbe(ready, ['15432:5432'])).toThrow(
      `ready: "${ready}" is not tcp://HOST:PORT`
    )
  })

  // Regression (was a bug): the default probe always dials 127.0.0.1, even when the first port
  // is published on another address only; such a service never answers the probe and `up` waits
  // for the whole ready-timeout, then fails. The bind address (other than 0.0.0.0) should be used.
  test.each<[string, string]>([
    ['[::1]:15432:5432', '::1'],
    ['10.88.0.1:15432:5432', '10.88.0.1']
  ])('the default probe for %s dials %s', (port, host) => {
    expect(parseProbe('', [port])).toEqual({ kind: 'tcp', host, port: 15432 })
  })
})

describe('describeProbe', () => {
  test.each<[Probe, string]>([
    [{ kind: 'tcp', host: '127.0.0.1', port: 15432 }, 'tcp://127.0.0.1:15432'],
    [{ kind: 'tcp', host: 'db.internal', port: 3306 }, 'tcp://db.internal:3306'],
    [{ kind: 'http', url: 'https://localhost/health' }, 'https://localhost/health'],
    [{ kind: 'exec', command: 'redis-cli ping' }, 'exec:redis-cli ping'],
    [{ kind: 'cmd', command: 'pg_isready -q' }, 'cmd:pg_isready -q'],
    [{ kind: 'running' }, 'container running']
  ])('%j -> %j', (probe, text) => {
    expect(describeProbe(probe)).toBe(text)
  })

  test.each([
    'tcp://127.0.0.1:5432',
    'tcp://localhost:6379',
    'http://127.0.0.1:8080/',
    'exec:pg_isready -q',
    'cmd:true'
  ])('%j reads back as itself', (ready) => {
    expect(describeProbe(parseProbe(ready, []))).toBe(ready)
  })

  // Regression (was a bug): an IPv6 host is written without its brackets, `tcp://::1:5432`,
  // which is not a valid address and which parseProbe itself rejects; it should be
  // `tcp://[${host}]:${port}` when the host contains a colon.
  test('tcp://[::1]:5432 reads back as itself', () => {
    expect(describeProbe(parseProbe('tcp://[::1]:5432', []))).toBe('tcp://[::1]:5432')
  })
})

type State = ContainerInfo['State']

/** A Podman that only answers inspectContainer, logs and exec, and counts the calls. */
function fakePodman(state: State, logs = 'LOG: database system is ready to accept connections') {
  const calls = { inspect: 0, logs: 0, exec: [] as string[][] }
  let execExitCode = 1
  const podman = {
    inspectContainer: async (container: string): Promise<ContainerInfo> => {
      calls.inspect++
      return { Id: 'f'.repeat(64), Name: container, Image: 'i', State: state }
    },
    logs: async (): Promise<string> => {
      calls.logs++
      return logs
    },
    exec: async (_container: string, command: string[]): Promise<CommandResult> => {
      calls.exec.push(command)
      return { exitCode: execExitCode, stdout: '', stderr: '' }
    }
  } as unknown as Podman
  return {
    podman,
    calls,
    answerExec: (exitCode: number) => {
      execExitCode = exitCode
    }
  }
}

const running: State = { Status: 'running', Running: true, Pid: 4242, ExitCode: 0 }
const exited: State = { Status: 'exited', Running: false, Pid: 0, ExitCode: 3 }

const context = (podman: Podman) => ({ podman, container: 'pg', env: {} })

const servers: Array<{ close: (done: () => void) => void; closeAllConnections?: () => void }> = []
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections?.()
      return new Promise<void>((done) => server.close(() => done()))
    })
  )
})

/** A TCP port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((done) => server.close(() => done()))
  return port
}

describe('waitUntilReady', () => {
  test('a running probe passes at once for a running container', async () => {
    const fake = fakePodman(running)
    await expect(
      waitUntilReady({ kind: 'running' }, context(fake.podman), 5)
    ).resolves.toBeUndefined()
  })

  // Regression (was a bug): the `running` probe (the default when no port is
  // published) returns true without looking at the container, so waitUntilReady reports a
  // container that has already exited as ready. It should return
  // `(await context.podman.inspectContainer(context.container)).State.Running`, or waitUntilReady
  // should inspect the state before it returns.
  test('a running probe fails for a container that has exited', async () => {
    const fake = fakePodman(exited)
    await expect(waitUntilReady({ kind: 'running' }, context(fake.podman), 5)).rejects.toThrow(
      NotReadyError
    )
  })

  test('a tcp probe waits until the port starts listening', async () => {
    const port = await closedPort()
    const server: Server = createServer((socket) => socket.destroy())
    servers.push(server)
    const started = Date.now()
    const timer = setTimeout(() => server.listen(port, '127.0.0.1'), 300)
    try {
      const fake = fakePodman(running)
      await waitUntilReady({ kind: 'tcp', host: '127.0.0.1', port }, context(fake.podman), 10)
      const elapsed = Date.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(290)
      expect(elapsed).toBeLessThan(3000)
      expect(server.listening).toBe(true)
      expect(fake.calls.inspect).toBeGreaterThanOrEqual(2)
      expect(fake.calls.logs).toBe(0)
    } finally {
      clearTimeout(timer)
    }
  })

  test('a tcp probe to a closed port times out with the probe and the log lines', async () => {
    const port = await closedPort()
    const fake = fakePodman(running, 'FATAL: could not bind IPv4 address')
    const started = Date.now()
    const error = await waitUntilReady(
      { kind: 'tcp', host: '127.0.0.1', port },
      context(fake.podman),
      1
    ).catch((e: unknown) => e)
    const elapsed = Date.now() - started
    expect(error).toBeInstanceOf(NotReadyError)
    const text = (error as Error).message
    expect(text).toContain(`pg did not answer tcp://127.0.0.1:${port} within 1 s`)
    expect(text).toContain('FATAL: could not bind IPv4 address')
    expect(elapsed).toBeGreaterThanOrEqual(1000)
    expect(elapsed).toBeLessThan(4000)
  })

  test('a stopped container fails fast with its exit code and log lines', async () => {
    const port = await closedPort()
    const fake = fakePodman(exited, 'initdb: error: invalid locale settings')
    const started = Date.now()
    const error = await waitUntilReady(
      { kind: 'tcp', host: '127.0.0.1', port },
      context(fake.podman),
      30
    ).catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(error).toBeInstanceOf(NotReadyError)
    const text = (error as Error).message
    expect(text).toContain('pg stopped (exited, exit code 3)')
    expect(text).toContain(`before tcp://127.0.0.1:${port} answered`)
    expect(text).toContain('initdb: error: invalid locale settings')
    expect(fake.calls.inspect).toBe(1)
  })

  test('an exec probe runs sh -c in the container until it exits 0', async () => {
    const fake = fakePodman(running)
    const timer = setTimeout(() => fake.answerExec(0), 250)
    try {
      await waitUntilReady({ kind: 'exec', command: 'pg_isready -q' }, context(fake.podman), 10)
    } finally {
      clearTimeout(timer)
    }
    expect(fake.calls.exec.length).toBeGreaterThanOrEqual(2)
    expect(fake.calls.exec[0]).toEqual(['sh', '-c', 'pg_isready -q'])
  })

  test.each([
    [204, 'resolves'],
    [503, 'rejects']
  ])('an http probe answered %d %s', async (status, outcome) => {
    const server = createHttpServer((_request, response) => {
      response.statusCode = status
      response.end()
    })
    servers.push(server)
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    const { port } = server.address() as AddressInfo
    const fake = fakePodman(running)
    const waiting = waitUntilReady(
      { kind: 'http', url: `http://127.0.0.1:${port}/health` },
      context(fake.podman),
      1
    )
    if (outcome === 'resolves') await expect(waiting).resolves.toBeUndefined()
    else await expect(waiting).rejects.toThrow(`within 1 s`)
  })
})
