// A host played by a CommandRunner: podman, CRIU's check and `cat` of CRIU's log answer from a
// small model of containers and from outputs recorded on a real host (__tests__/fixtures). The
// real Podman, HostReader and engine run over it, so `up`'s decisions are tested without podman.
// What a podman command does to files (an export) is done for real with tar.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CommandResult, CommandRunner } from '../../src/podman.js'

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname
export const fixture = (path: string): string => readFileSync(join(FIXTURES, path), 'utf8')

/** What the played host does when asked; each defaults to what a healthy host does. */
export interface FakeHostBehaviour {
  /** `criu --version && criu check` fails as on a host without CRIU. */
  criuMissing?: boolean
  /** `podman container checkpoint` fails with CRIU's rlimit error, the service left running. */
  checkpointFails?: boolean
  /** `podman container restore --keep` (resume in place) fails. */
  resumeInPlaceFails?: boolean
  /** `podman container restore --import` fails as a damaged restore did on a real host. */
  importFails?: boolean
  /** `podman container restore --import` hangs until its time limit stops it. */
  importHangs?: boolean
  /** `podman container checkpoint` hangs until its time limit stops it, the service frozen. */
  checkpointHangs?: boolean
  /** What reading AppArmor's state gives (fixtures/host/apparmor-*.txt); default: absent. */
  appArmor?: string
  /** The users the service's processes run as (`podman top NAME user`); default: root. */
  processUsers?: string[]
  /** Writing a root-owned file fails (sudo refuses). */
  rootWriteFails?: boolean
}

interface Container {
  id: string
  running: boolean
}

const ok = (stdout = ''): CommandResult => ({ exitCode: 0, stdout, stderr: '' })
const fail = (stderr: string, exitCode = 125): CommandResult => ({ exitCode, stdout: '', stderr })
/** What runCommand answers for a command it stopped at its time limit. */
const stopped = (): CommandResult => ({ exitCode: 124, stdout: '', stderr: '', timedOut: true })

export class FakeHost {
  readonly calls: string[][] = []
  readonly containers = new Map<string, Container>()
  private next = 1

  constructor(
    public behaviour: FakeHostBehaviour = {},
    readonly image = { name: 'localhost/fake/redis:7', id: 'ab'.repeat(32), user: '' }
  ) {}

  /** The podman commands run, as `podman ARGS...` lines, for assertions. */
  podmanCalls(): string[] {
    return this.calls.filter((argv) => argv[0] === 'podman').map((argv) => argv.join(' '))
  }

  /** Root-owned files written (Podman.writeRootFile), by path. */
  readonly files = new Map<string, string>()

  /** The time limit each podman command was given, in the order run. */
  readonly timeouts: Array<number | undefined> = []

  readonly runner: CommandRunner = async (argv, options) => {
    this.calls.push(argv)
    if (argv[0] === 'podman') this.timeouts.push(options?.timeoutSeconds)
    const [tool, ...args] = argv
    if (tool === 'sh' && argv[2]?.includes('check')) return this.criuCheck()
    // Podman.writeRootFile: the played host keeps what was written.
    if (tool === 'sh' && argv[2]?.includes('cat >')) {
      if (this.behaviour.rootWriteFails) return fail('sudo: a password is required', 1)
      this.files.set(argv[4] as string, options?.input ?? '')
      return ok()
    }
    if (tool === 'sh' && argv[2]?.includes('apparmor'))
      return ok(this.behaviour.appArmor ?? fixture('host/apparmor-absent.txt'))
    // The script that kills a removed container's runtime processes: there are none here.
    if (tool === 'sh' && argv[2]?.includes('pgrep')) return ok()
    if (tool === 'cat') return ok(fixture('podman/criu-dump-rlimit.log'))
    if (tool === 'podman') return this.podman(args)
    return fail(`${tool}: not played by the fake host`, 127)
  }

  private criuCheck(): CommandResult {
    if (this.behaviour.criuMissing) return fail(fixture('host/criu-missing.stderr.txt'), 127)
    return ok(fixture('host/criu-version.txt') + fixture('host/criu-check-ok.stdout.txt'))
  }

  private podman(args: string[]): CommandResult {
    const [verb, ...rest] = args
    const last = args[args.length - 1] as string
    const joined = args.join(' ')
    if (verb === 'info') return ok(fixture('podman/info.json'))
    if (verb === 'version') return ok(fixture('podman/version.json'))
    if (joined.startsWith('image inspect')) {
      if (last !== this.image.name) return fail(`Error: ${last}: image not known`)
      return ok(JSON.stringify([{ Id: this.image.id, Config: { User: this.image.user } }]))
    }
    if (joined.startsWith('container exists'))
      return { ...ok(), exitCode: this.containers.has(last) ? 0 : 1 }
    // A created container is not running; `init` sets it up without starting it.
    if (verb === 'create')
      return ok(`${this.create(rest[rest.indexOf('--name') + 1] as string, false)}\n`)
    if (verb === 'init')
      return this.containers.has(last) ? ok() : fail(`Error: no container ${last}`)
    if (verb === 'run')
      return ok(`${this.create(rest[rest.indexOf('--name') + 1] as string, true)}\n`)
    if (joined.startsWith('container inspect')) return this.inspect(last, args.includes('--format'))
    if (verb === 'rm') {
      this.containers.delete(last)
      return ok()
    }
    if (joined.startsWith('volume ls')) return ok('')
    if (verb === 'ps') return ok('[]')
    if (verb === 'logs') return ok('')
    if (verb === 'top') return ok(['USER', ...(this.behaviour.processUsers ?? ['root'])].join('\n'))
    if (joined.startsWith('container checkpoint')) return this.checkpoint(args, last)
    if (joined.startsWith('container restore')) return this.restore(args, last)
    return fail(`podman ${joined}: not played by the fake host`)
  }

  private create(name: string, running: boolean): string {
    const id = String(this.next++).padStart(64, 'c')
    this.containers.set(name, { id, running })
    return id
  }

  private inspect(name: string, formatId: boolean): CommandResult {
    const container = this.containers.get(name)
    if (!container) return fail(`Error: no such container ${name}`)
    if (formatId) return ok(`${container.id}\n`)
    const status = container.running ? 'running' : 'exited'
    return ok(
      JSON.stringify([
        {
          Id: container.id,
          Name: name,
          Image: this.image.id,
          State: { Status: status, Running: container.running, Pid: 1, ExitCode: 0 },
          Mounts: []
        }
      ])
    )
  }

  /** Writes a real (tiny) checkpoint export, as podman's tar of CRIU's images would be. */
  private checkpoint(args: string[], name: string): CommandResult {
    const container = this.containers.get(name)
    if (!container?.running) return fail(`Error: container ${name} is not running`)
    if (this.behaviour.checkpointFails)
      return fail(fixture('podman/checkpoint-nonroot-rlimit.stderr.txt'))
    if (this.behaviour.checkpointHangs) return stopped()
    const exportPath = args[args.indexOf('--export') + 1] as string
    const dir = mkdtempSync(join(tmpdir(), 'warmstart-fake-export-'))
    try {
      mkdirSync(join(dir, 'checkpoint'))
      writeFileSync(join(dir, 'checkpoint', 'inventory.img'), `pages of ${name}`)
      writeFileSync(join(dir, 'config.dump'), JSON.stringify({ name }))
      execFileSync('tar', ['-cf', exportPath, '-C', dir, 'checkpoint', 'config.dump'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    container.running = false
    return ok()
  }

  private restore(args: string[], last: string): CommandResult {
    if (args.includes('--import')) {
      if (this.behaviour.importFails)
        return fail(fixture('podman/restore-corrupt-pages.stderr.txt'))
      if (this.behaviour.importHangs) {
        // podman had made the container when it was stopped.
        this.create(args[args.indexOf('--name') + 1] as string, false)
        return stopped()
      }
      const name = args[args.indexOf('--name') + 1] as string
      const id = this.create(name, true)
      if (!args.includes('--print-stats')) return ok(`${id}\n`)
      // What podman 4.3 printed for a real restore, naming this container.
      const stats = JSON.parse(fixture('podman/restore-print-stats.json'))
      stats.container_statistics[0].Id = id
      return ok(JSON.stringify(stats, null, 4))
    }
    const container = this.containers.get(last)
    if (!container) return fail(`Error: no such container ${last}`)
    if (this.behaviour.resumeInPlaceFails) return fail('Error: criu failed: type RESTORE errno 0')
    container.running = true
    return ok(`${container.id}\n`)
  }
}
