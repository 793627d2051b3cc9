// Registry credentials from where the container ecosystem keeps them: the auth file `podman
// login` writes (REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json), the one
// skopeo and buildah also read (~/.config/containers/auth.json), and docker's
// (${DOCKER_CONFIG:-~/.docker}/config.json), in the order containers-auth.json(5) reads them.
// The Action may pass a token instead (its `registry-token` input). Credentials are never
// logged: nothing here formats them into a message.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Credentials {
  username: string
  password: string
}

/** The auth files to read, first found first; `REGISTRY_AUTH_FILE` alone when it is set. */
export function authFilePaths(env: NodeJS.ProcessEnv, home: string): string[] {
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE]
  const paths: string[] = []
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'))
  paths.push(join(home, '.config', 'containers', 'auth.json'))
  paths.push(join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json'))
  return paths
}

/**
 * The credentials an auth file holds for `registry` (host[:port]): `auths[registry].auth` is
 * base64 of `user:password`. Entries may also be filed under `registry/repository` (the most
 * specific wins, as in containers-auth.json(5)) or, in docker's files, as a URL.
 */
export function credentialsIn(
  text: string,
  registry: string,
  repository: string
): Credentials | undefined {
  let auths: Record<string, { auth?: string }>
  try {
    auths = (JSON.parse(text) as { auths?: Record<string, { auth?: string }> }).auths ?? {}
  } catch {
    return undefined
  }
  const components = repository.split('/')
  const scopes = components.map(
    (_, i) => `${registry}/${components.slice(0, components.length - i).join('/')}`
  )
  const candidates = [...scopes, registry, `https://${registry}`, `http://${registry}`]
  for (const candidate of candidates) {
    const encoded = auths[candidate]?.auth
    if (!encoded) continue
    const decoded = Buffer.from(encoded, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  return undefined
}

/** The first credentials filed for the registry in the auth files; undefined when none are. */
export function readCredentials(
  registry: string,
  repository: string,
  env: NodeJS.ProcessEnv,
  home: string
): Credentials | undefined {
  for (const path of authFilePaths(env, home)) {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch {
      continue // absent or unreadable: the next file
    }
    const found = credentialsIn(text, registry, repository)
    if (found) return found
  }
  return undefined
}

/**
 * The credentials the Action sends: its `registry-token` input as the password of GITHUB_ACTOR
 * (GHCR takes any user name with a GITHUB_TOKEN), else what the runner user logged in with.
 */
export function actionCredentials(
  registry: string,
  repository: string,
  token: string | undefined,
  env: NodeJS.ProcessEnv,
  home: string
): Credentials | undefined {
  if (token) return { username: env.GITHUB_ACTOR || 'warmstart', password: token }
  return readCredentials(registry, repository, env, home)
}
