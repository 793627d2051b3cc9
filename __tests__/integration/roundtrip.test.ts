// The first real checkpoint round trip, for each service image: data written through the real
// client before `podman container checkpoint --export` is read back through the same client on
// the same port after the container is removed and `podman container restore --import`ed.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { join } from 'node:path'
import { Podman, type RunOptions } from '../../src/podman.js'
import {
  USERNS_RUN_OPTIONS,
  hostCanDumpOtherUsers,
  needsUserNamespace
} from '../../src/host/userns.js'
import {
  IMAGES,
  eventually,
  freePort,
  mariadb,
  psql,
  redisCli,
  requireHost,
  tempDir
} from './host.js'

interface ServiceCase {
  service: keyof typeof IMAGES
  containerPort: number
  ready: (port: number) => Promise<unknown>
  write: (port: number) => Promise<unknown>
  read: (port: number) => Promise<string>
  expected: string
  /** How the service is told to listen on another port when it shares the host's network. */
  portEnv?: string
}

const cases: ServiceCase[] = [
  {
    service: 'redis',
    containerPort: 6379,
    ready: (port) => redisCli(port, 'ping'),
    write: async (port) => {
      await redisCli(port, 'set', 'greeting', 'hello from before the checkpoint')
      await redisCli(port, 'rpush', 'list', 'a', 'b', 'c')
    },
    read: async (port) =>
      `${await redisCli(port, 'get', 'greeting')}|${await redisCli(port, 'llen', 'list')}`,
    expected: 'hello from before the checkpoint|3'
  },
  {
    service: 'mariadb',
    containerPort: 3306,
    ready: (port) => mariadb(port, 'SELECT 1'),
    write: (port) =>
      mariadb(
        port,
        `CREATE DATABASE app; CREATE TABLE app.users (id INT PRIMARY KEY, name TEXT);
         INSERT INTO app.users VALUES (1, 'ada'), (2, 'grace');`
      ),
    read: (port) => mariadb(port, 'SELECT GROUP_CONCAT(name ORDER BY id) FROM app.users'),
    expected: 'ada,grace'
  },
  {
    service: 'postgres',
    containerPort: 5432,
    ready: (port) => psql(port, 'SELECT 1'),
    write: (port) =>
      psql(
        port,
        `CREATE TABLE users (id int PRIMARY KEY, name text);
         INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 1000) g;`
      ),
    read: (port) => psql(port, "SELECT count(*) || ',' || max(name) FROM users"),
    expected: '1000,user 999',
    portEnv: 'PGPORT'
  }
]

const podman = new Podman()
const created: string[] = []

beforeAll(async () => {
  await requireHost(podman)
})

afterAll(async () => {
  for (const name of created) await podman.forceRemove(name)
})

describe.each(cases)('checkpoint round trip: $service', (c) => {
  const name = `warmstart-it-roundtrip-${c.service}`
  created.push(name)

  test('data written before the checkpoint is read back after the import', async () => {
    const port = await freePort()
    const dir = tempDir(c.service)
    try {
      const image = await podman.inspectImage(IMAGES[c.service])
      const userns = needsUserNamespace(
        { canDumpOtherUsers: hostCanDumpOtherUsers() },
        image.Config?.User
      )
      const run: RunOptions = {
        image: IMAGES[c.service],
        name,
        replace: true, // a container left behind by an earlier, killed run
        ports: [`127.0.0.1:${port}:${c.containerPort}`],
        // The data directory stays in the container's rootfs, not the image's VOLUME: podman's
        // own import of a volume loses the mode of its top directory (0700 comes back 0755), and
        // CRIU then refuses PostgreSQL's working directory. warmstart archives volumes itself
        // (src/volumes.ts; engine.test.ts restores them).
        options: ['--image-volume=ignore']
      }
      if (userns) {
        // Host network: the service itself listens on the test's port (see src/host/userns.ts).
        if (!c.portEnv) throw new Error(`${c.service} cannot be moved to another port`)
        Object.assign(run, {
          ports: [],
          options: [...(run.options ?? []), ...USERNS_RUN_OPTIONS],
          env: { [c.portEnv]: String(port) }
        })
      }
      await podman.run(run)
      await eventually(() => c.ready(port))
      await c.write(port)
      expect(await c.read(port)).toBe(c.expected)

      const archive = join(dir.path, 'checkpoint.tar.zst')
      await podman.checkpoint(name, { exportPath: archive, fileLocks: true })
      await podman.forceRemove(name)
      expect(await podman.containerExists(name)).toBe(false)
      await expect(c.read(port)).rejects.toThrow()

      await podman.restore({ importPath: archive, name, fileLocks: true })
      expect((await podman.inspectContainer(name)).State.Running).toBe(true)
      expect(await eventually(() => c.read(port), 10)).toBe(c.expected)
    } finally {
      await podman.forceRemove(name)
      dir.remove()
    }
  })
})
