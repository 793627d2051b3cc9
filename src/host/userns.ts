// Why some services need a user namespace to be checkpointed, and on which hosts.
//
// CRIU reads the resource limits of every process it dumps (prlimit). For a process of another
// uid that needs CAP_SYS_RESOURCE over it. Some hosts withhold that capability even from root
// (it is missing from the bounding set): a service that runs as a non-root user, PostgreSQL's
// `postgres` for one, then fails to dump with `Can't get rlimit 0: Operation not permitted`.
// GitHub's runners have the capability under `sudo`, so none of this applies there.
//
// The way round it: run the container in its own user namespace. Root outside owns that namespace
// and so holds every capability inside it, CAP_SYS_RESOURCE included. Two podman 4 limits come
// with it: a user-namespaced container's network is not restored (it comes back without an IP),
// so it uses the host's network; and sysfs cannot be mounted there, so /sys is a tmpfs. With the
// host's network, ports cannot be published: the service listens on the host port directly.
import { readFileSync } from 'node:fs'

const CAP_SYS_RESOURCE = 24n

/** Whether a capability set, as `/proc/self/status` prints it (`CapBnd: 000001fffeffffff`), holds CAP_SYS_RESOURCE. */
export function hasSysResource(capabilityHex: string): boolean {
  return ((BigInt(`0x${capabilityHex.trim()}`) >> CAP_SYS_RESOURCE) & 1n) === 1n
}

/** The bounding capability set from the text of `/proc/self/status`. */
export function boundingSet(procStatus: string): string | undefined {
  return /^CapBnd:\s*([0-9a-f]+)$/m.exec(procStatus)?.[1]
}

/** Whether root on this host may read other users' rlimits, which CRIU needs to dump them. */
export function hostCanDumpOtherUsers(
  procStatus = readFileSync('/proc/self/status', 'utf8')
): boolean {
  const set = boundingSet(procStatus)
  return set === undefined ? true : hasSysResource(set)
}

/** Whether an image's configured user is someone other than root. */
export function runsAsNonRoot(imageUser: string | undefined): boolean {
  const user = (imageUser ?? '').split(':')[0] ?? ''
  return user !== '' && user !== 'root' && user !== '0'
}

/** The `podman run` options that make a non-root service checkpointable on such a host. */
export const USERNS_RUN_OPTIONS: readonly string[] = [
  '--uidmap=0:100000:65536',
  '--gidmap=0:100000:65536',
  '--network=host',
  '--tmpfs=/sys'
]

/** Whether a service must run in a user namespace here to be checkpointed. */
export function needsUserNamespace(
  host: { canDumpOtherUsers: boolean },
  imageUser?: string
): boolean {
  return !host.canDumpOtherUsers && runsAsNonRoot(imageUser)
}

/**
 * How a service runs on this host so that it can be checkpointed, decided before anything runs
 * (the warm job must reach the same decision, and so the same key, before its lookup):
 * - `plain`: no user namespace; the host can dump any uid, or the service cannot need one.
 * - `userns`: in a user namespace on the host network (see above).
 * - `plain-check-uids`: the image's user is root but it may drop to another uid at start, as the
 *   official database images do (gosu); its ports keep it off the host network, so it runs plain,
 *   and the uids its processes really run as decide before the checkpoint whether one can work.
 * - `no-checkpoint`: a non-root image whose ports cannot map to the same number on the host.
 */
export type UserNamespaceDecision = 'plain' | 'userns' | 'plain-check-uids' | 'no-checkpoint'

export function decideUserNamespace(
  host: { canDumpOtherUsers: boolean },
  imageUser: string | undefined,
  ports: Array<{ host: number; container: number }>
): UserNamespaceDecision {
  if (host.canDumpOtherUsers) return 'plain'
  const sameNumbers = ports.every((port) => port.host === port.container)
  if (needsUserNamespace(host, imageUser)) return sameNumbers ? 'userns' : 'no-checkpoint'
  // A root image: the user namespace dumps whatever uid it drops to, when its ports allow the
  // host network; a service without ports stays off it (it would take its port on the host).
  return ports.length && sameNumbers ? 'userns' : 'plain-check-uids'
}

/** The users (names or uids) of a container's processes that are not root. */
export function nonRootUsers(users: string[]): string[] {
  return [...new Set(users.filter((user) => user !== 'root' && user !== '0'))]
}
