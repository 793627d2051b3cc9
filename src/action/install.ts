// The `install` input: prepare a GitHub-hosted Ubuntu runner (or another Debian-family machine)
// for checkpoints by running scripts/install-runner.sh. What to ask the script for is a pure
// decision (planInstall); prepareRunner reads the host, runs the script and points warmstart's own
// podman calls at the containers.conf the script wrote. Nothing here fails the job: a runner that
// cannot be prepared starts its services cold, with a warning that says why.
import * as core from '@actions/core'
import { accessSync, constants, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCommand } from '../process.js'

/** Where the script writes podman's configuration for warmstart's calls (root-owned, ours). */
export const WARMSTART_CONTAINERS_CONF = '/etc/warmstart/containers.conf'

export interface InstallFacts {
  /** The `install` input. */
  install: boolean
  /** The text of /etc/os-release; undefined when there is none. */
  osRelease?: string
  /** Whether each command is on PATH or in an sbin directory. */
  present: { podman: boolean; runc: boolean; criu: boolean }
  /**
   * CONTAINERS_CONF or CONTAINERS_CONF_OVERRIDE as the job set it: the user's own choice, which
   * warmstart leaves alone.
   */
  containersConf?: string
}

export type InstallPlan =
  { run: false; reason: string } | { run: true; summary: string; args: string[] }

/** The containers.conf warmstart's podman calls use, and the variable that points podman at it. */
export interface ContainersConf {
  /** CONTAINERS_CONF_OVERRIDE (podman >= 4.5: layered over the runner's own configuration) or CONTAINERS_CONF. */
  variable: 'CONTAINERS_CONF' | 'CONTAINERS_CONF_OVERRIDE'
  path: string
}

export interface InstallResult {
  ok: boolean
  reason: string
  /** The containers.conf warmstart's podman calls must use, if the script wrote one. */
  containersConf?: ContainersConf
}

/** What to ask scripts/install-runner.sh for, or why to leave the runner alone. */
export function planInstall(facts: InstallFacts): InstallPlan {
  if (!facts.install) return { run: false, reason: 'install: false, the runner is used as it is' }
  if (facts.osRelease === undefined) {
    return { run: false, reason: `no /etc/os-release: ${NOT_SUPPORTED}` }
  }
  const os = parseOsRelease(facts.osRelease)
  const family = ['ubuntu', 'debian'].find((id) => os.ID === id || os.ID_LIKE.includes(id))
  const name = os.PRETTY_NAME || os.ID || 'this system'
  if (!family) return { run: false, reason: `${name} is not Ubuntu or Debian: ${NOT_SUPPORTED}` }

  const args: string[] = []
  const missing: string[] = []
  for (const command of ['podman', 'runc'] as const) {
    if (facts.present[command]) continue
    args.push('--apt', command)
    missing.push(command)
  }
  if (!facts.present.criu) {
    if (family === 'ubuntu') {
      // Ubuntu 24.04's archive has no criu: CRIU upstream's PPA builds for each Ubuntu release.
      // Derivatives (Mint, Pop!_OS) name the Ubuntu release they follow in UBUNTU_CODENAME.
      const codename = os.UBUNTU_CODENAME || (os.ID === 'ubuntu' ? os.VERSION_CODENAME : '')
      if (!codename) {
        return {
          run: false,
          reason: `cannot tell which Ubuntu release ${name} is (no UBUNTU_CODENAME in /etc/os-release) to install CRIU for: ${NOT_SUPPORTED}`
        }
      }
      args.push('--criu', 'ppa', '--codename', codename)
      missing.push(`CRIU (from CRIU's PPA for ${codename})`)
    } else {
      args.push('--criu', 'archive')
      missing.push(`CRIU (from ${name})`)
    }
  }
  // A podman configuration the job chose is the user's choice: kept.
  if (!facts.containersConf) args.push('--containers-conf', WARMSTART_CONTAINERS_CONF)
  const summary = missing.length
    ? `installing ${missing.join(', ')} on ${name}`
    : `podman, runc and CRIU are present on ${name}: checking them, nothing to install`
  return { run: true, summary, args }
}

const NOT_SUPPORTED =
  'install only prepares Ubuntu and Debian runners; install podman, runc and a CRIU that passes `criu check` yourself (and set install: false to silence this)'

/** The fields of /etc/os-release that the plan reads; a missing one is empty. */
function parseOsRelease(text: string): {
  ID: string
  ID_LIKE: string[]
  PRETTY_NAME: string
  VERSION_CODENAME: string
  UBUNTU_CODENAME: string
} {
  const fields: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim())
    if (!match) continue
    // Values are shell words: optionally quoted, with backslash escapes inside double quotes.
    let value = (match[2] as string).trim()
    const quote = value[0]
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1)
      if (quote === '"') value = value.replace(/\\(.)/g, '$1')
    }
    fields[match[1] as string] = value
  }
  return {
    ID: (fields.ID ?? '').toLowerCase(),
    ID_LIKE: (fields.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    PRETTY_NAME: fields.PRETTY_NAME ?? '',
    VERSION_CODENAME: fields.VERSION_CODENAME ?? '',
    UBUNTU_CODENAME: fields.UBUNTU_CODENAME ?? ''
  }
}

/** The script's result: its last `install: error:` line, and the containers.conf it set up. */
export function installOutcome(result: {
  exitCode: number
  stdout: string
  stderr: string
}): InstallResult {
  const path = /^install: containers-conf=(\S+)$/m.exec(result.stdout)?.[1]
  const variable = /^install: containers-conf-variable=(CONTAINERS_CONF(?:_OVERRIDE)?)$/m.exec(
    result.stdout
  )?.[1] as ContainersConf['variable'] | undefined
  const containersConf = path ? { variable: variable ?? 'CONTAINERS_CONF', path } : undefined
  if (result.exitCode === 0) {
    return { ok: true, reason: 'podman, runc and CRIU are ready', containersConf }
  }
  const errors = [...result.stderr.matchAll(/^install: error: (.*)$/gm)].map((m) => m[1])
  const said = result.stderr.trim().split('\n').slice(-2).join(' ')
  const reason =
    errors[errors.length - 1] ??
    `scripts/install-runner.sh exited with ${result.exitCode}${said ? `: ${said}` : ''}`
  return { ok: false, reason, containersConf }
}

/**
 * Prepares the runner as the `install` input asks, then points this process's podman calls at the
 * containers.conf the script wrote, if it wrote one (CONTAINERS_CONF_OVERRIDE or CONTAINERS_CONF,
 * which sudo must preserve), so that they use runc and cgroupfs. Never throws: a failure is a
 * warning, and warmstart goes on with the runner as it is.
 */
export async function prepareRunner(install: boolean): Promise<InstallResult> {
  let plan: InstallPlan
  try {
    plan = planInstall({
      install,
      osRelease: readOsRelease(),
      present: { podman: onPath('podman'), runc: onPath('runc'), criu: onPath('criu') },
      containersConf:
        process.env.CONTAINERS_CONF_OVERRIDE || process.env.CONTAINERS_CONF || undefined
    })
  } catch (error) {
    return warn(`cannot tell what this runner needs: ${(error as Error).message}`)
  }
  if (!plan.run) {
    core.info(`install: skipped, ${plan.reason}`)
    return { ok: true, reason: plan.reason }
  }
  const { summary, args } = plan
  return core.group('Prepare the runner', async () => {
    core.info(`install: ${summary}`)
    let outcome: InstallResult
    try {
      // Not silent: the script's `install: ...` lines are the step's log of what it changed.
      const result = await runCommand(['bash', installScript(), ...args], { echo: true })
      outcome = installOutcome(result)
    } catch (error) {
      return warn(`could not run scripts/install-runner.sh: ${(error as Error).message}`)
    }
    if (outcome.containersConf) useContainersConf(outcome.containersConf)
    return outcome.ok
      ? outcome
      : { ...warn(outcome.reason), containersConf: outcome.containersConf }
  })
}

/** Points this process's podman calls (and so the post step's) at warmstart's containers.conf. */
export function useContainersConf(conf: ContainersConf): void {
  process.env[conf.variable] = conf.path
}

function warn(reason: string): InstallResult {
  // Only what is known: the engine says next whether CRIU works here after all.
  core.warning(
    `install: ${reason}. The runner is used as it is; services start cold only if it cannot checkpoint (warmstart says so next).`
  )
  return { ok: false, reason }
}

/**
 * The action runs from its checked-out repository, and both the bundle (dist/main/index.js) and
 * this source file (src/action/install.ts, under test) sit two directories below its root.
 */
function installScript(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'install-runner.sh')
}

function readOsRelease(): string | undefined {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return readFileSync(path, 'utf8')
    } catch {
      // try the next one: os-release(5) names both
    }
  }
  return undefined
}

/** Whether `command` is executable on PATH or in an sbin directory (the runner's PATH may lack them). */
function onPath(command: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean)
  for (const dir of [...dirs, '/usr/local/sbin', '/usr/sbin', '/sbin']) {
    try {
      accessSync(join(dir, command), constants.X_OK)
      return true
    } catch {
      // not here
    }
  }
  return false
}
