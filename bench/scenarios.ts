// The benchmark's scenarios: a service, its warm-up, its data directory, and the first query a
// test suite would send. Every peer runs the same spec; only how the service gets warm differs.
import { join } from 'node:path'
import type { RawSpec } from '../src/spec.js'
import { psqlTimed, redisTimed, type QueryResult } from './clients.js'
import { repoRoot } from './system.js'

export interface Scenario {
  name: string
  /** One line for the report. */
  description: string
  /** warmstart's spec of the service; every peer runs it under its own container name. */
  spec(name: string, port: number): RawSpec
  datadir: {
    /** The service's data directory in the container; the datadir peer bind-mounts a copy. */
    path: string
    /** The command for services whose data lives there only when told so (Redis). */
    command?: string[]
    /** Makes the service write its data set there before a clean stop (Redis: SAVE). */
    persist?: (port: number) => Promise<void>
  }
  /** The fixed first query, on a service that just became ready. */
  firstQuery(port: number): Promise<QueryResult>
}

const POSTGRES = 'localhost/warmstart/postgres:15'
const REDIS = 'localhost/warmstart/redis:7'

const MIGRATIONS = 300
const SEED_ROWS = 600_000
const REDIS_KEYS = 10_000

/**
 * PostgreSQL runs as a non-root user: on hosts without CAP_SYS_RESOURCE warmstart checkpoints it
 * in a user namespace on the host network, so it listens on the same port on both sides.
 */
const postgresMigrate: Scenario = {
  name: 'postgres-migrate',
  description: `PostgreSQL 15, ${MIGRATIONS} migrations (one psql call each), ${SEED_ROWS.toLocaleString('en')} accounts, ${(2 * SEED_ROWS).toLocaleString('en')} orders, ANALYZE`,
  spec: (name, port) => ({
    image: POSTGRES,
    name,
    ports: [`${port}:${port}`],
    env: [`PGPORT=${port}`],
    ready: `cmd:pg_isready -q -h 127.0.0.1 -p ${port}`,
    warmup: `MIGRATIONS=${MIGRATIONS} SEED_ROWS=${SEED_ROWS} '${join(repoRoot(), 'examples', 'postgres', 'warmup.sh')}'`,
    key: 'bench-postgres-migrate-v1'
  }),
  datadir: { path: '/var/lib/postgresql/data' },
  firstQuery: (port) =>
    psqlTimed(
      port,
      'SELECT count(*), sum(total) FROM orders WHERE account_id BETWEEN 1000 AND 2000'
    )
}

/** The smoke scenario: small and quick, for the integration test. */
const redisTiny: Scenario = {
  name: 'redis-tiny',
  description: `Redis 7, ${REDIS_KEYS.toLocaleString('en')} keys loaded with redis-cli --pipe`,
  spec: (name, port) => ({
    image: REDIS,
    name,
    ports: [`127.0.0.1:${port}:6379`],
    // PONG, not just an open port: Redis accepts connections while it still loads its RDB.
    ready: `cmd:redis-cli -h 127.0.0.1 -p ${port} ping | grep -q PONG`,
    warmup: `awk 'BEGIN { for (i = 1; i <= ${REDIS_KEYS}; i++) { k = "key:" i; v = "value:" i;
      printf "*3\\r\\n$3\\r\\nSET\\r\\n$%d\\r\\n%s\\r\\n$%d\\r\\n%s\\r\\n", length(k), k, length(v), v } }' |
      redis-cli -h 127.0.0.1 -p "$WARMSTART_PORT" --pipe`,
    key: 'bench-redis-tiny-v1'
  }),
  datadir: {
    path: '/data',
    // The image's entry script passes these after its own defaults (which turn persistence off).
    command: ['redis-server', '--dir', '/data', '--dbfilename', 'dump.rdb'],
    persist: async (port) => {
      const reply = await redisTimed(port, ['SAVE'])
      if (reply.answer !== 'OK') throw new Error(`redis SAVE answered ${reply.answer}`)
    }
  },
  firstQuery: (port) => redisTimed(port, ['EVAL', "return #redis.call('KEYS', 'key:1*')", '0'])
}

export const SCENARIOS: readonly Scenario[] = [postgresMigrate, redisTiny]

export function scenarioNamed(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name)
  if (!scenario) {
    throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`)
  }
  return scenario
}
