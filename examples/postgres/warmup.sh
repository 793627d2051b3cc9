#!/bin/sh
# The demo's warm-up: what an application's test set-up does to a fresh PostgreSQL. Each
# migration runs as its own psql call, as migration tools do; then seed data and ANALYZE.
# warmstart runs it with WARMSTART_HOST and WARMSTART_PORT set.
set -eu
export PGHOST="${WARMSTART_HOST:-127.0.0.1}" PGPORT="${WARMSTART_PORT:-5432}" PGUSER=postgres
psql="psql -X -q -v ON_ERROR_STOP=1"
migrations=${MIGRATIONS:-120}
rows=${SEED_ROWS:-300000}

$psql -c "CREATE TABLE schema_migrations (version int PRIMARY KEY, applied_at timestamptz DEFAULT now())"
i=1
while [ "$i" -le "$migrations" ]; do
  $psql <<SQL
BEGIN;
CREATE TABLE feature_$i (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL,
  name text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feature_${i}_account ON feature_$i (account_id, created_at);
CREATE FUNCTION feature_${i}_count(a bigint) RETURNS bigint LANGUAGE sql STABLE
  AS \$\$ SELECT count(*) FROM feature_$i WHERE account_id = a \$\$;
CREATE VIEW feature_${i}_recent AS SELECT * FROM feature_$i WHERE created_at > now() - interval '1 day';
INSERT INTO schema_migrations (version) VALUES ($i);
COMMIT;
SQL
  i=$((i + 1))
done
echo "applied $migrations migrations"

$psql <<SQL
CREATE TABLE accounts (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, name text, plan text);
INSERT INTO accounts (email, name, plan)
  SELECT 'user' || g || '@example.test', 'User ' || g, (ARRAY['free','team','business'])[1 + g % 3]
  FROM generate_series(1, $rows) g;
CREATE TABLE orders (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts, total numeric(10,2), placed_at timestamptz);
INSERT INTO orders (account_id, total, placed_at)
  SELECT 1 + g % $rows, (g % 997) / 10.0, now() - (g % 10000) * interval '1 minute'
  FROM generate_series(1, 2 * $rows) g;
CREATE INDEX orders_account ON orders (account_id);
CREATE INDEX orders_placed ON orders (placed_at);
ANALYZE;
SQL
echo "seeded $rows accounts and $((2 * rows)) orders"
