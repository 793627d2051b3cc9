// The one way warmstart starts a process, in two shapes that share one error shape (what failed,
// its exit code, the end of its stderr):
// - runCommand: a command run to completion with its output collected (echoed into the log when
//   asked), stopped at a time limit when given one. It is a CommandRunner: the seam the unit tests
//   replace with a played host (__tests__/fakes/fake-host.ts).
// - runShell: a user's shell command (the warm-up, `cmd:` probes), each output line handed on.
// - startPipeline: a process that moves bytes (tar, zstd, find's listing), its stdin and stdout
//   wired by the caller. These decide nothing; the tests run them for real.
import * as exec from '@actions/exec'
import { spawn, type ChildProcess } from 'node:child_process'

export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
  /** It ran past its time limit and was stopped (exitCode is then 124, as timeout(1) says). */
  timedOut?: boolean
}

export interface CommandOptions {
  /** Added to the inherited environment. */
  env?: Record<string, string>
  /** Written to the command's stdin. */
  input?: string
  /** Echo the output into the log as it comes (the Action's log); silent otherwise. */
  echo?: boolean
  /**
   * Stop it after this many seconds: SIGTERM (which sudo passes on), then SIGKILL. What it
   * started and left behind (a runtime, CRIU) is for the caller to remove.
   */
  timeoutSeconds?: number
}

/** Runs one command to completion; never throws for a non-zero exit or a time-out. */
export type CommandRunner = (argv: string[], options?: CommandOptions) => Promise<CommandResult>

/** How long a stopped command gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5000

export const runCommand: CommandRunner = (argv, options = {}) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv
    const env = options.env ? { ...process.env, ...options.env } : process.env
    const child = spawn(file as string, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text
      if (options.echo) process.stdout.write(text)
    })
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text
      if (options.echo) process.stderr.write(text)
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
    let timedOut = false
    const timers: NodeJS.Timeout[] = []
    const finish = (exitCode: number): void => {
      for (const timer of timers) clearTimeout(timer)
      resolve({ exitCode, stdout, stderr, ...(timedOut ? { timedOut } : {}) })
    }
    if (options.timeoutSeconds !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true
          child.kill('SIGTERM')
          timers.push(setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS))
          // What it started may hold its output open: do not wait for that once it has exited.
          child.once('exit', () => {
            child.stdout.destroy()
            child.stderr.destroy()
            finish(124)
          })
        }, options.timeoutSeconds * 1000)
      )
    }
    child.once('error', (error) => {
      for (const timer of timers) clearTimeout(timer)
      reject(new Error(`${file}: cannot start: ${error.message}`))
    })
    child.once('close', (code, signal) => {
      if (timedOut) return finish(124)
      finish(code ?? (signal ? 128 : 1))
    })
  })

/** `what failed (exit N): the last lines it printed` */
export function describeFailure(what: string, exitCode: number | null, stderr: string): string {
  const said = stderr.trim().split('\n').slice(-4).join('\n')
  return `${what} failed (exit ${exitCode})${said ? `: ${said}` : ''}`
}

export interface Pipeline {
  child: ChildProcess
  /** Resolves when it exits 0; else rejects with describeFailure's message. */
  exited: Promise<void>
}

/** Starts a process whose stdin and stdout the caller wires; `what` names it in errors. */
export function startPipeline(
  argv: string[],
  what: string,
  stdio: { stdin?: 'pipe' | 'ignore'; stdout?: 'pipe' | 'ignore' | number } = {}
): Pipeline {
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: [stdio.stdin ?? 'ignore', stdio.stdout ?? 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr?.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (error) => reject(new Error(`${what}: cannot start: ${error.message}`)))
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(describeFailure(what, code, stderr)))
    )
  })
  // Awaited by the caller; until then a failure must not go unhandled.
  exited.catch(() => undefined)
  return { child, exited }
}

/** Runs a process to completion and returns its stdout as bytes (paths are bytes, not text). */
export async function collectOutput(argv: string[], what: string): Promise<Buffer> {
  const { child, exited } = startPipeline(argv, what)
  const chunks: Buffer[] = []
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk))
  await exited
  return Buffer.concat(chunks)
}

export interface ShellOptions {
  /** Added to the inherited environment. */
  env?: Record<string, string>
  /** Receives every line the command prints, stdout and stderr alike. */
  onLine?: (line: string) => void
}

/** Runs `sh -c COMMAND` (a warm-up, a `cmd:` probe); returns its exit code. */
export async function runShell(command: string, options: ShellOptions = {}): Promise<number> {
  const onLine = options.onLine ?? (() => undefined)
  return exec.exec('sh', ['-c', command], {
    ignoreReturnCode: true,
    silent: true,
    env: { ...(process.env as Record<string, string>), ...options.env },
    listeners: { stdline: onLine, errline: onLine }
  })
}
