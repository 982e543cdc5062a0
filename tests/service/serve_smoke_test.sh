#!/usr/bin/env bash
# `magcds serve` end to end: start on a loopback port, discovery and a service
# call over HTTP, then SIGTERM must stop it with exit code 0. Every wait is
# bounded. usage: serve_smoke_test.sh MAGCDS_BINARY SAMPLE_REQUEST
set -euo pipefail
magcds="$1"
sample="$2"

log=$(mktemp)
pid=
cleanup() { if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi; rm -f "$log"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; cat "$log" >&2; exit 1; }

# launch LOG [PREFIX...] -- [SERVE_ARGS...]: starts `[PREFIX...] magcds serve`
# on a random loopback port (a port may be taken: up to five tries) and waits
# for its listening line; sets launched_pid and port. Fails if it never listens.
launched_pid=
launch() {
  local out="$1" prefix=()
  shift
  while [ "$1" != -- ]; do prefix+=("$1"); shift; done
  shift
  for _attempt in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 20000 ))
    "${prefix[@]}" "$magcds" serve --listen "127.0.0.1:$port" "$@" >"$out" 2>&1 &
    launched_pid=$!
    for _ in $(seq 1 100); do
      grep -q '"event":"listening"' "$out" && return 0
      kill -0 "$launched_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$launched_pid" 2>/dev/null || true
    wait "$launched_pid" 2>/dev/null || true
  done
  return 1
}

launch "$log" -- || fail "magcds serve did not come up"
pid=$launched_pid
curl -sf -m 5 "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz after the listening line"

grep -q '"ruleset":"magnesium@' "$log" || fail "listening line does not name the ruleset"
# Issue #18: one event loop per CPU the process may run on (its affinity
# mask, which nproc reads too, unless OpenMP variables override it) unless
# the config says otherwise.
cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
grep -q "\"threads\":\"$cpus\"" "$log" || fail "expected $cpus event loops (nproc)"

discovery=$(curl -sf -m 5 "http://127.0.0.1:$port/cds-services") || fail "discovery request failed"
[[ "$discovery" == *'"id":"magnesium-advisor"'* ]] || fail "discovery: $discovery"

cards=$(curl -sf -m 10 -X POST -H 'Content-Type: application/json' \
  --data-binary @"$sample" "http://127.0.0.1:$port/cds-services/magnesium-advisor") \
  || fail "service call failed"
[[ "$cards" == *'"code":"MG-01"'* ]] || fail "no MG-01 card: $cards"

# Pinned to one CPU the default is one loop; `threads` in the config wins.
loops_of() {  # loops_of [PREFIX...] -- [SERVE_ARGS...]: "threads" of its listening line
  local out loops=""
  out=$(mktemp)
  if launch "$out" "$@"; then
    loops=$(sed -n 's/.*"event":"listening".*"threads":"\([0-9]*\)".*/\1/p' "$out")
    kill -TERM "$launched_pid" 2>/dev/null || true
    wait "$launched_pid" 2>/dev/null || true
  fi
  rm -f "$out"
  echo "$loops"
}
if command -v taskset >/dev/null; then
  pinned=$(loops_of taskset -c 0 --)
  [ "$pinned" = 1 ] || fail "pinned to CPU 0: expected 1 event loop, got '$pinned'"
fi
config=$(mktemp --suffix=.json)
echo '{"threads": 3}' >"$config"
configured=$(loops_of -- --config "$config")
rm -f "$config"
[ "$configured" = 3 ] || fail "config threads 3: got '$configured'"

kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running 10 s after SIGTERM"
status=0
wait "$pid" || status=$?
[ "$status" -eq 0 ] || fail "exit code $status after SIGTERM"
echo "serve smoke test passed (port $port)"
