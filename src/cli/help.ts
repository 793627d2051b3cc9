// The command line's help texts: every flag, with an example.

const spec = `Service (the names of the action's inputs; a --spec file uses the same names as JSON fields,
with ports, env and options as arrays of strings):
  --spec FILE            read the service from a JSON file; flags override its fields
  --image IMAGE          container image (required)
  --name NAME            container name (default: warmstart-<image name>)
  --ports HOST:CONTAINER publish a port; repeat for more (e.g. --ports 15432:5432)
  --env NAME=VALUE       service environment; repeat for more (values are never printed)
  --options=OPTION       extra podman run option; repeat (e.g. --options=--shm-size=256m)
  --command "CMD ARGS"   replace the image's command
  --ready PROBE          tcp://HOST:PORT, http(s)://URL (2xx), exec:CMD (in the container) or
                         cmd:CMD (on the host); default: TCP on the first published port
  --ready-timeout SECS   how long to wait for the probe (default 120)
  --warmup "CMD"         host shell command run once the service is ready on a cold start; it
                         sees WARMSTART_CONTAINER, WARMSTART_HOST, WARMSTART_PORT and
                         WARMSTART_PORT_<container port>
  --key TEXT             your part of the cache key (e.g. a hash of your migrations)
  --restore-keys PREFIX  an older key to fall back on (prefix match); repeat for more; needs
                         --refresh
  --refresh "CMD"        host shell command that brings a checkpoint found by --restore-keys
                         up to date (e.g. apply only new migrations); then it is saved under --key
  --no-file-locks        do not checkpoint file locks (on by default; MariaDB needs them)
  --tcp-established      checkpoint open TCP connections too
  --volume-storage WHERE where a warm restore puts the service's volumes: auto (in memory when
                         they fit in a quarter of the host's memory), memory or disk
  --criu-timeout SECS    time limit of one checkpoint or restore, after which it is stopped and
                         the service starts cold (default auto: 10 min for a checkpoint, 2 min
                         plus 1 min per GiB of archive for a restore)`

const storeHelp = `  --store STORE the checkpoint store: a directory (default: $XDG_CACHE_HOME/warmstart/checkpoints
                or ~/.cache/warmstart/checkpoints), or an OCI registry, oci://REGISTRY/REPOSITORY
                (credentials from podman login / docker login, or REGISTRY_AUTH_FILE)`

export const HELP: Record<string, string> = {
  main: `warmstart: start database-backed test services warm.

Usage: warmstart COMMAND [OPTIONS]

Commands:
  up      start a service: restore it from its checkpoint, or start it cold, warm it up and
          checkpoint it for next time
  down    remove a service's container
  ls      list the checkpoints in a store
  prune   remove old or least recently used checkpoints
  key     print the cache key of a service without starting anything

Run warmstart COMMAND --help for its options.

Exit codes: 0 success; 1 the service could not be started (or another failure); 2 bad usage or
spec; when the warm-up fails, its own exit code.`,
  up: `Usage: warmstart up [SERVICE OPTIONS] [--store STORE] [--json] [--replace] [-v]

${spec}

Other options:
${storeHelp}
  --json        print the outputs as JSON on stdout (progress stays on stderr)
  --replace     remove a container of the same name first
  -v, --verbose debug lines: podman commands, cache key components

Example:
  warmstart up --image localhost/warmstart/redis:7 --name cache --ports 16379:6379 \\
    --warmup 'redis-cli -p $WARMSTART_PORT debug populate 100000'`,
  key: `Usage: warmstart key [SERVICE OPTIONS] [--json] [--explain]

Prints the cache key up would use, without starting anything (the image must be present).
${spec}

  --json      print {"cache-key": ...}
  --explain   print every component of the key and its value

Example:
  warmstart key --spec postgres.json --explain`,
  down: `Usage: warmstart down NAME

Removes the container NAME, running or not (the checkpoints stay in the store).

Example:
  warmstart down warmstart-postgres`,
  ls: `Usage: warmstart ls [--store STORE] [--json]

Lists the checkpoints in a store: a local directory's most recently used first, a registry's
newest first.
${storeHelp}

Example:
  warmstart ls --json`,
  prune: `Usage: warmstart prune [--store STORE] [--max-age AGE] [--max-size SIZE | --all] [--dry-run] [--json]

Removes the checkpoints unused (a local directory) or created (a registry) longer ago than AGE,
then the least recently used (registry: the oldest) until the store holds at most SIZE (a local
directory: 10G unless given). A registry must allow deletes; its garbage collection frees the
blobs.
  --max-age AGE     e.g. 12h, 7d, 4w
  --max-size SIZE   e.g. 500M, 10G
  --all             remove every checkpoint
  --dry-run         only say what would be removed
${storeHelp}

Examples:
  warmstart prune --max-size 2G
  warmstart prune --store oci://ghcr.io/acme/warmstart-checkpoints --max-age 14d`
}
