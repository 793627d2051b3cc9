// The host fingerprint the key and manifest unit tests share: this project's CI machine.
import type { HostFingerprint } from '../src/host/host.js'

export const HOST: HostFingerprint = {
  arch: 'amd64',
  cpuVendor: 'GenuineIntel',
  cpuModel: 'Intel(R) Xeon(R) Processor @ 2.80GHz',
  cpuFlags: ['aes', 'avx', 'avx2', 'avx512f', 'sse4_2'],
  kernel: '6.18.44-fc-v657',
  criu: '4.2.1',
  podman: '4.3.1',
  runtime: 'runc 1.1.5',
  cgroup: 'v2',
  criuConfig: 'none',
  cpus: 2,
  memoryGiB: 24
}
