// Applying a CacheDouble's `env`: @actions/cache reads its variables at call time, so a test
// either sets them around the calls in its own process or hands them to a child process.
// An empty value means "unset" (@actions/cache reads an empty variable as unset).

/** Runs `fn` with `env` applied to process.env, then puts back exactly what was there. */
export async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map<string, string | undefined>()
  for (const [name, value] of Object.entries(env)) {
    saved.set(name, process.env[name])
    if (value === '') delete process.env[name]
    else process.env[name] = value
  }
  try {
    return await fn()
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

/** This process's environment with `env` applied, for `spawn(..., { env: childEnv(env) })`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = { ...process.env }
  for (const [name, value] of Object.entries(env)) {
    if (value === '') delete result[name]
    else result[name] = value
  }
  return result
}
