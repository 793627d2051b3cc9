// Read: everything `up` and `warmstart key` need to know before deciding anything, gathered in
// one place. Nothing here starts, pulls or removes: the same facts give the same plan and key
// (see decide.ts), whoever asks.
import { existsSync, readFileSync, statSync } from 'node:fs'
import type { AppArmorState } from '../host/apparmor.js'
import {
  HostReader,
  readRuncCriuConfig,
  type CriuStatus,
  type HostFingerprint
} from '../host/host.js'
import { readImage, type ImageFacts } from '../image.js'
import type { Podman } from '../podman.js'
import { splitWords, type ServiceSpec } from '../spec.js'

export interface Facts {
  image: ImageFacts
  criu: CriuStatus
  host: HostFingerprint
  /** Whether root here may dump processes of other uids (see src/host/userns.ts). */
  canDumpOtherUsers: boolean
  /** Whether AppArmor is on and which profiles are loaded (see src/host/apparmor.ts). */
  appArmor: AppArmorState
  /** The text of /etc/criu/runc.conf ('' if none): the CRIU options runc passes by default. */
  runcCriuConfig: string
  /** The version of warmstart's runtime wrapper podman runs (0: plain runc, or another). */
  runtimeWrapper: number
  /** The contents of a script file the warm-up names, if it names one. */
  warmupScript?: string
}

export interface FactSources {
  podman: Podman
  /** Reads the host; tests substitute one that plays a host without CRIU. */
  host?: HostReader
}

export async function gatherFacts(spec: ServiceSpec, sources: FactSources): Promise<Facts> {
  const host = sources.host ?? new HostReader({ podman: sources.podman })
  const [image, criu, appArmor, runtimeWrapper] = await Promise.all([
    readImage(sources.podman, spec.image),
    host.criuStatus(),
    host.appArmor(),
    host.runtimeWrapperVersion()
  ])
  return {
    image,
    criu,
    host: await host.fingerprint(criu),
    canDumpOtherUsers: host.canDumpOtherUsers(),
    appArmor,
    runcCriuConfig: readRuncCriuConfig(),
    runtimeWrapper,
    warmupScript: warmupScriptContents(spec.warmup)
  }
}

/** The contents of a script file the warm-up's first word names, so that editing it changes the key. */
export function warmupScriptContents(warmup: string): string | undefined {
  if (!warmup) return undefined
  let words: string[]
  try {
    words = splitWords(warmup)
  } catch {
    return undefined
  }
  const candidates = words.slice(0, 2).filter((word) => /[/.]/.test(word) && existsSync(word))
  const file = candidates.find((word) => statSync(word).isFile())
  return file ? readFileSync(file, 'utf8') : undefined
}
