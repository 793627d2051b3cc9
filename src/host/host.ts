// Facts about this host that decide whether a checkpoint made elsewhere can run here (they go
// into the cache key) and whether CRIU can work at all. Parsing is pure; reading is separate.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { commandPrefix, type Podman } from '../podman.js'
import { runCommand, type CommandRunner } from '../process.js'
import { APPARMOR_SEPARATOR, parseAppArmor, type AppArmorState } from './apparmor.js'
import { hostCanDumpOtherUsers } from './userns.js'

export interface CpuInfo {
  vendor: string
  model: string
  /** The instruction-set flags, sorted: code restored here may use any of them. */
  flags: string[]
}

export interface HostFingerprint {
  arch: string
  cpuVendor: string
  cpuModel: string
  cpuFlags: string[]
  kernel: string
  criu: string
  podman: string
  runtime: string
  cgroup: string
  /** Digest of the CRIU options runc passes (/etc/criu/runc.conf): they shape every checkpoint. */
  criuConfig: string
  /**
   * CPUs and memory (whole GiB): a JVM sizes its heap and threads from them at start, and a
   * restored one keeps what it chose (GitHub's runners come in 2, 4 and more cores).
   */
  cpus: number
  memoryGiB: number
}

export interface CriuStatus {
  ok: boolean
  version: string
  /** Why CRIU cannot be used, when it cannot. */
  reason?: string
}

/** The first processor's vendor, model and flags from /proc/cpuinfo (x86 and others). */
export function parseCpuinfo(text: string): CpuInfo {
  const first = text.split(/\n\s*\n/)[0] ?? ''
  const field = (...names: string[]): string => {
    for (const name of names) {
      const match = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)
      if (match) return (match[1] as string).trim()
    }
    return ''
  }
  return {
    vendor: field('vendor_id', 'CPU implementer'),
    model: field('model name', 'CPU part', 'cpu model'),
    flags: field('flags', 'Features').split(/\s+/).filter(Boolean).sort()
  }
}

/** `criu --version` prints `Version: 4.2.1` (and a GitID line). */
export function parseCriuVersion(output: string): string {
  return /Version:\s*(\S+)/.exec(output)?.[1] ?? ''
}

export interface HostReaderOptions {
  podman: Podman
  runner?: CommandRunner
  uid?: number
  /** The CRIU command runc will use; tests point it elsewhere to play a host without CRIU. */
  criu?: string
  /** Where what podman says about the host is remembered between runs; false: never. */
  factsCache?: string | false
}

/** What `podman info` and `podman version` say about the host: the slow part of the fingerprint. */
export interface PodmanFacts {
  arch: string
  kernel: string
  podman: string
  runtime: string
  runtimePath: string
  cgroup: string
  cpus: number
  memTotal: number
}

/** Bumped when PodmanFacts changes shape: a cache of another version is read again from podman. */
const FACTS_CACHE_VERSION = 2

/**
 * What podman's answers depend on: this boot, the podman and runtime binaries, and podman's
 * configuration files, each by size and modification time. A cache of PodmanFacts is valid while
 * this stays the same: a reboot, a package upgrade or a configuration change reads podman again.
 */
export function factsStamp(runtimePath: string): string {
  const files = [
    '/proc/sys/kernel/random/boot_id',
    findOnPath('podman'),
    runtimePath,
    process.env.CONTAINERS_CONF ?? '',
    process.env.CONTAINERS_CONF_OVERRIDE ?? '',
    '/etc/containers/containers.conf',
    '/usr/share/containers/containers.conf',
    ...listDir('/etc/containers/containers.conf.d')
  ].filter(Boolean)
  return files
    .map((file) => {
      try {
        const stat = statSync(file)
        const bootId = file.startsWith('/proc/') ? readFileSync(file, 'utf8').trim() : ''
        return `${file} ${stat.size} ${stat.mtimeMs} ${bootId}`
      } catch {
        return `${file} absent`
      }
    })
    .join('\n')
}

function findOnPath(command: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command)
  }
  return ''
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).map((name) => join(dir, name))
  } catch {
    return []
  }
}

/** The default place for the facts cache: private to this user, cleared at boot when in /run. */
export function defaultFactsCache(uid: number): string {
  const base =
    uid === 0 ? '/run/warmstart' : join(process.env.XDG_RUNTIME_DIR || tmpdir(), `warmstart-${uid}`)
  return join(base, 'podman-facts.json')
}

/** Reads the host: CRIU's state, the fingerprint, and whether non-root services need a userns. */
export class HostReader {
  private readonly runner: CommandRunner
  private readonly prefix: string[]

  constructor(private readonly options: HostReaderOptions) {
    this.runner = options.runner ?? runCommand
    this.prefix = commandPrefix(options.uid ?? process.getuid?.() ?? 0)
  }

  /** Whether CRIU is there and passes `criu check`, run as podman's runtime will run it. */
  async criuStatus(): Promise<CriuStatus> {
    const criu = this.options.criu ?? 'criu'
    // warmstart's set-up puts a private CRIU in /usr/local/sbin, first on runc's PATH.
    const script = `PATH=/usr/local/sbin:$PATH; "$1" --version && "$1" check`
    const result = await this.runner([...this.prefix, 'sh', '-c', script, 'sh', criu])
    const version = parseCriuVersion(result.stdout)
    if (result.exitCode === 0) return { ok: true, version }
    const said = (result.stderr || result.stdout).trim().split('\n').slice(-2).join(' ')
    const reason = version
      ? `criu check fails: ${said}`
      : `CRIU is not installed (${criu}: ${said || 'not found'}); run warmstart's set-up`
    return { ok: false, version, reason }
  }

  async fingerprint(criu: CriuStatus): Promise<HostFingerprint> {
    const facts = await this.podmanFacts()
    const cpu = parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'))
    return {
      arch: facts.arch,
      cpuVendor: cpu.vendor,
      cpuModel: cpu.model,
      cpuFlags: cpu.flags,
      kernel: facts.kernel,
      criu: criu.version,
      podman: facts.podman,
      runtime: facts.runtime,
      cgroup: facts.cgroup,
      criuConfig: criuConfigDigest(),
      cpus: facts.cpus,
      memoryGiB: Math.round(facts.memTotal / 1024 ** 3)
    }
  }

  /**
   * podman's facts, from the cache when nothing they depend on changed (`podman info` takes a
   * third of a second, on every `up`), else from podman, then remembered.
   */
  async podmanFacts(): Promise<PodmanFacts> {
    const cache =
      this.options.factsCache ?? defaultFactsCache(this.options.uid ?? process.getuid?.() ?? 0)
    if (cache) {
      try {
        const cached = JSON.parse(readFileSync(cache, 'utf8')) as {
          version?: number
          stamp: string
          facts: PodmanFacts
        }
        if (
          cached.version === FACTS_CACHE_VERSION &&
          cached.stamp === factsStamp(cached.facts.runtimePath)
        )
          return cached.facts
      } catch {
        // No cache yet, or an unreadable one: ask podman.
      }
    }
    const info = await this.options.podman.info()
    const facts: PodmanFacts = {
      arch: info.host.arch,
      kernel: info.host.kernel,
      podman: (await this.options.podman.version()).Client.Version,
      runtime: `${info.host.ociRuntime.name} ${firstLine(info.host.ociRuntime.version)}`,
      runtimePath: info.host.ociRuntime.path,
      cgroup: info.host.cgroupVersion,
      cpus: info.host.cpus,
      memTotal: info.host.memTotal
    }
    if (cache) {
      try {
        mkdirSync(dirname(cache), { recursive: true, mode: 0o700 })
        const stamp = factsStamp(facts.runtimePath)
        writeFileSync(cache, JSON.stringify({ version: FACTS_CACHE_VERSION, stamp, facts }), {
          mode: 0o600
        })
      } catch {
        // A cache that cannot be written only costs the next run a `podman info`.
      }
    }
    return facts
  }

  /** AppArmor's state, as root reads it (the profile list is root's only); off where absent. */
  async appArmor(): Promise<AppArmorState> {
    const script = `cat /sys/module/apparmor/parameters/enabled 2>/dev/null; echo '${APPARMOR_SEPARATOR}'; cat /sys/kernel/security/apparmor/profiles 2>/dev/null; true`
    const result = await this.runner([...this.prefix, 'sh', '-c', script])
    return parseAppArmor(result.stdout)
  }

  /**
   * The version of warmstart's runtime wrapper (scripts/lib/runtime-wrapper.sh) when podman's
   * runtime is one: its second line says `# warmstart-runtime-wrapper N`. 0 for anything else.
   */
  async runtimeWrapperVersion(): Promise<number> {
    const { runtimePath } = await this.podmanFacts()
    if (!runtimePath) return 0
    const result = await this.runner(['head', '-c', '200', runtimePath])
    return parseRuntimeWrapperVersion(result.exitCode === 0 ? result.stdout : '')
  }

  canDumpOtherUsers(): boolean {
    return hostCanDumpOtherUsers()
  }
}

/** The wrapper's version from the start of the runtime's file; 0 when it is not warmstart's. */
export function parseRuntimeWrapperVersion(head: string): number {
  const match = /^#!\/bin\/sh\n# warmstart-runtime-wrapper (\d+)\n/.exec(head)
  return match ? Number(match[1]) : 0
}

/** runc reads CRIU options from this one file. */
export const CRIU_RUNC_CONF = '/etc/criu/runc.conf'

/** The text of /etc/criu/runc.conf; '' when there is none. */
export function readRuncCriuConfig(): string {
  return existsSync(CRIU_RUNC_CONF) ? readFileSync(CRIU_RUNC_CONF, 'utf8') : ''
}

function criuConfigDigest(): string {
  const text = readRuncCriuConfig()
  return text ? createHash('sha256').update(text).digest('hex').slice(0, 16) : 'none'
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? ''
}
