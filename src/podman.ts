// The one seam between warmstart and podman: every podman command goes through this module.
// Argv building and error shaping are pure functions (tested over recorded real output in
// __tests__/fixtures/podman); the Podman class adds the side effects: running the command,
// `sudo -n` when not root, JSON parsing, and reading CRIU's log when a checkpoint or restore fails.
import type { Logger } from './logger.js'
import {
  describeFailure as describeCommandFailure,
  runCommand,
  type CommandResult,
  type CommandRunner
} from './process.js'

export type { CommandResult, CommandRunner } from './process.js'

export interface RunOptions {
  image: string
  name: string
  /** `HOST:CONTAINER` or `IP:HOST:CONTAINER`, as `podman run --publish` takes them. */
  ports?: string[]
  /** Environment of the service; values never reach argv (see runArgs). */
  env?: Record<string, string>
  /** Extra `podman run` options, passed as given (`--flag=value` or separate words). */
  options?: string[]
  /** Replaces the image's CMD. */
  command?: string[]
  /** Replace a container of the same name (`podman run --replace`). */
  replace?: boolean
}

export interface CheckpointOptions {
  /** Write the checkpoint to this tar archive (`--export`). */
  exportPath: string
  /** Keep the container running after the checkpoint (`--leave-running`). */
  leaveRunning?: boolean
  /** Checkpoint held file locks (`--file-locks`): MariaDB needs it. */
  fileLocks?: boolean
  /** Checkpoint established TCP connections (`--tcp-established`). */
  tcpEstablished?: boolean
  /** Keep CRIU's images in the container, so that it can be restored in place (`--keep`). */
  keep?: boolean
  /** Archive compression; `none` leaves compression to whoever stores the archive. */
  compress?: 'none' | 'zstd' | 'gzip'
  /** Leave the content of named volumes out (`--ignore-volumes`): warmstart archives them itself. */
  ignoreVolumes?: boolean
  /** Stop podman after this many seconds (a CRIU that hangs): PodmanTimeoutError. */
  timeoutSeconds?: number
}

export interface RestoreOptions {
  /** Import the container from this checkpoint archive (`--import`); absent: restore in place. */
  importPath?: string
  /** The container to restore in place from the images a `--keep` checkpoint left. */
  container?: string
  /** Name of the restored container (`--name`); default: the checkpointed container's name. */
  name?: string
  /** Publish ports other than the checkpointed container's (`--publish`). */
  ports?: string[]
  fileLocks?: boolean
  tcpEstablished?: boolean
  /** The volumes were restored beforehand; the archive holds none (`--ignore-volumes`). */
  ignoreVolumes?: boolean
  /** Stop podman after this many seconds (a CRIU that hangs): PodmanTimeoutError. */
  timeoutSeconds?: number
  /** Ask podman for its, the runtime's and CRIU's own times (`--print-stats`). */
  printStats?: boolean
}

/** Where a restore's time went, as podman, the runtime and CRIU measured it, in seconds. */
export interface RestoreStats {
  podman: number
  runtime: number
  criu: number
  /** Memory pages CRIU restored (4 KiB each on x86 and most arm64). */
  pages: number
}

/** `restore --print-stats` output: JSON (microseconds) naming the restored container. */
export function parseRestoreStats(output: string): { id: string; stats: RestoreStats } {
  const parsed = JSON.parse(output) as {
    podman_restore_duration?: number
    container_statistics?: Array<{
      Id?: string
      runtime_restore_duration?: number
      criu_statistics?: { restore_time?: number; forking_time?: number; pages_restored?: number }
    }>
  }
  const container = parsed.container_statistics?.[0] ?? {}
  const criu = container.criu_statistics ?? {}
  const seconds = (microseconds = 0): number => Math.round(microseconds / 1000) / 1000
  return {
    id: container.Id ?? '',
    stats: {
      podman: seconds(parsed.podman_restore_duration),
      runtime: seconds(container.runtime_restore_duration),
      criu: seconds((criu.restore_time ?? 0) + (criu.forking_time ?? 0)),
      pages: criu.pages_restored ?? 0
    }
  }
}

export function runArgs(options: RunOptions): string[] {
  const argv = ['run', '--detach', '--name', options.name]
  if (options.replace) argv.push('--replace')
  for (const port of options.ports ?? []) argv.push('--publish', port)
  // `--env NAME` copies the value from podman's own environment: secrets stay out of argv
  // (visible in `ps`) and out of warmstart's debug log.
  for (const name of Object.keys(options.env ?? {}).sort()) argv.push('--env', name)
  argv.push(...(options.options ?? []), options.image, ...(options.command ?? []))
  return argv
}

export function checkpointArgs(container: string, options: CheckpointOptions): string[] {
  const argv = ['container', 'checkpoint', '--export', options.exportPath]
  argv.push('--compress', options.compress ?? 'zstd')
  if (options.leaveRunning) argv.push('--leave-running')
  if (options.keep) argv.push('--keep')
  if (options.ignoreVolumes) argv.push('--ignore-volumes')
  if (options.fileLocks) argv.push('--file-locks')
  if (options.tcpEstablished) argv.push('--tcp-established')
  argv.push(container)
  return argv
}

export function restoreArgs(options: RestoreOptions): string[] {
  const argv = ['container', 'restore']
  if (options.importPath) {
    argv.push('--import', options.importPath)
    if (options.ignoreVolumes) argv.push('--ignore-volumes')
  } else argv.push('--keep')
  if (options.name) argv.push('--name', options.name)
  for (const port of options.ports ?? []) argv.push('--publish', port)
  if (options.fileLocks) argv.push('--file-locks')
  if (options.tcpEstablished) argv.push('--tcp-established')
  if (options.printStats) argv.push('--print-stats')
  if (!options.importPath) {
    if (!options.container) throw new Error('restore needs an archive to import or a container')
    argv.push(options.container)
  }
  return argv
}

/**
 * What runs before `podman`: nothing as root, else `sudo -n` (GitHub's runners), which must be
 * told to keep the variables whose values `--env NAME` reads from podman's environment.
 */
export function commandPrefix(uid: number, envNames: string[] = []): string[] {
  if (uid === 0) return []
  // podman's configuration files, when the job or warmstart's install chose them, survive sudo.
  for (const name of [
    'CONTAINERS_CONF',
    'CONTAINERS_CONF_OVERRIDE',
    'CONTAINERS_REGISTRIES_CONF'
  ]) {
    if (process.env[name]) envNames = [...envNames, name]
  }
  return envNames.length ? ['sudo', '-n', `--preserve-env=${envNames.join(',')}`] : ['sudo', '-n']
}

/** The CRIU log file podman names when runc's checkpoint or restore fails. */
export function criuLogPath(stderr: string): string | undefined {
  // podman prints `log file: /var/lib/containers/.../userdata/dump.log`, sometimes inside a
  // quoted, escaped error message (`\nlog file: ...`).
  const match = /log file: (\/[^\s"\\]+\.log)/.exec(stderr)
  return match?.[1]
}

// CRIU logs this on every run on hosts without CAP_SYS_RESOURCE and carries on: not a reason.
const HARMLESS_CRIU_ERRORS = [/Can't setup RLIMIT_NOFILE for self/]

/** The `Error (...)` lines of a CRIU log: where the real reason of a failure is. */
export function criuErrorLines(log: string, max = 8): string[] {
  return log
    .split('\n')
    .filter((line) => /\bError \(/.test(line))
    .filter((line) => !HARMLESS_CRIU_ERRORS.some((pattern) => pattern.test(line)))
    .map((line) => line.replace(/^\(\s*[\d.]+\)\s*/, '').trim())
    .slice(0, max)
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

// Kills every process whose command line matches $1 (a container id, or a pattern: pgrep -f),
// descendants first.
const KILL_PROCESS_TREES = `
tree() { for child in $(pgrep -P "$1"); do tree "$child"; done; echo "$1"; }
for pid in $(pgrep -f -- "$1"); do [ "$pid" = $$ ] || kill -9 $(tree "$pid") 2>/dev/null; done
true`

/** A podman command stopped at its time limit (a checkpoint or restore that hung). */
export class PodmanTimeoutError extends Error {
  constructor(
    readonly argv: string[],
    readonly timeoutSeconds: number,
    stderrTail: string
  ) {
    super(
      `podman ${argv.join(' ')} did not finish within ${timeoutSeconds} s and was stopped${stderrTail ? `; it said: ${stderrTail}` : ''}`
    )
    this.name = 'PodmanTimeoutError'
  }
}

/** A failed podman command: what ran, how it ended, and why if anyone said. */
export class PodmanError extends Error {
  constructor(
    readonly argv: string[],
    readonly exitCode: number,
    readonly stderrTail: string,
    readonly criuErrors: string[] = []
  ) {
    super(describeFailure(argv, exitCode, stderrTail, criuErrors))
    this.name = 'PodmanError'
  }
}

export function describeFailure(
  argv: string[],
  exitCode: number,
  stderrTail: string,
  criuErrors: string[]
): string {
  const lines = [`podman ${argv.join(' ')} exited with ${exitCode}`]
  if (stderrTail) lines.push(stderrTail)
  if (criuErrors.length) lines.push('CRIU log:', ...criuErrors.map((line) => `  ${line}`))
  const hints = criuHints([stderrTail, ...criuErrors].join('\n'))
  if (hints.length) lines.push(...hints.map((hint) => `What to do: ${hint}`))
  return lines.join('\n')
}

/** CRIU failures whose cause and fix are known, by what CRIU says. */
const CRIU_HINTS: Array<[RegExp, string]> = [
  [
    /Connected TCP socket, consider using|Connected TCP socket in image/,
    'a TCP connection was open (or reset but not yet closed by the service) at checkpoint time: let the warm-up close its connections before it ends, or set tcp-established: true to keep them'
  ],
  [
    /Can't get rlimit \d+: Operation not permitted/,
    "root here may not read another user's limits (no CAP_SYS_RESOURCE): publish the same port on both sides so that warmstart can use a user namespace (docs/host-setup.md)"
  ],
  [
    /Some file locks are hold by dumping tasks|Some file locks are held/,
    'the service holds file locks: keep file-locks: true (the default)'
  ],
  [
    /Need to set the --tcp-close option/,
    'the checkpoint was made with tcp-close, but CRIU did not get it for the restore: warmstart writes it to /etc/warmstart/criu/ before a restore; check that root can write there'
  ],
  [
    /can't write lsm profile/,
    "podman's AppArmor profile is not loaded on this host: warmstart loads it before a restore; if this persists, run one container of the image first"
  ]
]

/** The fixes for the known causes in a failure's text; empty when none is recognised. */
export function criuHints(text: string): string[] {
  return CRIU_HINTS.filter(([pattern]) => pattern.test(text)).map(([, hint]) => hint)
}

/** The parts of `podman container inspect` that warmstart reads. */
export interface ContainerInfo {
  Id: string
  Name: string
  ImageName?: string
  Image: string
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number }
  Mounts?: Array<{ Type: string; Name?: string; Source: string; Destination: string }>
}

/** The parts of `podman volume inspect` that warmstart reads. */
export interface VolumeInfo {
  Name: string
  Mountpoint: string
  Labels?: Record<string, string> | null
  /** How many holders have it mounted (containers, `podman volume mount`). */
  MountCount?: number
}

export interface ImageInfo {
  Id: string
  Digest?: string
  RepoDigests?: string[]
  Config?: { User?: string; Labels?: Record<string, string> | null }
}

/** An entry of `podman ps --format json`. */
interface PsEntry {
  Names: string[]
  Ports?: Array<{ host_port: number; container_port: number; range?: number }> | null
}

export interface PodmanVersion {
  Client: { Version: string }
}

export interface PodmanInfo {
  host: {
    arch: string
    kernel: string
    cgroupVersion: string
    ociRuntime: { name: string; path: string; version: string }
    cpus: number
    memTotal: number
  }
}

export interface PodmanOptions {
  runner?: CommandRunner
  logger?: Logger
  /** Defaults to the current process's uid. */
  uid?: number
}

export class Podman {
  private readonly runner: CommandRunner
  /** The uid warmstart runs as: podman and root-only file work go through `sudo -n` unless 0. */
  readonly uid: number
  private readonly logger?: Logger

  constructor(options: PodmanOptions = {}) {
    this.runner = options.runner ?? runCommand
    this.uid = options.uid ?? process.getuid?.() ?? 0
    this.logger = options.logger
  }

  /** Runs `podman ARGV`; throws PodmanError on a non-zero exit. */
  async podman(
    argv: string[],
    options: { env?: Record<string, string>; timeoutSeconds?: number } = {}
  ): Promise<string> {
    const result = await this.attempt(argv, options)
    if (result.timedOut) {
      throw new PodmanTimeoutError(argv, options.timeoutSeconds ?? 0, tail(result.stderr, 3))
    }
    if (result.exitCode !== 0) throw await this.failure(argv, result)
    return result.stdout
  }

  /** Runs `podman ARGV` and returns how it ended, whatever the exit code. */
  async attempt(
    argv: string[],
    options: { env?: Record<string, string>; timeoutSeconds?: number } = {}
  ): Promise<CommandResult> {
    this.logger?.debug(`podman ${argv.join(' ')}`)
    const prefix = commandPrefix(this.uid, Object.keys(options.env ?? {}))
    return this.runner([...prefix, 'podman', ...argv], {
      env: options.env,
      timeoutSeconds: options.timeoutSeconds
    })
  }

  async run(options: RunOptions): Promise<string> {
    return (await this.podman(runArgs(options), { env: options.env })).trim()
  }

  /** Runs a command inside a running container; returns its result, whatever the exit code. */
  async exec(container: string, command: string[]): Promise<CommandResult> {
    return this.attempt(['exec', container, ...command])
  }

  async inspectContainer(container: string): Promise<ContainerInfo> {
    const parsed = JSON.parse(await this.podman(['container', 'inspect', container]))
    return (parsed as ContainerInfo[])[0] as ContainerInfo
  }

  async inspectImage(image: string): Promise<ImageInfo> {
    const parsed = JSON.parse(await this.podman(['image', 'inspect', image]))
    return (parsed as ImageInfo[])[0] as ImageInfo
  }

  async containerExists(container: string): Promise<boolean> {
    return (await this.attempt(['container', 'exists', container])).exitCode === 0
  }

  async imageExists(image: string): Promise<boolean> {
    return (await this.attempt(['image', 'exists', image])).exitCode === 0
  }

  async checkpoint(container: string, options: CheckpointOptions): Promise<void> {
    await this.podman(checkpointArgs(container, options), {
      timeoutSeconds: options.timeoutSeconds
    })
    if (this.uid !== 0) {
      // podman writes the archive as root, mode 0600: hand it to the user warmstart runs as,
      // who hashes and uploads it.
      const owner = `${this.uid}:${process.getgid?.() ?? this.uid}`
      const chown = await this.runner([
        ...commandPrefix(this.uid),
        'chown',
        owner,
        options.exportPath
      ])
      if (chown.exitCode !== 0)
        throw new PodmanError(
          ['chown', owner, options.exportPath],
          chown.exitCode,
          tail(chown.stderr, 3)
        )
    }
  }

  /**
   * Restores a container from an exported checkpoint, or in place; returns the container's id,
   * and with `printStats` where the time went.
   */
  async restore(options: RestoreOptions): Promise<{ id: string; stats?: RestoreStats }> {
    const output = await this.podman(restoreArgs(options), {
      timeoutSeconds: options.timeoutSeconds
    }).catch(async (error: unknown) => {
      const name = options.name ?? options.container
      if (error instanceof PodmanTimeoutError && name) await this.killStrandedRestore(name)
      throw error
    })
    if (options.printStats) return parseRestoreStats(output)
    const lines = output.trim().split('\n')
    return { id: lines[lines.length - 1] ?? '' }
  }

  /**
   * One `podman rm`: a missing container is not an error, but a busy one can be (see
   * forceRemove, which callers should use).
   */
  async rm(container: string): Promise<void> {
    // --volumes: the anonymous volumes of the image's VOLUME paths go with the container.
    await this.podman(['rm', '--force', '--ignore', '--volumes', '--time', '5', container])
  }

  /**
   * Removes a container whatever state it is in, and every runtime process still naming it.
   * `podman rm` can fail on a container a failed restore left half-made (a hung CRIU still holds
   * it) or while its cleanup still holds the shm mount ("device or resource busy"): then those
   * processes (runc, conmon, CRIU under them) are killed and removal is tried again. It can also
   * succeed and leave them: a restore stopped at its time limit leaves conmon holding the
   * service's host port and the runtime hanging, so they are killed after a removal too.
   */
  async forceRemove(container: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const id = (
        await this.attempt(['container', 'inspect', '--format', '{{.Id}}', container])
      ).stdout.trim()
      const killRuntime = async (): Promise<void> => {
        if (!/^[0-9a-f]{64}$/.test(id)) return
        this.logger?.debug(`killing the runtime processes of ${container} (${id})`)
        await this.runner([...commandPrefix(this.uid), 'sh', '-c', KILL_PROCESS_TREES, 'sh', id])
      }
      try {
        await this.rm(container)
        await killRuntime()
        return
      } catch (error) {
        if (attempt === 3) throw error
        await killRuntime()
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
      }
    }
  }

  /**
   * Kills what a restore stopped at its time limit left running. podman, stopped, drops the
   * container it was making, but its conmon (holding the service's host port) and the runtime
   * under it, hung in CRIU, run on: found by conmon's `-n NAME`, they are killed with their trees.
   */
  private async killStrandedRestore(name: string): Promise<void> {
    const pattern = `^[^ ]*conmon .* -n ${name.replace(/\./g, '\\.')} `
    this.logger?.debug(`killing what the stopped restore of ${name} left running`)
    await this.runner([...commandPrefix(this.uid), 'sh', '-c', KILL_PROCESS_TREES, 'sh', pattern])
  }

  /** The users (as the container names them) its processes run as: `podman top NAME user`. */
  async processUsers(container: string): Promise<string[]> {
    const lines = (await this.podman(['top', container, 'user'])).trim().split('\n')
    return lines
      .slice(1)
      .map((line) => line.trim())
      .filter(Boolean)
  }

  /** Names of the containers that publish host port `port`. */
  async containersPublishing(port: number): Promise<string[]> {
    const listed = JSON.parse(await this.podman(['ps', '--format', 'json'])) as PsEntry[]
    return listed
      .filter((entry) =>
        (entry.Ports ?? []).some(
          (p) => port >= p.host_port && port < p.host_port + Math.max(1, p.range ?? 1)
        )
      )
      .map((entry) => entry.Names[0] ?? '')
  }

  async inspectVolume(name: string): Promise<VolumeInfo> {
    const parsed = JSON.parse(await this.podman(['volume', 'inspect', name]))
    return (parsed as VolumeInfo[])[0] as VolumeInfo
  }

  async volumeExists(name: string): Promise<boolean> {
    return (await this.attempt(['volume', 'exists', name])).exitCode === 0
  }

  /**
   * Creates a volume whose directory belongs to uid:gid (a user namespace's root, say); with
   * `memory`, a tmpfs (mounted while it is in use: see mountVolume).
   */
  async createVolume(
    name: string,
    options: { uid: number; gid: number; labels: Record<string, string>; memory?: boolean }
  ): Promise<void> {
    const argv = ['volume', 'create']
    if (options.memory) argv.push('--opt', 'type=tmpfs', '--opt', 'device=tmpfs')
    argv.push('--opt', `o=uid=${options.uid},gid=${options.gid}`)
    for (const [label, value] of Object.entries(options.labels))
      argv.push('--label', `${label}=${value}`)
    await this.podman([...argv, name])
  }

  /**
   * Mounts a volume and holds it mounted until unmountVolume (podman counts mounts and unmounts
   * at zero: a tmpfs volume's files would vanish when its container stops). Returns the path.
   */
  async mountVolume(name: string): Promise<string> {
    return (await this.podman(['volume', 'mount', name])).trim()
  }

  async unmountVolume(name: string): Promise<void> {
    await this.podman(['volume', 'unmount', name])
  }

  async removeVolume(name: string): Promise<void> {
    await this.podman(['volume', 'rm', '--force', name])
  }

  /** Names of the volumes carrying `label=value`. */
  async volumesLabelled(label: string, value: string): Promise<string[]> {
    const out = await this.podman([
      'volume',
      'ls',
      '--quiet',
      '--filter',
      `label=${label}=${value}`
    ])
    return out.split('\n').filter(Boolean)
  }

  /** Names of the containers, running or not, that mount volume `name`. */
  async containersUsingVolume(name: string): Promise<string[]> {
    const out = await this.podman([
      'ps',
      '--all',
      '--filter',
      `volume=${name}`,
      '--format',
      '{{.Names}}'
    ])
    return out.split('\n').filter(Boolean)
  }

  /**
   * Writes a root-owned file of mode 0644 (a configuration runc and CRIU read), atomically:
   * two jobs on one self-hosted runner may write it at once.
   */
  async writeRootFile(path: string, content: string): Promise<void> {
    const script =
      'mkdir -p "$(dirname "$1")" && cat > "$1.$$" && chmod 0644 "$1.$$" && mv -f "$1.$$" "$1"'
    const argv = [...commandPrefix(this.uid), 'sh', '-c', script, 'sh', path]
    const result = await this.runner(argv, { input: content })
    if (result.exitCode !== 0) {
      throw new Error(describeCommandFailure(`writing ${path}`, result.exitCode, result.stderr))
    }
  }

  /** The argv that runs `argv` as root: as is when root, else through `sudo -n`. */
  asRoot(argv: string[]): string[] {
    return [...commandPrefix(this.uid), ...argv]
  }

  async pull(image: string): Promise<void> {
    await this.podman(['pull', '--quiet', image])
  }

  async tag(image: string, name: string): Promise<void> {
    await this.podman(['tag', image, name])
  }

  /**
   * The manifest digest, raw config and user of an image in its registry, without pulling its layers (skopeo, run as
   * podman is, so that it sees the same registries and credentials). Throws when skopeo is
   * missing or the registry cannot be asked.
   */
  async inspectRemoteImage(
    image: string
  ): Promise<{ digest: string; rawConfig: string; user?: string }> {
    const skopeo = async (argv: string[]): Promise<string> => {
      const result = await this.runner([...commandPrefix(this.uid), 'skopeo', ...argv])
      if (result.exitCode !== 0) {
        throw new PodmanError(['skopeo', ...argv], result.exitCode, tail(result.stderr, 3))
      }
      return result.stdout
    }
    const reference = `docker://${image}`
    // skopeo does not read CONTAINERS_REGISTRIES_CONF as podman does: hand it over.
    const registries = process.env.CONTAINERS_REGISTRIES_CONF
    const global = registries ? ['--registries-conf', registries] : []
    // The config as the registry serves it, byte for byte: its digest is the image's ID.
    const [digest, rawConfig] = await Promise.all([
      skopeo([...global, 'inspect', '--no-tags', '--format', '{{.Digest}}', reference]),
      skopeo([...global, 'inspect', '--config', '--raw', reference])
    ])
    const user = (JSON.parse(rawConfig) as { config?: { User?: string } }).config?.User
    return { digest: digest.trim(), rawConfig, user: user || undefined }
  }

  async logs(container: string, lines = 20): Promise<string> {
    const result = await this.attempt(['logs', '--tail', String(lines), container])
    return (result.stdout + result.stderr).trim()
  }

  async version(): Promise<PodmanVersion> {
    return JSON.parse(await this.podman(['version', '--format', 'json'])) as PodmanVersion
  }

  async info(): Promise<PodmanInfo> {
    return JSON.parse(await this.podman(['info', '--format', 'json'])) as PodmanInfo
  }

  /** Shapes a failure; for a checkpoint or restore, adds the CRIU log's error lines. */
  private async failure(argv: string[], result: CommandResult): Promise<PodmanError> {
    const logPath = criuLogPath(result.stderr)
    let criuErrors: string[] = []
    if (logPath) {
      const log = await this.runner([...commandPrefix(this.uid), 'cat', logPath])
      if (log.exitCode === 0) criuErrors = criuErrorLines(log.stdout)
    }
    return new PodmanError(argv, result.exitCode, tail(result.stderr, 6), criuErrors)
  }
}
