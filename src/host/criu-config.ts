// CRIU's options for the containers warmstart runs, in a per-container configuration file.
//
// runc hands CRIU one extra configuration file: /etc/criu/runc.conf, or instead the file the
// container's annotation `org.criu.config` names (runc's docs/checkpoint-restore.md). warmstart
// writes one holding runc.conf's lines (the CPU check, `cpu-cap`) and its own, names it by its
// digest, and puts the annotation on every container it starts; a restored container carries
// the annotation in its checkpoint, so the same file must exist on the restoring host (the key
// holds the digest, and `up` writes the file before any start or restore).
//
// warmstart's own line: `tcp-close`. A connection a client reset while the service had not yet
// closed its end is dumped in state TCP_CLOSE, and CRIU refuses to restore such a socket
// ("inet: Connected TCP socket in image") unless told to restore connected sockets closed. Seen
// with Tomcat behind a load generator: no warm start ever. Left out when the spec asks for
// tcp-established, which restores connections open.
import { createHash } from 'node:crypto'
import type { ServiceSpec } from '../spec.js'

/** Where warmstart's CRIU configuration files live: root's, read by runc and CRIU. */
export const CRIU_CONFIG_DIR = '/etc/warmstart/criu'

/** The annotation runc reads the file's path from. */
export const CRIU_CONFIG_ANNOTATION = 'org.criu.config'

export interface CriuConfigFile {
  path: string
  content: string
  /** The content's SHA-256, for the key. */
  digest: string
}

/** The file for this spec on a host whose /etc/criu/runc.conf holds `runcConf` ('' if none). */
export function criuConfigFile(spec: ServiceSpec, runcConf: string): CriuConfigFile {
  const own = spec.tcpEstablished ? [] : ['tcp-close']
  const content = [
    `# Written by warmstart: CRIU's options for the containers it starts (${CRIU_CONFIG_ANNOTATION}).`,
    '# The lines of /etc/criu/runc.conf, which runc reads instead of this file otherwise:',
    runcConf.trimEnd(),
    "# warmstart's own:",
    ...own,
    ''
  ].join('\n')
  const digest = createHash('sha256').update(content).digest('hex')
  return { path: `${CRIU_CONFIG_DIR}/${digest.slice(0, 16)}.conf`, content, digest }
}
