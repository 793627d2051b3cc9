// Seconds spent in each phase of `up`, for the log, the CLI's --json and the job summary.

export type Phase =
  | 'pull'
  | 'lookup'
  | 'unpack'
  | 'restore'
  | 'start'
  | 'ready'
  | 'warmup'
  | 'refresh'
  | 'checkpoint'
  | 'resume'
  | 'volumes'
  | 'compress'
  | 'assemble'
  | 'store'

export type PhaseTimings = Partial<Record<Phase, number>>

export class Timings {
  private readonly started = performance.now()
  private readonly spent: PhaseTimings = {}

  /** Runs `work` and adds its duration to `phase` (a phase may run more than once). */
  async time<T>(phase: Phase, work: () => Promise<T>): Promise<T> {
    const start = performance.now()
    try {
      return await work()
    } finally {
      this.spent[phase] = round((this.spent[phase] ?? 0) + (performance.now() - start) / 1000)
    }
  }

  sinceStart(): number {
    return round((performance.now() - this.started) / 1000)
  }

  phases(): PhaseTimings {
    return { ...this.spent }
  }
}

/** `start 1.2 s, ready 0.3 s`: the phases as the log, the CLI and the job summary show them. */
export function describePhases(timings: PhaseTimings): string {
  return Object.entries(timings)
    .map(([phase, seconds]) => `${phase} ${(seconds as number).toFixed(1)} s`)
    .join(', ')
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000
}
