// Facts about this host that decide whether a checkpoint made elsewhere can run here (they go
// into the cache key) and whether CRIU can work at all. Parsing is pure; reading is separate.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { commandPrefix, runWithActionsExec, type CommandRunner, type Podman } from './podman.js'
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
}

/** Reads the host: CRIU's state, the fingerprint, and whether non-root services need a userns. */
export class HostReader {
  private readonly runner: CommandRunner
  private readonly prefix: string[]

  constructor(private readonly options: HostReaderOptions) {
    this.runner = options.runner ?? runWithActionsExec
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
    const info = await this.options.podman.info()
    const cpu = parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'))
    return {
      arch: info.host.arch,
      cpuVendor: cpu.vendor,
      cpuModel: cpu.model,
      cpuFlags: cpu.flags,
      kernel: info.host.kernel,
      criu: criu.version,
      podman: (await this.options.podman.version()).Client.Version,
      runtime: `${info.host.ociRuntime.name} ${firstLine(info.host.ociRuntime.version)}`,
      cgroup: info.host.cgroupVersion,
      criuConfig: criuConfigDigest()
    }
  }

  canDumpOtherUsers(): boolean {
    return hostCanDumpOtherUsers()
  }
}

/** runc reads CRIU options from this one file. */
export const CRIU_RUNC_CONF = '/etc/criu/runc.conf'

function criuConfigDigest(): string {
  if (!existsSync(CRIU_RUNC_CONF)) return 'none'
  return createHash('sha256').update(readFileSync(CRIU_RUNC_CONF)).digest('hex').slice(0, 16)
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? ''
}
