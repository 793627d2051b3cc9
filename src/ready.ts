// Readiness: when a started or restored service answers. A probe is parsed once (pure), then
// polled until it passes, the container stops, or the timeout runs out.
import { Socket } from 'node:net'
import type { Podman } from './podman.js'
import { runShell } from './process.js'
import { hostPorts } from './spec.js'

export type Probe =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'http'; url: string }
  | { kind: 'exec'; command: string }
  | { kind: 'cmd'; command: string }
  | { kind: 'running' }

/** The probe a spec asks for; without one, TCP on the first published port, else "running". */
export function parseProbe(ready: string, ports: string[]): Probe {
  if (ready.startsWith('tcp://')) {
    const match = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(ready)
    if (!match) throw new Error(`ready: "${ready}" is not tcp://HOST:PORT`)
    return {
      kind: 'tcp',
      host: (match[1] as string).replace(/^\[|\]$/g, ''),
      port: Number(match[2])
    }
  }
  if (/^https?:\/\//.test(ready)) return { kind: 'http', url: ready }
  if (ready.startsWith('exec:')) return { kind: 'exec', command: ready.slice(5).trim() }
  if (ready.startsWith('cmd:')) return { kind: 'cmd', command: ready.slice(4).trim() }
  const first = hostPorts(ports)[0]
  if (!first) return { kind: 'running' }
  // A port published on every address is reached on loopback; one bound to an address, there.
  const host = !first.address || first.address === '0.0.0.0' ? '127.0.0.1' : first.address
  return { kind: 'tcp', host, port: first.host }
}

export function describeProbe(probe: Probe): string {
  switch (probe.kind) {
    case 'tcp':
      return `tcp://${probe.host.includes(':') ? `[${probe.host}]` : probe.host}:${probe.port}`
    case 'http':
      return probe.url
    case 'exec':
      return `exec:${probe.command}`
    case 'cmd':
      return `cmd:${probe.command}`
    case 'running':
      return 'container running'
  }
}

export interface ProbeContext {
  podman: Podman
  container: string
  /** Environment for `cmd:` probes (the same one the warm-up sees). */
  env: Record<string, string>
}

/** One attempt: resolves true when the service answered. */
export async function probeOnce(probe: Probe, context: ProbeContext): Promise<boolean> {
  switch (probe.kind) {
    case 'tcp':
      return tcpConnects(probe.host, probe.port)
    case 'http':
      return httpAnswers2xx(probe.url)
    case 'exec':
      return (
        (await context.podman.exec(context.container, ['sh', '-c', probe.command])).exitCode === 0
      )
    case 'cmd':
      return (await runShell(probe.command, { env: context.env })) === 0
    case 'running':
      return (await context.podman.inspectContainer(context.container)).State.Running
  }
}

export class NotReadyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NotReadyError'
  }
}

/**
 * Polls until the probe passes. Fails early when the container stops, and on timeout; both
 * errors carry the container's last log lines, where the reason usually is.
 */
export async function waitUntilReady(
  probe: Probe,
  context: ProbeContext,
  timeoutSeconds: number
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000
  for (let attempt = 0; ; attempt++) {
    if (await probeOnce(probe, context).catch(() => false)) return
    const state = (await context.podman.inspectContainer(context.container)).State
    if (!state.Running) {
      throw new NotReadyError(
        `${context.container} stopped (${state.Status}, exit code ${state.ExitCode}) before ${describeProbe(probe)} answered. Last log lines:\n${await context.podman.logs(context.container)}`
      )
    }
    if (Date.now() > deadline) {
      throw new NotReadyError(
        `${context.container} did not answer ${describeProbe(probe)} within ${timeoutSeconds} s (raise ready-timeout if it needs longer). Last log lines:\n${await context.podman.logs(context.container)}`
      )
    }
    // Fast at first (a restored service answers at once), then gentler.
    await sleep(attempt < 20 ? 100 : 500)
  }
}

function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2000, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, host, () => done(true))
  })
}

async function httpAnswers2xx(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
  await response.body?.cancel()
  return response.status >= 200 && response.status < 300
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
