// How errors and sizes read in warmstart's messages.
import { PodmanError } from './podman.js'

export function message(error: unknown): string {
  return error instanceof PodmanError || error instanceof Error ? error.message : String(error)
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}
