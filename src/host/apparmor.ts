// AppArmor and restores. podman loads its default profile for containers (containers-default-
// VERSION) when it initialises a container it creates or runs, but `restore --import` builds the
// container from the checkpoint without that step, and CRIU restores the processes into the
// profile they had. On a fresh VM with AppArmor enabled (GitHub's runners) the profile has never
// been loaded: the restore then fails (`can't write lsm profile`) or hangs (podman issue 12437,
// criu issue 2464; podman PR 2114 made loading happen at initialisation). So before a restore on
// such a host warmstart initialises a throwaway container of the image, which loads it.
// Reading is HostReader.appArmor (src/host/host.ts); parsing and deciding are pure, here.

export interface AppArmorState {
  /** The kernel enforces AppArmor (/sys/module/apparmor/parameters/enabled is Y). */
  enabled: boolean
  /** The names of the loaded profiles (/sys/kernel/security/apparmor/profiles). */
  profiles: string[]
}

/** The prefix of podman's default profile for containers; its version follows. */
export const PODMAN_PROFILE_PREFIX = 'containers-default-'

/** Separates the two files in what HostReader.appArmor reads. */
export const APPARMOR_SEPARATOR = '--- profiles'

/**
 * The state from `cat enabled; echo SEPARATOR; cat profiles` (either may be missing). A profile
 * line reads `name (mode)`.
 */
export function parseAppArmor(text: string): AppArmorState {
  const [enabled = '', profiles = ''] = text.split(`${APPARMOR_SEPARATOR}\n`)
  return {
    enabled: enabled.trim() === 'Y',
    profiles: profiles
      .split('\n')
      .map((line) => line.replace(/\s+\([^)]*\)\s*$/, '').trim())
      .filter(Boolean)
  }
}

/** Whether podman's profile must be loaded before a restore can use it. */
export function mustLoadPodmanProfile(state: AppArmorState): boolean {
  return state.enabled && !state.profiles.some((name) => name.startsWith(PODMAN_PROFILE_PREFIX))
}
