// The cache key: everything a checkpoint depends on, composed by one pure function.
//
// Shape: warmstart-<name>-<host digest>-<user key>-<spec digest>. The host digest comes before the
// user's part so that every restore-key prefix a user writes (`v1-`) still pins the host: a
// partial hit can never cross CPUs, kernels or CRIU versions.
import { createHash } from 'node:crypto'
import type { HostFingerprint } from './host/host.js'
import type { ServiceSpec } from './spec.js'

/** Bumped when what warmstart stores, or how it restores it, changes incompatibly. */
export const CHECKPOINT_FORMAT = 2

export interface KeyInputs {
  spec: ServiceSpec
  /** The image's identity after pull: its digest or image ID, never the tag. */
  imageId: string
  /** The contents of a script file the warm-up names, if it names one. */
  warmupScript?: string
  host: HostFingerprint
  /** Whether the service runs in a user namespace here (changes the container it restores). */
  userNamespace: boolean
  /** The digest of the container's CRIU configuration file (src/host/criu-config.ts). */
  criuConfigDigest: string
}

export interface CacheKey {
  key: string
  /** `warmstart-<name>-<host digest>-`: what restore keys are prefixed with. */
  prefix: string
  /** The digest of the service's spec: the key's last part. */
  specDigest: string
  /** Every component and its value (digests of secrets only), for --explain and debug logs. */
  components: Record<string, string>
}

export function composeKey(inputs: KeyInputs): CacheKey {
  const { spec, host } = inputs
  const hostComponents: Record<string, string> = {
    'host.arch': host.arch,
    'host.cpu-vendor': host.cpuVendor,
    'host.cpu-model': host.cpuModel,
    'host.cpu-flags': digest(host.cpuFlags.join(' ')),
    'host.kernel': host.kernel,
    'host.criu': host.criu,
    'host.podman': host.podman,
    'host.runtime': host.runtime,
    'host.cgroup': host.cgroup,
    'host.criu-config': host.criuConfig,
    'host.cpus': String(host.cpus),
    'host.memory-gib': String(host.memoryGiB),
    format: String(CHECKPOINT_FORMAT)
  }
  const specComponents: Record<string, string> = {
    image: inputs.imageId,
    ports: [...spec.ports].sort().join(' '),
    // Values may be secrets: only their digest is shown.
    env: digest(canonicalEnv(spec.env)),
    options: spec.options.join(' '),
    command: JSON.stringify(spec.command),
    warmup: spec.warmup,
    refresh: spec.refresh,
    'warmup-script': inputs.warmupScript === undefined ? '' : digest(inputs.warmupScript),
    'file-locks': String(spec.fileLocks),
    'tcp-established': String(spec.tcpEstablished),
    'user-namespace': String(inputs.userNamespace),
    'criu-config': inputs.criuConfigDigest.slice(0, 16)
  }
  const prefix = `warmstart-${spec.name}-${digest(canonical(hostComponents)).slice(0, 12)}-`
  const user = spec.key ? `${spec.key}-` : ''
  const specDigest = digest(canonical(specComponents)).slice(0, 16)
  const key = `${prefix}${user}${specDigest}`
  return {
    key,
    prefix,
    specDigest,
    components: { ...hostComponents, ...specComponents, key: spec.key }
  }
}

/** Restore keys as the user writes them (`v1-`), made into full prefixes on this host. */
export function restoreKeyPrefixes(prefix: string, restoreKeys: string[]): string[] {
  return restoreKeys.map((restoreKey) => `${prefix}${restoreKey}`)
}

function canonicalEnv(env: Record<string, string>): string {
  return Object.keys(env)
    .sort()
    .map((name) => `${name}=${env[name]}`)
    .join('\n')
}

function canonical(components: Record<string, string>): string {
  return Object.keys(components)
    .sort()
    .map((name) => `${name}=${components[name]}`)
    .join('\n')
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
