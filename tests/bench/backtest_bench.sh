#!/usr/bin/env bash
# Backtest benchmark (issue #17): `magcds rules backtest` over
#   (1) the 60 Synthea patients (FHIR Bundle folder, shared/data/synthea-r4), and
#   (2) a generated population of 10,000 patients as Bulk Data NDJSON
#       (tests/bench/gen_data.py population; about 450 MB),
# each with --jobs 1 and --jobs <cores>, next to a reference measured in the
# same run, alternating with it round by round: json_parse_ref reading and
# parsing the same files with RapidJSON alone on one thread.
# Reports patients/s and MB/s per core and the ratio to the reference in
# tests/bench/results/backtest.md (raw numbers in results/raw/backtest.tsv).
#
#   bash tests/bench/backtest_bench.sh
# Knobs: MAGCDS (default build/magcds), BENCH_ROUNDS=3, BENCH_PATIENTS=10000,
# SYNTHEA_DIR, BENCH_KEEP_WORK=1. Not registered with CTest (it takes minutes).
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$bench_dir/../.." && pwd)"
magcds="${MAGCDS:-$repo/build/magcds}"
rounds="${BENCH_ROUNDS:-3}"
patients="${BENCH_PATIENTS:-10000}"
synthea="${SYNTHEA_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/data/synthea-r4}"
rules="$repo/rules/sets/magnesium/1.0.0"
cores="$(nproc)"
py=/usr/bin/python3
[ -x "$magcds" ] || { echo "backtest_bench.sh: build magcds first ($magcds)" >&2; exit 2; }
work="$(mktemp -d /tmp/magcds-backtest-bench.XXXXXX)"
cleanup() { [ "${BENCH_KEEP_WORK:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

g++ -O2 -std=c++20 -o "$work/json_parse_ref" "$bench_dir/json_parse_ref.cc"
echo "generating $patients patients as NDJSON ..." >&2
"$py" "$bench_dir/gen_data.py" population --patients "$patients" "$work/population"

raw="$bench_dir/results/raw/backtest.tsv"
mkdir -p "$(dirname "$raw")"
printf 'round\tinput\trun\tjobs\tpatients\tbytes\tseconds\tcpu_seconds\n' > "$raw"
cpu() { awk '{print $1 + $2}' "$work/cpu"; }  # user + system seconds of the last run
run_ref() {  # input-name path
  local line; line="$(/usr/bin/time -f '%U %S' -o "$work/cpu" "$work/json_parse_ref" "$2")"
  local bytes="${line#bytes=}"; bytes="${bytes%% *}"
  local secs="${line##*seconds=}"
  printf '%s\t%s\tref\t1\t-\t%s\t%s\t%s\n' "$round" "$1" "$bytes" "$secs" "$(cpu)" >> "$raw"
}
run_backtest() {  # input-name path jobs
  /usr/bin/time -f '%U %S' -o "$work/cpu" "$magcds" rules backtest --population "$2" \
    --rules "$rules" --now 2026-11-22T12:00:00Z --jobs "$3" --out "$work/out" > /dev/null 2>&1
  "$py" - "$work/out/report.json" "$round" "$1" "$3" "$(cpu)" >> "$raw" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]}\t{sys.argv[3]}\tbacktest\t{sys.argv[4]}\t{r['patients']['evaluated']}\t{r['inputBytes']}\t{r['seconds']}\t{sys.argv[5]}")
PY
}
for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds" >&2
  for input in synthea60 ndjson10k; do
    path="$synthea"; [ "$input" = ndjson10k ] && path="$work/population"
    run_ref "$input" "$path"
    run_backtest "$input" "$path" 1
    run_ref "$input" "$path"
    run_backtest "$input" "$path" "$cores"
  done
done

"$py" - "$raw" "$bench_dir/results/backtest.md" "$cores" "$rounds" <<'PY'
import statistics, sys, datetime, platform
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
cores, rounds = int(sys.argv[3]), sys.argv[4]
out = ["# Backtest benchmark (issue #17)", "",
       f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC on {platform.node()} ({cores} cores, "
       f"shared with other work), {rounds} rounds, medians. Reference: RapidJSON parse of the same files "
       "on one thread (tests/bench/json_parse_ref.cc), measured in the same run, alternating with the backtest.",
       "", "| input | run | jobs | patients/s | MB/s per core (wall) | vs RapidJSON-only | MB per CPU-second | vs RapidJSON-only |",
       "|---|---|---:|---:|---:|---:|---:|---:|"]
for name, label in [("synthea60", "60 Synthea patients, Bundle folder (92.7 MB)"),
                    ("ndjson10k", "10,000 generated patients, Bulk NDJSON")]:
    ref = [r for r in rows if r[1] == name and r[2] == "ref"]
    ref_mbps = statistics.median(int(r[5]) / 1e6 / float(r[6]) for r in ref)
    ref_cpu = statistics.median(int(r[5]) / 1e6 / float(r[7]) for r in ref)
    out.append(f"| {label} | RapidJSON parse only | 1 | - | {ref_mbps:.1f} | 1.00 | {ref_cpu:.1f} | 1.00 |")
    for jobs in sorted({r[3] for r in rows if r[1] == name and r[2] == "backtest"}, key=int):
        runs = [r for r in rows if r[1] == name and r[2] == "backtest" and r[3] == jobs]
        pps = statistics.median(int(r[4]) / float(r[6]) for r in runs)
        mbps = statistics.median(int(r[5]) / 1e6 / float(r[6]) / int(jobs) for r in runs)
        cpu = statistics.median(int(r[5]) / 1e6 / float(r[7]) for r in runs)
        out.append(f"| {label} | magcds rules backtest | {jobs} | {pps:.0f} | {mbps:.1f} | "
                   f"{mbps / ref_mbps:.2f} | {cpu:.1f} | {cpu / ref_cpu:.2f} |")
out += ["", "MB/s per core = input bytes / wall-clock seconds / jobs; MB per CPU-second = input bytes / "
        "(user + system CPU seconds), which is less disturbed by other load on a shared machine. The backtest reads and parses every "
        "byte (NDJSON: a SAX check while indexing and a DOM parse per patient), normalises, evaluates "
        "13 rules and renders cards; the reference only parses. Raw figures: raw/backtest.tsv.",
        "", "Where the time goes (perf, NDJSON, one job): RapidJSON parsing about a third (the "
        "indexing SAX pass validates every line in full, so that a truncated line is reported with "
        "its file and line before any patient is evaluated, and the DOM parse per patient), "
        "malloc/free about a fifth (DOM, facts, card text), value-set matching and the rest of "
        "normalise/evaluate/render the remainder. The Synthea Bundles are pretty-printed and mostly "
        "resources no rule reads (claims, encounters), so there parsing dominates and the backtest "
        "runs close to the parse-only reference."]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
