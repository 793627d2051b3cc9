// How the engine talks to a person: the action logs through @actions/core, the command line to
// the terminal. Modules receive a Logger and never print by themselves.
export interface Logger {
  debug(message: string): void
  info(message: string): void
  warning(message: string): void
  /** Runs `work` as one titled, collapsible phase of the log. */
  group<T>(title: string, work: () => Promise<T>): Promise<T>
}

/** For the command line: progress on stderr, so that stdout carries only results (`--json`). */
export function consoleLogger(options: { verbose?: boolean } = {}): Logger {
  const write = (line: string): void => void process.stderr.write(`${line}\n`)
  return {
    debug: (message) => (options.verbose ? write(`  debug: ${message}`) : undefined),
    info: (message) => write(message),
    warning: (message) => write(`warning: ${message}`),
    group: async (title, work) => {
      write(`==> ${title}`)
      return work()
    }
  }
}

/** Says nothing: for callers that only want results. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warning: () => undefined,
  group: (_title, work) => work()
}
