// Where `install: true` gets a CRIU that works on the runner's kernel: a pure decision over the
// runner's os-release, kernel, architecture, the CRIU it already has and what its distribution's
// archive offers (`apt-cache policy criu`). scripts/install-runner.sh then tries the sources in
// order and keeps the first whose CRIU passes its minimum version and dumps a TCP listener.
//
// Why these rules, each from public evidence (the platform notes cite them in full):
// - CRIU before 4.2 cannot dump any inet socket on kernels >= 6.16 ("Can't get 1:16 opt",
//   criu issues 2705/2804/2829, fixed in 4.2) although `criu check` passes. GitHub's ubuntu-24.04
//   runners run 6.17, ubuntu-26.04 runs 7.0.
// - The distribution's archive first: Ubuntu 26.04 and Debian sid ship a CRIU 4.2 of their own,
//   and adding CRIU's PPA on 26.04 broke dpkg for nerdctl (containerd/nerdctl#5111, #5117).
// - Then CRIU upstream's PPA (Ubuntu only, up to 24.04), then the OBS project devel:tools:criu,
//   which runc's own CI uses on ubuntu-24.04 and ubuntu-24.04-arm.
import { parseOsRelease } from './os-release.js'

export type CriuSource = 'archive' | 'ppa' | 'obs'

/** The oldest CRIU warmstart uses: podman's checkpoint features and runc's config file need 3.17+. */
export const CRIU_MINIMUM = '4.0'
/** Kernels from 6.16 on changed SO_PASSCRED's getsockopt; CRIU 4.2 is the first to cope. */
export const CRIU_MINIMUM_NEW_KERNEL = '4.2'
const NEW_KERNEL: [number, number] = [6, 16]
/** Ubuntu releases from 26.04 on: their archive has CRIU 4.2, and the PPA broke dpkg there. */
const UBUNTU_WITHOUT_PPA: [number, number] = [26, 4]

export interface CriuFacts {
  /** /etc/os-release's text. */
  osRelease: string
  /** `uname -r`: 6.17.0-1010-azure. */
  kernel: string
  /** The CRIU on PATH: `criu --version`'s number, or undefined when there is none. */
  installed?: string
  /**
   * `apt-cache policy criu`'s output; undefined when it was not read (the packages came from the
   * Actions cache): the archive is then tried, and the script checks its version.
   */
  aptPolicy?: string
}

export interface CriuPlan {
  /** The version a CRIU must have on this kernel. */
  minimum: string
  /** Sources to try, in order; empty when the installed CRIU is recent enough (still probed). */
  sources: CriuSource[]
  /** Why: one line for the job's log. */
  reason: string
  /** The OBS repository directory for this release (xUbuntu_24.04, Debian_12), when it has one. */
  obsRepository?: string
  /** The Ubuntu release for the PPA. */
  codename?: string
}

/** The minimum CRIU for a kernel release such as 6.17.0-1010-azure. */
export function criuMinimumFor(kernel: string): string {
  return atLeast(kernel, NEW_KERNEL) ? CRIU_MINIMUM_NEW_KERNEL : CRIU_MINIMUM
}

/**
 * Whether a Debian package version (epoch:upstream-revision) or a plain version is at least
 * `minimum` (dotted numbers). Only the upstream part counts: 1:4.2-1ubuntu1 is 4.2.
 */
export function versionAtLeast(version: string, minimum: string): boolean {
  const upstream = version.replace(/^\d+:/, '').split(/[-~+]/)[0] ?? ''
  const have = upstream.split('.').map((part) => Number.parseInt(part, 10) || 0)
  const want = minimum.split('.').map((part) => Number.parseInt(part, 10) || 0)
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    const a = have[i] ?? 0
    const b = want[i] ?? 0
    if (a !== b) return a > b
  }
  return true
}

/** The candidate version in `apt-cache policy criu`'s output, or undefined for none. */
export function aptCandidate(policy: string): string | undefined {
  const candidate = /^\s*Candidate:\s*(\S+)/m.exec(policy)?.[1]
  return candidate && candidate !== '(none)' ? candidate : undefined
}

/** The CRIU sources for this runner, in the order to try them. */
export function planCriu(facts: CriuFacts): CriuPlan {
  const os = parseOsRelease(facts.osRelease)
  const minimum = criuMinimumFor(facts.kernel)
  const onKernel = `on kernel ${facts.kernel} (CRIU >= ${minimum})`
  const ubuntu = os.ID === 'ubuntu' || os.ID_LIKE.includes('ubuntu')
  const codename = ubuntu ? os.UBUNTU_CODENAME || os.VERSION_CODENAME : undefined
  // OBS names Ubuntu repositories by the Ubuntu version (derivatives do not say it: none).
  const obsRepository =
    os.ID === 'ubuntu' && os.VERSION_ID
      ? `xUbuntu_${os.VERSION_ID}`
      : os.ID === 'debian' && /^\d+$/.test(os.VERSION_ID)
        ? `Debian_${os.VERSION_ID}`
        : undefined

  if (facts.installed && versionAtLeast(facts.installed, minimum)) {
    return {
      minimum,
      sources: [],
      reason: `CRIU ${facts.installed} is installed and recent enough ${onKernel}: proving it with a TCP-listener dump`
    }
  }

  const sources: CriuSource[] = []
  const notes: string[] = []
  if (facts.aptPolicy === undefined) {
    sources.push('archive')
  } else {
    const archive = aptCandidate(facts.aptPolicy)
    if (archive && versionAtLeast(archive, minimum)) sources.push('archive')
    else
      notes.push(archive ? `the archive's CRIU ${archive} is too old` : 'the archive has no CRIU')
  }

  if (ubuntu && codename) {
    if (os.ID === 'ubuntu' && atLeast(os.VERSION_ID, UBUNTU_WITHOUT_PPA))
      notes.push(`CRIU's PPA is not used on Ubuntu ${os.VERSION_ID}`)
    else sources.push('ppa')
  }
  if (obsRepository) sources.push('obs')

  const had = facts.installed
    ? `CRIU ${facts.installed} is too old ${onKernel}`
    : `no CRIU is installed`
  const tried = sources.length
    ? `trying ${sources.map(describeSource).join(', then ')}`
    : 'no source of CRIU is known for this system'
  return {
    minimum,
    sources,
    reason: `${had}; ${[...notes, tried].join('; ')}`,
    obsRepository,
    codename
  }
}

/** Whether a version such as 6.17.0-1010-azure or 26.04 is at least [major, minor]. */
function atLeast(version: string, [wantMajor, wantMinor]: [number, number]): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0)
  return major > wantMajor || (major === wantMajor && minor >= wantMinor)
}

function describeSource(source: CriuSource): string {
  return { archive: "the distribution's archive", ppa: "CRIU's PPA", obs: 'OBS devel:tools:criu' }[
    source
  ]
}
