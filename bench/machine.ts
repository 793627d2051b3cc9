// What the numbers were measured on: CPU, kernel, podman, runtime, CRIU, and how busy it was.
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { HostReader, parseCpuinfo } from '../src/host/host.js'
import type { Podman } from '../src/podman.js'
import type { HostInfo } from './report.js'

export async function hostInfo(podman: Podman): Promise<HostInfo> {
  const reader = new HostReader({ podman })
  const criu = await reader.criuStatus()
  const fingerprint = await reader.fingerprint(criu)
  return {
    cpu: parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8')).model || fingerprint.arch,
    cores: cpus().length,
    kernel: fingerprint.kernel,
    podman: fingerprint.podman,
    criu: criu.ok ? criu.version : `unusable: ${criu.reason ?? 'unknown'}`,
    // `runc runc version 1.1.5+ds1` -> `runc 1.1.5+ds1`
    runtime: fingerprint.runtime.replace(/^(\S+) \1 version /, '$1 '),
    load_average: Math.round((loadavg()[0] ?? 0) * 100) / 100
  }
}
