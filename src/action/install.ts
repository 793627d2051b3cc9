// The `install` input: prepare a GitHub-hosted Ubuntu runner (or another Debian-family machine)
// for checkpoints by running scripts/install-runner.sh. What to ask the script for is a pure
// decision (planInstall); prepareRunner reads the host, runs the script and points warmstart's own
// podman calls at the containers.conf the script wrote. Nothing here fails the job: a runner that
// cannot be prepared starts its services cold, with a warning that says why.
import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs'
import { release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCommand } from '../process.js'
import { criuMinimumFor, planCriu, versionAtLeast, type CriuPlan } from './criu-source.js'
import { parseOsRelease } from './os-release.js'

/** Where the script writes podman's configuration for warmstart's calls (root-owned, ours). */
export const WARMSTART_CONTAINERS_CONF = '/etc/warmstart/containers.conf'

export interface InstallFacts {
  /** The `install` input. */
  install: boolean
  /** The text of /etc/os-release; undefined when there is none. */
  osRelease?: string
  /** `uname -r`. */
  kernel: string
  /** Whether each command is on PATH or in an sbin directory. */
  present: { podman: boolean; runc: boolean; criu: boolean }
  /** The version of the CRIU on PATH, when there is one and it says. */
  criuVersion?: string
  /** `apt-cache policy criu`, read only when the plan needs it (needsAptPolicy). */
  aptPolicy?: string
  /**
   * CONTAINERS_CONF or CONTAINERS_CONF_OVERRIDE as the job set it: the user's own choice, which
   * warmstart leaves alone.
   */
  containersConf?: string
  /** Where fetched packages are kept for the Actions cache (see debCacheKey). */
  debCache?: string
}

export type InstallPlan =
  | { run: false; reason: string }
  | {
      run: true
      summary: string
      args: string[]
      /** Whether the script may install packages (and so fill the package cache). */
      installs: boolean
      /** Where CRIU comes from, and why. */
      criu: CriuPlan
    }

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
  /** How many packages the script downloaded (0 when they all came from the package cache). */
  downloaded?: number
}

/** Debian or Ubuntu (or a derivative), which the script knows how to prepare; else why not. */
function supportedSystem(facts: InstallFacts): { name: string } | { reason: string } {
  if (facts.osRelease === undefined) return { reason: `no /etc/os-release: ${NOT_SUPPORTED}` }
  const os = parseOsRelease(facts.osRelease)
  const name = os.PRETTY_NAME || os.ID || 'this system'
  const family = ['ubuntu', 'debian'].find((id) => os.ID === id || os.ID_LIKE.includes(id))
  return family ? { name } : { reason: `${name} is not Ubuntu or Debian: ${NOT_SUPPORTED}` }
}

/** What this runner lacks: commands to install, and whether it needs another CRIU (and which). */
export interface Missing {
  packages: Array<'podman' | 'runc'>
  /** The CRIU this kernel needs, when the one on PATH (if any) is older. */
  criu?: string
}

export function missingOn(facts: InstallFacts): Missing {
  const packages = (['podman', 'runc'] as const).filter((command) => !facts.present[command])
  const minimum = criuMinimumFor(facts.kernel)
  const good =
    facts.present.criu && !!facts.criuVersion && versionAtLeast(facts.criuVersion, minimum)
  return good ? { packages } : { packages, criu: minimum }
}

/** Whether `install` would install anything here (and so may use the package cache). */
export function installsSomething(facts: InstallFacts): boolean {
  if (!facts.install || 'reason' in supportedSystem(facts)) return false
  const missing = missingOn(facts)
  return missing.packages.length > 0 || missing.criu !== undefined
}

/**
 * Whether the plan wants to know what the distribution's archive offers: only when CRIU has to be
 * installed and the packages do not come from the cache, so that a runner with a good CRIU, or
 * with its packages cached, never runs `apt-get update`.
 */
export function needsAptPolicy(facts: InstallFacts, packagesCached = false): boolean {
  return installsSomething(facts) && missingOn(facts).criu !== undefined && !packagesCached
}

/** What to ask scripts/install-runner.sh for, or why to leave the runner alone. */
export function planInstall(facts: InstallFacts): InstallPlan {
  if (!facts.install) return { run: false, reason: 'install: false, the runner is used as it is' }
  const system = supportedSystem(facts)
  if ('reason' in system) return { run: false, reason: system.reason }

  const args: string[] = []
  const missing: string[] = []
  for (const command of missingOn(facts).packages) {
    args.push('--apt', command)
    missing.push(command)
  }
  const criu = planCriu({
    osRelease: facts.osRelease as string,
    kernel: facts.kernel,
    installed: facts.present.criu ? (facts.criuVersion ?? '0') : undefined,
    aptPolicy: facts.aptPolicy
  })
  // The script proves the CRIU it keeps (minimum version, TCP-listener dump) in every case.
  args.push('--criu-minimum', criu.minimum)
  for (const source of criu.sources) args.push('--criu-source', source)
  if (criu.sources.includes('ppa') && criu.codename) args.push('--codename', criu.codename)
  if (criu.sources.includes('obs') && criu.obsRepository) {
    args.push('--obs-repository', criu.obsRepository)
  }
  if (criu.sources.length) missing.push(`CRIU >= ${criu.minimum}`)
  const installs = missing.length > 0
  if (installs && facts.debCache) args.push('--deb-cache', facts.debCache)
  // A podman configuration the job chose is the user's choice: kept.
  if (!facts.containersConf) args.push('--containers-conf', WARMSTART_CONTAINERS_CONF)
  const summary = installs
    ? `installing ${missing.join(', ')} on ${system.name}; CRIU: ${criu.reason}`
    : `podman, runc and CRIU are present on ${system.name}, nothing to install; ${criu.reason}`
  return { run: true, summary, args, installs, criu }
}

/**
 * The Actions cache key of the packages `install` fetches on this kind of runner: the release, the
 * architecture, what is missing (which decides what is fetched), the script that installs it, and
 * the month, so that updates arrive within a month while other jobs skip `apt-get update`.
 * Known before apt is asked anything: a job whose packages are cached never refreshes apt's lists.
 */
export function debCacheKey(input: {
  osRelease: string
  arch: string
  missing: Missing
  scriptHash: string
  now: Date
}): string {
  const os = parseOsRelease(input.osRelease)
  const release = `${os.ID}-${os.VERSION_ID || os.VERSION_CODENAME || 'unknown'}`
  const what = [...input.missing.packages, input.missing.criu ? `criu>=${input.missing.criu}` : '']
  const digest = createHash('sha256')
    .update(`${what.join(' ')}\n${input.scriptHash}`)
    .digest('hex')
  const month = input.now.toISOString().slice(0, 7)
  return `warmstart-packages-v1-${release}-${input.arch}-${month}-${digest.slice(0, 16)}`
}

const NOT_SUPPORTED =
  'install only prepares Ubuntu and Debian runners; install podman, runc and a CRIU that dumps a TCP listener on this kernel yourself (and set install: false to silence this)'

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
    const downloaded = /^install: downloaded=(\d+)$/m.exec(result.stdout)?.[1]
    return {
      ok: true,
      reason: 'podman, runc and CRIU are ready',
      containersConf,
      ...(downloaded === undefined ? {} : { downloaded: Number(downloaded) })
    }
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
 *
 * Read: os-release, the kernel, the commands present, the CRIU's version, and (only when CRIU must
 * be installed) what the archive offers. Decide: planInstall. Act: restore the package cache, run
 * the script, save the packages it fetched for the next job on this kind of runner.
 */
export async function prepareRunner(install: boolean): Promise<InstallResult> {
  if (!install) {
    core.info('install: skipped, install: false, the runner is used as it is')
    return { ok: true, reason: 'install: false' }
  }
  return core.group('Prepare the runner', async () => {
    const started = Date.now()
    let facts: InstallFacts
    let packages: PackageCache | undefined
    let plan: InstallPlan
    try {
      const present = { podman: onPath('podman'), runc: onPath('runc'), criu: onPath('criu') }
      facts = {
        install,
        osRelease: readOsRelease(),
        kernel: release(),
        present,
        criuVersion: present.criu ? await criuVersion() : undefined,
        containersConf:
          process.env.CONTAINERS_CONF_OVERRIDE || process.env.CONTAINERS_CONF || undefined,
        debCache: join(process.env.RUNNER_TEMP || tmpdir(), 'warmstart-packages')
      }
      if (installsSomething(facts)) packages = await restorePackages(facts)
      if (needsAptPolicy(facts, packages?.hit)) facts.aptPolicy = await aptPolicy()
      plan = planInstall(facts)
    } catch (error) {
      return warn(`cannot tell what this runner needs: ${(error as Error).message}`)
    }
    if (!plan.run) {
      core.info(`install: skipped, ${plan.reason}`)
      return { ok: true, reason: plan.reason }
    }
    core.info(`install: ${plan.summary}`)
    let outcome: InstallResult
    try {
      // Not silent: the script's `install: ...` lines are the step's log of what it changed.
      const result = await runCommand(['bash', installScript(), ...plan.args], { echo: true })
      outcome = installOutcome(result)
    } catch (error) {
      return warn(`could not run scripts/install-runner.sh: ${(error as Error).message}`)
    }
    if (outcome.containersConf) useContainersConf(outcome.containersConf)
    if (!outcome.ok) return { ...warn(outcome.reason), containersConf: outcome.containersConf }
    if (packages && !packages.hit && (outcome.downloaded ?? 0) > 0) await savePackages(packages)
    // What preparing costs a job: the README's runner table quotes it.
    core.info(`install: the runner was prepared in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return outcome
  })
}

/** The package cache of this plan: its key, and whether an earlier job's packages were found. */
interface PackageCache {
  dir: string
  key: string
  hit: boolean
}

/**
 * Restores the packages an earlier job on this kind of runner fetched, into facts.debCache, where
 * the script installs them without `apt-get update`. A miss or an error is only slower.
 */
async function restorePackages(facts: InstallFacts): Promise<PackageCache> {
  const dir = facts.debCache as string
  const key = debCacheKey({
    osRelease: facts.osRelease as string,
    arch: process.arch,
    missing: missingOn(facts),
    scriptHash: createHash('sha256').update(readFileSync(installScript())).digest('hex'),
    now: new Date()
  })
  mkdirSync(dir, { recursive: true })
  if (!cache.isFeatureAvailable()) return { dir, key, hit: false }
  try {
    const hit = (await cache.restoreCache([dir], key)) === key
    core.info(
      hit
        ? `install: packages from the Actions cache (${key}): no apt-get update`
        : `install: no packages cached under ${key} yet: fetching them, then caching them`
    )
    return { dir, key, hit }
  } catch (error) {
    core.info(`install: the package cache could not be read (${(error as Error).message})`)
    return { dir, key, hit: false }
  }
}

async function savePackages(packages: PackageCache): Promise<void> {
  if (!cache.isFeatureAvailable()) return
  try {
    await cache.saveCache([packages.dir], packages.key)
    core.info(`install: cached the fetched packages as ${packages.key}`)
  } catch (error) {
    // Another job saved the same key first, or the service is down: the next job fetches again.
    core.info(`install: packages not cached (${(error as Error).message})`)
  }
}

/** `criu --version`'s number ("Version: 4.2.1"), or undefined when it does not say. */
async function criuVersion(): Promise<string | undefined> {
  const result = await runCommand(['criu', '--version']).catch(() => undefined)
  return result ? /^Version:\s*(\S+)/m.exec(result.stdout)?.[1] : undefined
}

/** `apt-cache policy criu` through the script, which refreshes apt's lists if it has none. */
async function aptPolicy(): Promise<string> {
  const result = await runCommand(['bash', installScript(), '--print-policy', 'criu'])
  // The script's own lines (apt-get update) belong in the step's log.
  for (const line of result.stderr.split('\n')) if (line.startsWith('install:')) core.info(line)
  return result.stdout
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
