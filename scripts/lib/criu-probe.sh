# shellcheck shell=bash
# criu_works CRIU: whether this CRIU can checkpoint here, proven rather than asked. `criu check`
# alone is not enough: CRIU 4.1 passes it on kernels >= 6.16 yet cannot dump any TCP socket
# ("Can't get 1:16 opt", criu issues 2705/2804/2829). So the CRIU must also dump a process that
# holds a TCP listener (and leave it running). On failure CRIU's dump log is kept in
# /tmp/warmstart-criu-dump.log. Needs root, python3 and setsid.
criu_works() {
  local criu=$1 dir pid ok=1
  "$criu" check >/dev/null 2>&1 || return 1
  dir=$(mktemp -d)
  setsid python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); time.sleep(60)' </dev/null >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  "$criu" dump --tree "$pid" --images-dir "$dir" --leave-running --log-file dump.log >/dev/null 2>&1 || ok=0
  [ $ok = 1 ] || cp "$dir/dump.log" /tmp/warmstart-criu-dump.log 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  [ $ok = 1 ]
}
