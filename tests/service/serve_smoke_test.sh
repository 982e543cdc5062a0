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

# A random port may be taken: try a few.
up=no
for _attempt in 1 2 3 4 5; do
  port=$(( 20000 + RANDOM % 20000 ))
  "$magcds" serve --listen "127.0.0.1:$port" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if curl -sf -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then up=yes; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$up" = yes ] && break
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
[ "$up" = yes ] || fail "magcds serve did not come up"

grep -q '"event":"listening"' "$log" || fail "no listening log line"
grep -q '"ruleset":"magnesium@' "$log" || fail "listening line does not name the ruleset"
# Issue #18: one event loop per CPU the process may run on (its affinity
# mask, which nproc reads too) unless the config says otherwise.
grep -q "\"threads\":\"$(nproc)\"" "$log" || fail "expected $(nproc) event loops (nproc)"

discovery=$(curl -sf -m 5 "http://127.0.0.1:$port/cds-services") || fail "discovery request failed"
[[ "$discovery" == *'"id":"magnesium-advisor"'* ]] || fail "discovery: $discovery"

cards=$(curl -sf -m 10 -X POST -H 'Content-Type: application/json' \
  --data-binary @"$sample" "http://127.0.0.1:$port/cds-services/magnesium-advisor") \
  || fail "service call failed"
[[ "$cards" == *'"code":"MG-01"'* ]] || fail "no MG-01 card: $cards"

# Pinned to one CPU the default is one loop; `threads` in the config wins.
# Each instance runs until its listening line is written, then is stopped.
loops_of() {  # loops_of [PREFIX...] -- [SERVE_ARGS...]: "threads" of its listening line
  local prefix=() out other loops=""
  while [ "$1" != -- ]; do prefix+=("$1"); shift; done
  shift
  out=$(mktemp)
  for _attempt in 1 2 3 4 5; do  # a random port may be taken
    "${prefix[@]}" "$magcds" serve --listen "127.0.0.1:$(( 20000 + RANDOM % 20000 ))" "$@" \
      >"$out" 2>&1 &
    other=$!
    for _ in $(seq 1 100); do
      grep -q '"event":"listening"' "$out" && break
      kill -0 "$other" 2>/dev/null || break
      sleep 0.1
    done
    kill -TERM "$other" 2>/dev/null || true
    wait "$other" 2>/dev/null || true
    loops=$(sed -n 's/.*"event":"listening".*"threads":"\([0-9]*\)".*/\1/p' "$out")
    [ -n "$loops" ] && break
  done
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
