#!/usr/bin/env bash
# The magcds benchmark suite (issue #7). One command, loopback only:
#
#   bash tests/bench/run.sh [--quick] [--long] [--profile]
#
#   --quick     a bounded development run (about 4 minutes plus the build): one
#               round of 3 s, 10 s soak, 2 big-patient passes, short engine runs
#   --long      soak for 10 minutes instead of 60 s
#   --profile   also record perf profiles (cpu-clock, DWARF call graphs) of magcds and
#               the bare listener under the throughput load and of magcds in fetch
#               mode, into results/profile-*.txt (about 1 extra minute of recording;
#               the summaries, 3-6 minutes, are made after the last measurement)
#
# It installs what it needs (Debian: wrk nginx gnuplot-nox libbenchmark-dev nodejs,
# plus deploy/install-deps.sh) only when missing, builds Release into
# tests/bench/build (BENCH_BUILD_DIR), then measures:
#   1. HTTP throughput/latency, alternating rounds of (a) nginx answering a fixed
#      copy of magcds's response, (b) bare_listener (cpprestsdk + RapidJSON parse,
#      fixed response), (c) magcds, same body (patient-30.json) and connections;
#   2. fetch mode: magcds with no prefetch against fhir_delay.mjs (fixed delay),
#      one FHIR batch per call (the default) and one GET per query (fhir.batch
#      false), each against the FHIR server alone at the same load;
#   3. engine microbenchmarks (engine_bench, Google Benchmark);
#   4. memory: peak RSS of (c) over the throughput run, RSS over a soak;
#   5. big patients (issue #18): the 60 Synthea patients as full prefetch, 5
#      passes: server CPU per MB against json_parse_ref parsing the same bytes
#      in one process, RSS and peak RSS per pass;
#   6. latency and CPU per request by body size (3 KB .. 4 MB), (b) vs (c);
#   7. the population backtest (magcds rules backtest, all cores) against
#      RapidJSON parse alone on all cores;
#   8. reload under load: the 1,300-rule set reloaded by SIGHUP every 250 ms
#      under wrk -c16 (reload_under_load.py): failed requests, and each
#      reload's CPU and wall time as magcds logs them.
# Prints every figure with ratios and writes tests/bench/results/results.md,
# tests/bench/results/scaling.png and the raw data under tests/bench/results/.
# Not part of the test suite (not registered with CTest). Every process it
# starts is stopped on exit; every load loop is bounded in time.
#
# Knobs (environment): BENCH_ROUNDS=3 BENCH_SECONDS=10 BENCH_CONNECTIONS=64
# BENCH_WRK_THREADS=2 BENCH_SERVER_THREADS=4 (the bare listener's threads; magcds runs with
# its default, one event loop per CPU) BENCH_DELAY_MS=20 BENCH_SOAK_SECONDS
# BENCH_BIG_PASSES=5 BENCH_SIZE_SECONDS=3 SYNTHEA_DIR (default: shared/data/synthea-r4
# beside the repository or its parent) BENCH_KEEP_WORK=1 (keep the scratch directory).
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$bench_dir/../.." && pwd)"
results="$bench_dir/results"
build="${BENCH_BUILD_DIR:-$bench_dir/build}"

long=0
profile=0
quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --long) long=1 ;;
    --profile) profile=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

if [ "$quick" = 1 ]; then
  : "${BENCH_ROUNDS:=1}" "${BENCH_SECONDS:=3}" "${BENCH_SOAK_SECONDS:=10}" "${BENCH_BIG_PASSES:=2}"
  : "${BENCH_SIZE_SECONDS:=1}"
fi
rounds="${BENCH_ROUNDS:-3}"
seconds="${BENCH_SECONDS:-10}"
big_passes="${BENCH_BIG_PASSES:-5}"
size_seconds="${BENCH_SIZE_SECONDS:-3}"
# shared/ beside the repository, else beside its parent (a git worktree under
# wt/), as CMakeLists.txt looks for CDS_SYNTHEA_DIR.
synthea="${SYNTHEA_DIR:-$repo/../shared/data/synthea-r4}"
[ -n "${SYNTHEA_DIR:-}" ] || [ -d "$synthea" ] || synthea="$repo/../../shared/data/synthea-r4"
conns="${BENCH_CONNECTIONS:-64}"
wrk_threads="${BENCH_WRK_THREADS:-2}"
server_threads="${BENCH_SERVER_THREADS:-4}"
delay_ms="${BENCH_DELAY_MS:-20}"
if [ "$long" = 1 ]; then soak="${BENCH_SOAK_SECONDS:-600}"; else soak="${BENCH_SOAK_SECONDS:-60}"; fi

started_at=$(date +%s)
log() { printf '[bench %4ds] %s\n' "$(( $(date +%s) - started_at ))" "$*"; }

# ---------------------------------------------------------------- processes
pids=()
work=""
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ -n "$work" ] && [ "${BENCH_KEEP_WORK:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {  # stop one process we started, by pid
  local pid="$1"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() {  # wait_http URL: until it answers at all (max 10 s)
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null --max-time 1 "$1"; then return 0; fi
    sleep 0.1
  done
  echo "run.sh: $1 did not come up" >&2
  return 1
}

cpu_ticks() {  # utime+stime of the given pids (and their child threads), in clock ticks
  local total=0 pid
  for pid in "$@"; do
    if [ -r "/proc/$pid/stat" ]; then
      total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat") ))
    fi
  done
  echo "$total"
}

status_kb() {  # status_kb PID FIELD -> kB
  awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# perf report is run only after the last measurement (summarise_profiles, at
# the end): it starts addr2line processes that go on for a minute or more
# (and outlive a report whose pipe `head` closed), and while they ran the
# measurements after a profile shared the two CPUs with them (the fetch and
# engine rows of a --profile run came out up to 1.8x slower).
deferred_profiles=()
defer_summary() {  # defer_summary PERF_DATA TITLE OUT
  deferred_profiles+=("$1" "$2" "$3")
}
summarise_profiles() {
  local i
  for (( i = 0; i < ${#deferred_profiles[@]}; i += 3 )); do
    perf_summary "${deferred_profiles[i]}" "${deferred_profiles[i + 1]}" >"${deferred_profiles[i + 2]}"
  done
  wait_addr2line
}
wait_addr2line() {  # until no addr2line started by perf report is left running
  local _
  for _ in $(seq 1 600); do pgrep -x addr2line >/dev/null || return 0; sleep 1; done
}
perf_summary() (  # perf_summary PERF_DATA TITLE: top functions as text (a subshell: head may close pipes)
  set +o pipefail
  echo "# $2"
  echo "## self time by library"
  perf report -i "$1" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -12
  echo "## self time by function (>= 1 %)"
  perf report -i "$1" --no-children --sort dso,symbol --stdio -g none --percent-limit 1 2>/dev/null \
    | grep -E '^ +[0-9]' | cut -c1-200 | head -40
  echo "## inclusive time by function (>= 3 %; DWARF unwinding, deep stacks may be cut)"
  perf report -i "$1" --children --sort symbol --stdio -g none --percent-limit 3 2>/dev/null \
    | grep -E '^ +[0-9]' | grep -v ' 0x0000\| 0xffff' | cut -c1-200 | head -60
  true
)

# ---------------------------------------------------------------- 0. install
log "checking tools"
bash "$repo/deploy/install-deps.sh" >/dev/null
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v node >/dev/null || need+=(nodejs)
dpkg-query -W -f='${Status}' libbenchmark-dev 2>/dev/null | grep -q 'install ok installed' || need+=(libbenchmark-dev)
if [ "$profile" = 1 ]; then command -v perf >/dev/null || need+=(linux-perf); fi
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---------------------------------------------------------------- 1. build
log "building Release into $build"
build_started=$(date +%s)
# The same flags as CI's build, so that ccache shares the objects with it.
cmake -S "$bench_dir" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCDS_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build" -j2 --target magcds bare_listener engine_bench json_parse_ref >"$build/build.log" 2>&1 || {
  tail -40 "$build/build.log"; echo "run.sh: build failed" >&2; exit 1; }
build_seconds=$(( $(date +%s) - build_started ))
magcds="$build/magcds"
bare="$build/bare_listener"
engine_bench="$build/engine_bench"
parse_ref="$build/json_parse_ref"
[ -d "$synthea" ] || { echo "run.sh: no Synthea population at $synthea (set SYNTHEA_DIR)" >&2; exit 2; }

work="$(mktemp -d /tmp/magcds-bench.XXXXXX)"
# The default feedback store (issue #16) of every magcds started here: scratch.
export MAGCDS_DB="$work/magcds.db"
mkdir -p "$work/data" "$work/raw" "$results/data" "$results/raw"

# ---------------------------------------------------------------- 2. data
log "generating patients and rulesets"
body="$bench_dir/patient-30.json"
cp "$body" "$work/data/patient-30.json"
for n in 10 100 1000 10000; do
  python3 "$bench_dir/gen_data.py" patient --resources "$n" "$work/data/patient-$n.json"
done
ln -s "$repo/rules/sets/magnesium/1.0.0" "$work/data/rules-13"
python3 "$bench_dir/gen_data.py" rules --copies 10 "$repo/rules/sets/magnesium/1.0.0" "$work/data/rules-130"
python3 "$bench_dir/gen_data.py" rules --copies 100 "$repo/rules/sets/magnesium/1.0.0" "$work/data/rules-1300"
python3 "$bench_dir/gen_data.py" synthea "$synthea" "$work/data/synthea"
mkdir -p "$work/data/sizes"
for n in 2 5 30 300 3600; do
  python3 "$bench_dir/gen_data.py" patient --resources "$n" "$work/data/sizes/patient-$n.json"
done
cp "$(ls -S "$work/data/synthea"/*.json | head -1)" "$work/data/sizes/synthea-largest.json"

# ---------------------------------------------------------------- machine
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "os=$(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "compiler=$(c++ --version | head -1)"
  echo "cpprest=$(dpkg-query -W -f='${Version}' libcpprest2.10 2>/dev/null || echo '?')"
  echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"
  echo "wrk=$(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
  echo "node=$(node --version)"
  echo "git=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (+uncommitted changes)')"
  echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "build_seconds=$build_seconds"
  echo "rounds=$rounds seconds=$seconds connections=$conns wrk_threads=$wrk_threads server_threads=$server_threads delay_ms=$delay_ms soak_seconds=$soak"
} >"$work/raw/machine.txt"
log "machine: $(grep -E '^(nproc|cpu|mem)=' "$work/raw/machine.txt" | tr '\n' ' ')"

run_wrk() {  # run_wrk OUTFILE CONNS THREADS SECONDS URL [BODY]
  local out="$1" c="$2" t="$3" d="$4" url="$5" post="${6:-}"
  BENCH_BODY="$post" timeout $(( d + 30 )) wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s \
    -s "$bench_dir/wrk_report.lua" "$url" >"$out" 2>&1 || true
  grep -q '^WRK_RESULT ' "$out" || { echo "run.sh: wrk failed:"; cat "$out"; return 1; }
}

wait_addr2line  # a profile summary of an earlier run may still be finishing
# ---------------------------------------------------------------- 3. servers
service_path=/cds-services/magnesium-advisor
port_c=$(free_port)
"$magcds" serve --listen "127.0.0.1:$port_c" >"$work/raw/magcds.log" 2>&1 &
pid_c=$!; pids+=("$pid_c")
wait_http "http://127.0.0.1:$port_c/healthz"
rss_c_start=$(status_kb "$pid_c" VmRSS)

# magcds's actual response for the body: the fixed answer of (a) and (b).
code=$(curl -s -o "$work/response.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data-binary @"$body" "http://127.0.0.1:$port_c$service_path")
[ "$code" = 200 ] || { echo "run.sh: magcds answered $code:"; cat "$work/response.json"; exit 1; }
cp "$work/response.json" "$results/raw/response-patient-30.json"
log "magcds response for patient-30: $(wc -c <"$work/response.json") bytes, cards: $(python3 -c "import json,sys; print(', '.join(c['indicator']+' '+c['source']['topic']['code'] for c in json.load(open(sys.argv[1]))['cards']))" "$work/response.json")"

port_b=$(free_port)
"$bare" "127.0.0.1:$port_b" "$work/response.json" "$server_threads" >"$work/raw/bare.log" 2>&1 &
pid_b=$!; pids+=("$pid_b")
wait_http "http://127.0.0.1:$port_b/"

port_a=$(free_port)
mkdir -p "$work/nginx/tmp"
python3 - "$work/response.json" "$port_a" "$work/nginx" >"$work/nginx/nginx.conf" <<'EOF'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
# nginx string: escape backslash and quote; "$" cannot be escaped, use a variable.
text = text.replace("\\", "\\\\").replace("'", "\\'").replace("$", "${dollar}")
port, root = sys.argv[2], sys.argv[3]
print(f"""worker_processes 2;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp/body;
  proxy_temp_path {root}/tmp/proxy;
  fastcgi_temp_path {root}/tmp/fastcgi;
  uwsgi_temp_path {root}/tmp/uwsgi;
  scgi_temp_path {root}/tmp/scgi;
  keepalive_requests 100000000;
  client_max_body_size 2m;
  geo $dollar {{ default "$"; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      default_type application/json;
      add_header Cache-Control no-store always;
      return 200 '{text}';
    }}
  }}
}}""")
EOF
nginx -t -q -c "$work/nginx/nginx.conf" -p "$work/nginx/" 2>"$work/raw/nginx-test.log" || {
  cat "$work/raw/nginx-test.log"; exit 1; }
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx/" &
pid_a=$!; pids+=("$pid_a")
wait_http "http://127.0.0.1:$port_a/"
cmp -s <(curl -s -X POST --data-binary @"$body" "http://127.0.0.1:$port_a$service_path") "$work/response.json" \
  || { echo "run.sh: nginx does not return the fixed response verbatim" >&2; exit 1; }

nginx_pids() { echo "$pid_a $(pgrep -P "$pid_a" | tr '\n' ' ')"; }
declare -A url=(
  [a]="http://127.0.0.1:$port_a$service_path"
  [b]="http://127.0.0.1:$port_b$service_path"
  [c]="http://127.0.0.1:$port_c$service_path")
server_pids() {
  case "$1" in a) nginx_pids ;; b) echo "$pid_b" ;; c) echo "$pid_c" ;; esac
}

# ---------------------------------------------------------------- 4. throughput
log "throughput: $rounds alternating rounds x (a) nginx, (b) bare listener, (c) magcds; wrk -t$wrk_threads -c$conns -d${seconds}s, body $(wc -c <"$body") B"
for s in a b c; do  # warm-up
  run_wrk "$work/raw/warmup-$s.txt" "$conns" "$wrk_threads" 2 "${url[$s]}" "$body"
done
orders=("a b c" "b c a" "c a b")
: >"$work/raw/throughput.tsv"
for r in $(seq 1 "$rounds"); do
  for s in ${orders[$(( (r - 1) % 3 ))]}; do
    # shellcheck disable=SC2046
    before=$(cpu_ticks $(server_pids "$s"))
    run_wrk "$work/raw/round$r-$s.txt" "$conns" "$wrk_threads" "$seconds" "${url[$s]}" "$body"
    # shellcheck disable=SC2046
    after=$(cpu_ticks $(server_pids "$s"))
    line=$(sed -n 's/^WRK_RESULT //p' "$work/raw/round$r-$s.txt")
    printf '%s\t%s\t%s\t%s\n' "$r" "$s" "$(( after - before ))" "$line" >>"$work/raw/throughput.tsv"
    python3 -c "
import json,sys; d=json.loads(sys.argv[1])
print(f'  round {sys.argv[2]} ({sys.argv[3]}): {d[\"rps\"]:9.0f} req/s  p50 {d[\"p50_us\"]/1000:6.2f} ms  p99 {d[\"p99_us\"]/1000:6.2f} ms  errors {d[\"connect_err\"]+d[\"read_err\"]+d[\"write_err\"]+d[\"timeout_err\"]} non-2xx {d[\"status_err\"]}')
" "$line" "$r" "$s"
  done
done
{
  echo "c_rss_start_kb=$rss_c_start"
  echo "c_hwm_kb=$(status_kb "$pid_c" VmHWM)"
  echo "c_rss_end_kb=$(status_kb "$pid_c" VmRSS)"
  echo "c_threads=$(status_kb "$pid_c" Threads)"
  echo "b_hwm_kb=$(status_kb "$pid_b" VmHWM)"
  echo "a_hwm_kb=$(for p in $(nginx_pids); do status_kb "$p" VmHWM; done | awk '{s += $1} END {print s + 0}')"
} >"$work/raw/memory.txt"

if [ "$profile" = 1 ]; then
  log "profiling (perf record -e cpu-clock --call-graph dwarf, ${seconds}s each) magcds and bare listener"
  for s in c b; do
    pid=$(server_pids "$s")
    name=$([ "$s" = c ] && echo magcds || echo bare_listener)
    perf record -q -e cpu-clock -F 300 --call-graph dwarf,8192 -p "$pid" -o "$work/perf-$s.data" \
      -- sleep "$seconds" >/dev/null 2>&1 &
    perf_pid=$!
    run_wrk "$work/raw/profile-$s.txt" "$conns" "$wrk_threads" "$seconds" "${url[$s]}" "$body"
    wait "$perf_pid" || true
    defer_summary "$work/perf-$s.data" \
      "perf, $name under wrk -c$conns, patient-30 ($(sed -n 's/^WRK_RESULT //p' "$work/raw/profile-$s.txt"))" \
      "$results/profile-$name.txt"
  done
fi

stop_pid "$pid_a"; stop_pid "$pid_b"; stop_pid "$pid_c"

# ---------------------------------------------------------------- 5. fetch mode
# Issue #18: two magcds, one sending each call's queries as one FHIR batch
# (fhir.batch, the default, to a server that declares batch) and one sending
# a GET per query (fhir.batch false: servers without batch). Each against the
# FHIR server alone at the same load: the same batch POSTed by wrk, c in
# flight; for GETs, 5 GETs per call in flight.
log "fetch mode: magcds without prefetch against a FHIR server answering after ${delay_ms} ms"
: >"$work/raw/fetch.tsv"
exec {fhir_in}< <(sleep $(( 5 * 60 + soak )))  # the FHIR server exits when this closes
node "$bench_dir/fhir_delay.mjs" --data "$body" --delay-ms "$delay_ms" --max-seconds 900 \
  <&"$fhir_in" >"$work/raw/fhir.log" 2>&1 &
pid_f=$!; pids+=("$pid_f")
for _ in $(seq 1 100); do grep -q '^LISTENING' "$work/raw/fhir.log" && break; sleep 0.1; done
port_f=$(sed -n 's/^LISTENING //p' "$work/raw/fhir.log")
fhir_base="http://127.0.0.1:$port_f/fhir"
python3 "$bench_dir/gen_data.py" no-prefetch --fhir-server "$fhir_base" "$body" "$work/fetch-body.json"
for mode in batch gets; do
  batch_flag=false
  [ "$mode" = batch ] && batch_flag=true
  printf '{"fhir": {"allowedServers": ["%s"], "allowHttpLoopback": true, "deadlineMs": 5000, "batch": %s}}\n' \
    "$fhir_base" "$batch_flag" >"$work/fetch-config-$mode.json"
done
port_cf=$(free_port)
"$magcds" serve --listen "127.0.0.1:$port_cf" --config "$work/fetch-config-batch.json" >"$work/raw/magcds-fetch.log" 2>&1 &
pid_cf=$!; pids+=("$pid_cf")
port_cg=$(free_port)
"$magcds" serve --listen "127.0.0.1:$port_cg" --config "$work/fetch-config-gets.json" >"$work/raw/magcds-fetch-gets.log" 2>&1 &
pid_cg=$!; pids+=("$pid_cg")
fetch_status="ok"
fetch_call() {  # fetch_call PORT OUT -> HTTP status
  curl -s -o "$2" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$work/fetch-body.json" "http://127.0.0.1:$1$service_path"
}
same_cards() {  # same_cards RESPONSE -> "same" when its cards are the prefetch response's
  python3 -c "
import json,sys
try:
  a=[c['source']['topic']['code'] for c in json.load(open(sys.argv[1]))['cards']]
  b=[c['source']['topic']['code'] for c in json.load(open(sys.argv[2]))['cards']]
  print('same' if a==b else 'different: %s vs %s' % (a,b))
except Exception as e: print('unreadable: %s' % e)
" "$1" "$work/response.json"
}
if ! wait_http "http://127.0.0.1:$port_cf/healthz" 2>/dev/null ||
   ! wait_http "http://127.0.0.1:$port_cg/healthz" 2>/dev/null; then
  fetch_status="magcds did not start with the fetch config: $(cat "$work/raw/magcds-fetch.log" "$work/raw/magcds-fetch-gets.log" | tr '\n' ' ' | cut -c1-300)"
else
  # The first call to a FHIR server reads its CapabilityStatement in the
  # background and uses GETs; the next ones batch.
  for _ in $(seq 1 50); do
    curl -s "http://127.0.0.1:$port_f/_bench/stats" >/dev/null
    code=$(fetch_call "$port_cf" "$work/fetch-response.json")
    stats=$(curl -s "http://127.0.0.1:$port_f/_bench/stats")
    case "$stats" in *'"batches":1,'*) break ;; esac
    sleep 0.1
  done
  same=$(same_cards "$work/fetch-response.json")
  curl -s "http://127.0.0.1:$port_f/_bench/last-batch" >"$work/fetch-batch.json"
  entries=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["entry"]))' \
    "$work/fetch-batch.json" 2>/dev/null || echo 0)
  if [ "$code" != 200 ] || [ "$same" != same ]; then
    fetch_status="fetch-mode request answered $code ($same): $(head -c 300 "$work/fetch-response.json")"
  elif [ "$entries" != 5 ]; then
    fetch_status="magcds did not send one batch of the 5 queries (FHIR server per call: $stats)"
  fi
  log "fetch-mode check (batch): HTTP $code, cards $same as prefetch, FHIR server per call: $stats"
  code=$(fetch_call "$port_cg" "$work/fetch-response-gets.json")
  same=$(same_cards "$work/fetch-response-gets.json")
  stats=$(curl -s "http://127.0.0.1:$port_f/_bench/stats")
  if [ "$code" != 200 ] || [ "$same" != same ]; then
    fetch_status="fetch-mode request (GETs) answered $code ($same): $(head -c 300 "$work/fetch-response-gets.json")"
  fi
  log "fetch-mode check (GETs): HTTP $code, cards $same as prefetch, FHIR server per call: $stats"
fi
echo "$fetch_status" >"$work/raw/fetch-status.txt"
if [ "$fetch_status" = ok ]; then
  fetch_line() {  # fetch_line MAGCDS_WRK DIRECT_WRK C MODE -> one printed line
    python3 -c "
import json,sys; d=json.loads(sys.argv[1]); r=json.loads(sys.argv[2]); D=float(sys.argv[4])
print(f'  {sys.argv[5]:>5} c={sys.argv[3]:>2}: {d[\"rps\"]:7.0f} req/s  p50 {d[\"p50_us\"]/1000:6.2f} ms (FHIR alone {r[\"p50_us\"]/1000:6.2f})  p99 {d[\"p99_us\"]/1000:6.2f} ms (FHIR alone {r[\"p99_us\"]/1000:6.2f})  delay {D:.0f} ms  non-2xx {d[\"status_err\"]}')
" "$(sed -n 's/^WRK_RESULT //p' "$1")" "$(sed -n 's/^WRK_RESULT //p' "$2")" "$3" "$delay_ms" "$4"
  }
  for c in 1 16 64; do
    t=$(( c < wrk_threads ? c : wrk_threads ))
    curl -s "http://127.0.0.1:$port_f/_bench/stats" >/dev/null
    run_wrk "$work/raw/fetch-c$c.txt" "$c" "$t" "$seconds" "http://127.0.0.1:$port_cf$service_path" "$work/fetch-body.json"
    stats=$(curl -s "http://127.0.0.1:$port_f/_bench/stats")
    # The FHIR server alone with the same batches in flight (one per call).
    run_wrk "$work/raw/fetch-direct-c$c.txt" "$c" "$t" 5 "$fhir_base" "$work/fetch-batch.json"
    curl -s "http://127.0.0.1:$port_f/_bench/stats" >/dev/null
    run_wrk "$work/raw/fetch-gets-c$c.txt" "$c" "$t" "$seconds" "http://127.0.0.1:$port_cg$service_path" "$work/fetch-body.json"
    stats_gets=$(curl -s "http://127.0.0.1:$port_f/_bench/stats")
    # The FHIR server alone at the same number of GETs in flight (5 per call).
    fc=$(( c * 5 ))
    run_wrk "$work/raw/fetch-gets-direct-c$c.txt" "$fc" "$(( fc < wrk_threads ? fc : wrk_threads ))" 5 \
      "$fhir_base/Condition?patient=pt-4711"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$stats" "$(sed -n 's/^WRK_RESULT //p' "$work/raw/fetch-c$c.txt")" \
      "$(sed -n 's/^WRK_RESULT //p' "$work/raw/fetch-direct-c$c.txt")" "$stats_gets" \
      "$(sed -n 's/^WRK_RESULT //p' "$work/raw/fetch-gets-c$c.txt")" \
      "$(sed -n 's/^WRK_RESULT //p' "$work/raw/fetch-gets-direct-c$c.txt")" >>"$work/raw/fetch.tsv"
    fetch_line "$work/raw/fetch-c$c.txt" "$work/raw/fetch-direct-c$c.txt" "$c" batch
    fetch_line "$work/raw/fetch-gets-c$c.txt" "$work/raw/fetch-gets-direct-c$c.txt" "$c" GETs
  done
  echo "cf_hwm_kb=$(status_kb "$pid_cf" VmHWM)" >>"$work/raw/memory.txt"
  # magcds CPU per fetch-mode request at 16 concurrent (separate runs, not
  # timed above; never under perf, which costs the profiled process CPU).
  for mode in batch gets; do
    if [ "$mode" = batch ]; then pid_m=$pid_cf; port_m=$port_cf; kv=fetch-cpu; else pid_m=$pid_cg; port_m=$port_cg; kv=fetch-gets-cpu; fi
    before=$(cpu_ticks "$pid_m"); fhir_before=$(cpu_ticks "$pid_f")
    run_wrk "$work/raw/$kv.txt" 16 "$wrk_threads" "$seconds" "http://127.0.0.1:$port_m$service_path" "$work/fetch-body.json"
    printf 'magcds_ticks=%s\nfhir_ticks=%s\nwrk=%s\n' "$(( $(cpu_ticks "$pid_m") - before ))" \
      "$(( $(cpu_ticks "$pid_f") - fhir_before ))" "$(sed -n 's/^WRK_RESULT //p' "$work/raw/$kv.txt")" \
      >"$work/raw/$kv.txt.kv"
  done
  if [ "$profile" = 1 ]; then
    perf record -q -e cpu-clock -F 300 --call-graph dwarf,8192 -p "$pid_cf" -o "$work/perf-fetch.data" \
      -- sleep "$seconds" >/dev/null 2>&1 &
    perf_pid=$!
    run_wrk "$work/raw/fetch-perf.txt" 16 "$wrk_threads" "$seconds" "http://127.0.0.1:$port_cf$service_path" "$work/fetch-body.json"
    wait "$perf_pid" || true
    defer_summary "$work/perf-fetch.data" \
      "perf, magcds in fetch mode, one FHIR batch per call (FHIR delay ${delay_ms} ms) under wrk -c16 ($(sed -n 's/^WRK_RESULT //p' "$work/raw/fetch-perf.txt"))" \
      "$results/profile-magcds-fetch.txt"
  fi
else
  log "fetch mode NOT measured: $fetch_status"
fi
stop_pid "$pid_cf"; stop_pid "$pid_cg"; stop_pid "$pid_f"

# ---------------------------------------------------------------- 6. engine
engine_reps=5
engine_min=0.2
if [ "$quick" = 1 ]; then engine_reps=2; engine_min=0.05; fi
log "engine microbenchmarks (Google Benchmark, $engine_reps repetitions, medians)"
BENCH_DATA_DIR="$work/data" timeout 600 "$engine_bench" \
  --benchmark_repetitions=$engine_reps --benchmark_report_aggregates_only=true --benchmark_min_time=$engine_min \
  --benchmark_out="$work/raw/engine.json" --benchmark_out_format=json >"$work/raw/engine.txt" 2>&1 || {
  cat "$work/raw/engine.txt"; echo "run.sh: engine_bench failed" >&2; exit 1; }
grep '_median' "$work/raw/engine.txt" | sed 's/^/  /'

# ---------------------------------------------------------------- 7. soak
log "soak: fresh magcds, 10 s warm-up, then ${soak} s of load (wrk -c16), RSS every 5 s"
port_s=$(free_port)
"$magcds" serve --listen "127.0.0.1:$port_s" >"$work/raw/magcds-soak.log" 2>&1 &
pid_s=$!; pids+=("$pid_s")
wait_http "http://127.0.0.1:$port_s/healthz"
soak_url="http://127.0.0.1:$port_s$service_path"
echo "idle_kb=$(status_kb "$pid_s" VmRSS)" >"$work/raw/soak.txt"
run_wrk "$work/raw/soak-warmup.txt" 16 "$wrk_threads" 10 "$soak_url" "$body"
echo "start_kb=$(status_kb "$pid_s" VmRSS)" >>"$work/raw/soak.txt"
: >"$work/raw/soak-series.tsv"
(
  t=0
  while [ "$t" -le "$soak" ] && kill -0 "$pid_s" 2>/dev/null; do
    printf '%s\t%s\n' "$t" "$(status_kb "$pid_s" VmRSS)" >>"$work/raw/soak-series.tsv"
    sleep 5; t=$(( t + 5 ))
  done
) &
sampler=$!; pids+=("$sampler")
run_wrk "$work/raw/soak.txt.wrk" 16 "$wrk_threads" "$soak" "$soak_url" "$body"
wait "$sampler" 2>/dev/null || true
{
  echo "end_kb=$(status_kb "$pid_s" VmRSS)"
  echo "hwm_kb=$(status_kb "$pid_s" VmHWM)"
  echo "seconds=$soak"
  echo "wrk=$(sed -n 's/^WRK_RESULT //p' "$work/raw/soak.txt.wrk")"
} >>"$work/raw/soak.txt"
stop_pid "$pid_s"

# ---------------------------------------------------------------- 8. big patients
log "big patients: $(ls "$work/data/synthea" | wc -l) Synthea records as full prefetch, $big_passes passes"
printf '{"limits": {"maxBodyBytes": 16777216}}\n' >"$work/big-config.json"
port_g=$(free_port)
"$magcds" serve --listen "127.0.0.1:$port_g" --config "$work/big-config.json" >"$work/raw/magcds-big.log" 2>&1 &
pid_g=$!; pids+=("$pid_g")
wait_http "http://127.0.0.1:$port_g/healthz"
if [ "$profile" = 1 ]; then
  perf record -q -e cpu-clock -F 300 --call-graph dwarf,16384 -p "$pid_g" -o "$work/perf-big.data" \
    >/dev/null 2>&1 &
  perf_pid=$!
fi
python3 "$bench_dir/big_patients.py" "http://127.0.0.1:$port_g$service_path" "$pid_g" "$work/data/synthea" \
  "$big_passes" "$work/raw/big-patients.json"
if [ "$profile" = 1 ]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" || true
  defer_summary "$work/perf-big.data" "perf, magcds serving the 60 Synthea patients as full prefetch ($big_passes passes)" \
    "$results/profile-magcds-big.txt"
fi
# The reference: the same bytes parsed by RapidJSON in one process (3 times;
# report.py takes the median).
: >"$work/raw/big-parse-ref.txt"
for i in 1 2 3; do "$parse_ref" --parse-only "$work/data/synthea" >>"$work/raw/big-parse-ref.txt"; done
sed 's/^/  RapidJSON parse alone: /' "$work/raw/big-parse-ref.txt"

# ---------------------------------------------------------------- 9. body sizes
log "latency and CPU per request by body size (wrk -t1 -c1 -d${size_seconds}s), (b) and (c)"
port_sb=$(free_port)
"$bare" "127.0.0.1:$port_sb" "$work/response.json" "$server_threads" >"$work/raw/bare-sizes.log" 2>&1 &
pid_sb=$!; pids+=("$pid_sb")
wait_http "http://127.0.0.1:$port_sb/"
: >"$work/raw/sizes.tsv"
for f in $(ls -Sr "$work/data/sizes"/*.json); do
  size=$(wc -c <"$f")
  for s in b c; do
    if [ "$s" = b ]; then pid=$pid_sb; port=$port_sb; else pid=$pid_g; port=$port_g; fi
    run_wrk "$work/raw/size-$s-$size.txt" 1 1 1 "http://127.0.0.1:$port$service_path" "$f"  # warm-up
    before=$(cpu_ticks "$pid")
    run_wrk "$work/raw/size-$s-$size.txt" 1 1 "$size_seconds" "http://127.0.0.1:$port$service_path" "$f"
    after=$(cpu_ticks "$pid")
    line=$(sed -n 's/^WRK_RESULT //p' "$work/raw/size-$s-$size.txt")
    printf '%s\t%s\t%s\t%s\n' "$s" "$size" "$(( after - before ))" "$line" >>"$work/raw/sizes.tsv"
    python3 -c "
import json,os,sys; d=json.loads(sys.argv[1]); tick=1e6/os.sysconf('SC_CLK_TCK')
print(f'  {int(sys.argv[2])/1024:9.1f} KB ({sys.argv[3]}): p50 {d[\"p50_us\"]/1000:7.2f} ms  p99 {d[\"p99_us\"]/1000:7.2f} ms  CPU/req {int(sys.argv[4])*tick/max(1,d[\"requests\"]):8.0f} us  non-2xx {d[\"status_err\"]}')
" "$line" "$size" "$s" "$(( after - before ))"
  done
done
stop_pid "$pid_sb"; stop_pid "$pid_g"

# ---------------------------------------------------------------- 10. backtest
cores=$(nproc)
log "population backtest: magcds rules backtest --jobs $cores over the Synthea Bundles vs $cores RapidJSON parsers"
: >"$work/raw/backtest-ref.txt"
for round in 1 2; do
  ref_start=$(date +%s.%N)
  ref_pids=()
  for i in $(seq 1 "$cores"); do
    "$parse_ref" "$synthea" >"$work/ref-$round-$i.out" &
    ref_pids+=($!)
  done
  wait "${ref_pids[@]}"
  ref_end=$(date +%s.%N)
  ref_bytes=$(sed -n 's/^bytes=\([0-9]*\).*/\1/p' "$work/ref-$round-1.out")
  python3 -c "import sys; b,s,e,c=map(float,sys.argv[1:]); print(f'bytes={int(b*c)} seconds={e-s:.3f} mbps={b*c/1e6/(e-s):.1f}')" \
    "$ref_bytes" "$ref_start" "$ref_end" "$cores" >>"$work/raw/backtest-ref.txt"
done
"$magcds" rules backtest --population "$synthea" --rules "$repo/rules/sets/magnesium/1.0.0" \
  --now 2026-11-22T12:00:00Z --jobs "$cores" --out "$work/backtest" >"$work/raw/backtest.log" 2>&1 || {
  tail -20 "$work/raw/backtest.log"; echo "run.sh: backtest failed" >&2; exit 1; }
python3 -c "
import json,sys; r=json.load(open(sys.argv[1]))
print(f'cores={sys.argv[2]} patients={r[\"patients\"][\"evaluated\"]} bytes={r[\"inputBytes\"]} seconds={r[\"seconds\"]}')
" "$work/backtest/report.json" "$cores" >"$work/raw/backtest-run.txt"
sed 's/^/  RapidJSON on all cores: /' "$work/raw/backtest-ref.txt"
sed 's/^/  backtest: /' "$work/raw/backtest-run.txt"

# ---------------------------------------------------------------- 11. reload under load
# Issue #18's reload row asks for 0 failed requests as well: magcds on the
# 1,300-rule set (its rules path a symlink), swapped between two versions and
# reloaded by SIGHUP every 250 ms while wrk -c16 and a checker that reads every
# answer keep it busy.
reload_seconds=10; [ "$quick" = 1 ] && reload_seconds=3
log "reload under load: the 1,300-rule set swapped and reloaded by SIGHUP every 250 ms for ${reload_seconds} s, wrk -c16"
mkdir -p "$work/reload"
cp -r "$work/data/rules-1300/." "$work/reload/a"
cp -r "$work/data/rules-1300/." "$work/reload/b"
python3 - "$work/reload/b/ruleset.json" <<'EOF'
import json, sys
rs = json.load(open(sys.argv[1]))
major, minor, patch = rs["version"].split(".")
rs["version"] = f"{major}.{minor}.{int(patch) + 1}"  # a second version, to see each swap served
json.dump(rs, open(sys.argv[1], "w"), indent=1, ensure_ascii=False)
EOF
ln -s "$work/reload/a" "$work/reload/current"
printf '{"reload": {"pollSeconds": 0}, "log": {"level": "info"}}\n' >"$work/reload/config.json"
port_r=$(free_port)
"$magcds" serve --listen "127.0.0.1:$port_r" --rules "$work/reload/current" --config "$work/reload/config.json" \
  >"$work/raw/magcds-reload.log" 2>&1 &
pid_r=$!; pids+=("$pid_r")
wait_http "http://127.0.0.1:$port_r/healthz"
python3 "$bench_dir/reload_under_load.py" "http://127.0.0.1:$port_r$service_path" "$pid_r" "$work/reload/current" \
  "$work/reload/a" "$work/reload/b" "$work/raw/magcds-reload.log" "$reload_seconds" "$bench_dir/wrk_report.lua" \
  "$body" "$work/raw/reload-under-load.json"
stop_pid "$pid_r"

# ---------------------------------------------------------------- 12. report
log "writing results"
echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/raw/machine.txt"
echo "total_seconds=$(( $(date +%s) - started_at ))" >>"$work/raw/machine.txt"
if [ "${#deferred_profiles[@]}" -gt 0 ]; then
  log "summarising the perf profiles (after every measurement)"
  summarise_profiles
fi
for f in machine.txt throughput.tsv fetch.tsv fetch-status.txt fetch-cpu.txt.kv fetch-gets-cpu.txt.kv memory.txt soak.txt soak-series.tsv engine.json \
  big-patients.json big-parse-ref.txt sizes.tsv backtest-ref.txt backtest-run.txt reload-under-load.json; do
  if [ -f "$work/raw/$f" ]; then cp "$work/raw/$f" "$results/raw/$f"; else rm -f "$results/raw/$f"; fi
done
python3 "$bench_dir/report.py" "$results"
gnuplot -e "datadir='$results/data'; out='$results/scaling.png'" "$bench_dir/scaling.gp"
gnuplot -e "datadir='$results/data'; out='$results/body_size.png'" "$bench_dir/body_size.gp"
log "done in $(( $(date +%s) - started_at )) s: $results/results.md, $results/scaling.png, $results/body_size.png"
