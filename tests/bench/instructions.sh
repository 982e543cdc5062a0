#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind (issue #18). Unlike
# CPU time these counts do not depend on how busy or fast the host is, so two
# trees can be compared on a noisy shared machine:
#
#   bash tests/bench/instructions.sh [--calls N]
#
# Builds Release into tests/bench/build (BENCH_BUILD_DIR) like run.sh, installs
# valgrind if missing, then prints instructions per call for
#   1. HookHandler::Handle on a full prefetch (engine_bench Handler/resources:N,
#      N = 30: the 34 KB benchmark patient, and 1000: 1.1 MB), no sockets;
#   2. the whole `magcds serve` process (user space, every thread) in fetch mode
#      against tests/bench/fhir_delay.mjs, one FHIR batch per call and one GET per
#      query: N calls one at a time (default 40) after 5 warm-up calls, counted
#      from instrumentation on to off; also the share by part (JSON parse, our
#      code after it, malloc/free, libc mem*/str*, cpprestsdk/asio/pplx, SQLite).
# Kernel time (system calls, thread switches) is not in these counts: callgrind
# runs one thread at a time and sees user space only. Takes about 2 minutes
# plus the build.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$bench_dir/../.." && pwd)"
build="${BENCH_BUILD_DIR:-$bench_dir/build}"
calls=40
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) calls="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "instructions.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v node >/dev/null || need+=(nodejs)
dpkg-query -W -f='${Status}' libbenchmark-dev 2>/dev/null | grep -q 'install ok installed' || need+=(libbenchmark-dev)
if [ "${#need[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
bash "$repo/deploy/install-deps.sh" >/dev/null

cmake -S "$bench_dir" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCDS_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build" -j2 --target magcds engine_bench >"$work/build.log" 2>&1 || {
  tail -40 "$work/build.log"; echo "instructions.sh: build failed" >&2; exit 1; }
echo "tree $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- . || echo '+changes')"

# Instructions per call of the function named $2 in callgrind output $1, or the
# whole profile divided by $3 calls when $2 is empty; with $4 = split, also the
# share by part.
per_call() {
  python3 - "$@" <<'PY'
import collections, re, subprocess, sys
path, function, calls, split = sys.argv[1], sys.argv[2], int(sys.argv[3] or 0), sys.argv[4] == "split"
text = open(path).read().split("\n")
names, counts, current, total = {}, collections.Counter(), None, 0
for line in text:
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3)
        if m.group(1) == "cfn":
            current = m.group(2)
        continue
    m = re.match(r"calls=(\d+)", line)
    if m and current:
        counts[current] += int(m.group(1))
    m = re.match(r"(?:summary|totals): (\d+)", line)
    if m:
        total = int(m.group(1))
if function:
    calls = sum(counts[i] for i, n in names.items() if function in n)
if calls == 0:
    sys.exit(f"instructions.sh: no calls counted in {path}")
print(f"{total / calls:12,.0f} instructions per call ({calls} calls)")
if not split:
    sys.exit(0)
# First match wins: the parse before our code (its handler is ours), our code
# after the libraries it calls.
PARTS = [
    (r"rapidjson::GenericReader|DepthLimitedHandler|MemberNameCheck|IsValidUtf8|SkipWhitespace",
     "JSON parse (RapidJSON reader, our depth/duplicate/UTF-8 checks)"),
    (r"boost::asio|pplx|Concurrency::|web::|libcpprest", "cpprestsdk, asio, pplx"),
    (r"sqlite", "SQLite"),
    (r"malloc|free|operator new|operator delete|arena\.c|unlink_chunk", "malloc/free"),
    (r"mem(cpy|move|set|cmp|chr)|strlen", "libc mem*/str*"),
    (r"cds::", "our code after the parse (normalise, evaluate, cards, audit, HTTP)"),
    (r"libcrypto|libssl", "OpenSSL"),
]
report = subprocess.run(["callgrind_annotate", "--threshold=100", path],
                        capture_output=True, text=True).stdout
parts = collections.Counter()
for line in report.split("\n"):
    m = re.match(r"\s*([0-9,]+)\s+(?:\([^)]*\)\s+)?(.*)", line)
    if not m or "PROGRAM TOTALS" in line or not m.group(2):
        continue
    cost, name = int(m.group(1).replace(",", "")), m.group(2)
    part = next((label for pattern, label in PARTS if re.search(pattern, name)),
                "other (libc locks, libstdc++, loader)")
    parts[part] += cost
whole = sum(parts.values()) or 1
for part, cost in parts.most_common():
    print(f"    {100 * cost / whole:5.1f} %  {part}")
PY
}

mkdir -p "$work/data"
cp "$bench_dir/patient-30.json" "$work/data/patient-30.json"
python3 "$bench_dir/gen_data.py" patient --resources 1000 "$work/data/patient-1000.json"
ln -s "$repo/rules/sets/magnesium/1.0.0" "$work/data/rules-13"
for n in 30 1000; do
  BENCH_DATA_DIR="$work/data" valgrind --tool=callgrind --toggle-collect='cds::service::HookHandler::Handle*' \
    --callgrind-out-file="$work/handler-$n.cg" "$build/engine_bench" \
    --benchmark_filter="Handler/resources:$n\$" --benchmark_min_time=3 >"$work/handler-$n.log" 2>&1
  printf 'HookHandler::Handle, full prefetch, %4s resources: ' "$n"
  per_call "$work/handler-$n.cg" "HookHandler::Handle(" "" ""
done

node "$bench_dir/fhir_delay.mjs" --data "$bench_dir/patient-30.json" --delay-ms 20 --max-seconds 1800 \
  < <(sleep 1800 2>/dev/null) >"$work/fhir.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^LISTENING' "$work/fhir.log" && break; sleep 0.1; done
fhir_base="http://127.0.0.1:$(sed -n 's/^LISTENING //p' "$work/fhir.log")/fhir"
python3 "$bench_dir/gen_data.py" no-prefetch --fhir-server "$fhir_base" "$bench_dir/patient-30.json" "$work/body.json"
for mode in batch gets; do
  batch=false
  [ "$mode" = batch ] && batch=true
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '{"fhir": {"allowedServers": ["%s"], "allowHttpLoopback": true, "deadlineMs": 30000, "batch": %s}}\n' \
    "$fhir_base" "$batch" >"$work/$mode.json"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/fetch-$mode.cg" \
    "$build/magcds" serve --listen "127.0.0.1:$port" --config "$work/$mode.json" >"$work/fetch-$mode.log" 2>&1 &
  vg=$!
  pids+=("$vg")
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  post() {
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
      --data-binary @"$work/body.json" "http://127.0.0.1:$port/cds-services/magnesium-advisor"
  }
  for _ in 1 2 3 4 5; do post >/dev/null; done
  callgrind_control -i on "$vg" >/dev/null 2>&1
  statuses=$(for _ in $(seq 1 "$calls"); do post; done | sort | uniq -c | tr -s ' ' | tr '\n' ',')
  callgrind_control -i off "$vg" >/dev/null 2>&1
  kill -INT "$vg"
  wait "$vg" || true
  printf 'magcds serve, fetch mode (%s), statuses:%s\n' "$mode" "${statuses%,}"
  per_call "$work/fetch-$mode.cg" "" "$calls" split
done
