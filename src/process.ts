// The one way warmstart starts a process, in two shapes that share one error shape (what failed,
// its exit code, the end of its stderr):
// - runCommand: a command run to completion with its output collected, through @actions/exec
//   (which also echoes into the Action's log when asked). It is a CommandRunner: the seam the
//   unit tests replace with a played host (__tests__/fakes/fake-host.ts).
// - runShell: a user's shell command (the warm-up, `cmd:` probes), each output line handed on.
// - startPipeline: a process that moves bytes (tar, zstd, find's listing), its stdin and stdout
//   wired by the caller. These decide nothing; the tests run them for real.
import * as exec from '@actions/exec'
import { spawn, type ChildProcess } from 'node:child_process'

export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface CommandOptions {
  /** Added to the inherited environment. */
  env?: Record<string, string>
  /** Written to the command's stdin. */
  input?: string
  /** Echo the output into the log as it comes (the Action's log); silent otherwise. */
  echo?: boolean
}

/** Runs one command to completion; never throws for a non-zero exit. */
export type CommandRunner = (argv: string[], options?: CommandOptions) => Promise<CommandResult>

export const runCommand: CommandRunner = async (argv, options = {}) => {
  const [file, ...args] = argv
  const env = options.env
    ? { ...(process.env as Record<string, string>), ...options.env }
    : undefined
  const result = await exec.getExecOutput(file as string, args, {
    ignoreReturnCode: true,
    silent: !options.echo,
    env,
    input: options.input === undefined ? undefined : Buffer.from(options.input)
  })
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }
}

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
