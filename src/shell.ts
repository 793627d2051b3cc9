// The seam to host shell commands (warm-up, `cmd:` readiness probes): run with `sh -c`, an added
// environment, and each output line handed to a callback as it comes.
import * as exec from '@actions/exec'

export interface ShellOptions {
  /** Added to the inherited environment. */
  env?: Record<string, string>
  /** Receives every line the command prints, stdout and stderr alike. */
  onLine?: (line: string) => void
}

/** Runs `sh -c COMMAND`; returns its exit code. */
export async function runShell(command: string, options: ShellOptions = {}): Promise<number> {
  const onLine = options.onLine ?? (() => undefined)
  return exec.exec('sh', ['-c', command], {
    ignoreReturnCode: true,
    silent: true,
    env: { ...(process.env as Record<string, string>), ...options.env },
    listeners: { stdline: onLine, errline: onLine }
  })
}
