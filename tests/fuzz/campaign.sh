#!/usr/bin/env bash
# A fuzz campaign (issue #12): one libFuzzer target at a time, at the lowest
# CPU priority, until it has run RUNS inputs or SECONDS have passed, over a
# working corpus kept between campaigns (build-fuzz/campaign/<target>, seeded
# from tests/fuzz/corpus/<target>). Appends one line per target to
# tests/fuzz/results/campaigns.tsv (date, target, command, executions, exec/s,
# seconds, corpus size, crashes) and keeps the libFuzzer log next to it.
# Not part of CI: the targets must first be built by tests/fuzz/run.sh (or
# cmake --build build-fuzz --target <targets>).
#
# usage: tests/fuzz/campaign.sh SECONDS [RUNS] [TARGET...]
#   (default RUNS 10000000, default targets: all five)
#   CDS_FUZZ_NICE   CPU priority of the fuzzer (default 19: a campaign must not
#                   slow the machine's other work; 0 on a machine of its own)
set -euo pipefail
seconds="$1"
runs="${2:-10000000}"
shift $(($# > 1 ? 2 : 1))
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${CDS_FUZZ_BUILD_DIR:-$root/build-fuzz}"
results="$root/tests/fuzz/results"
niceness="${CDS_FUZZ_NICE:-19}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_http_request fuzz_jwt fuzz_normalize fuzz_hook_request fuzz_rule_loader)
mkdir -p "$results"
[ -f "$results/campaigns.tsv" ] ||
  printf 'date\ttarget\tcommand\texecutions\texec_per_s\tseconds\tcorpus\tcrashes\n' >"$results/campaigns.tsv"

# Longest input per target. The rule loader's cost per execution grows with
# the input (JSON parse, schema check and build under full instrumentation:
# ~300 exec/s on the 28 KB shipped rulesets); its campaign runs on the
# one-rule seeds of make_rule_loader_seeds.py (0.5-2 KB, each a valid rule set
# that reaches the semantic checks and the compile step) with room to grow
# to 8 KB. The full-size files stay in the seed corpus for tests/fuzz/run.sh
# and the suite's fuzz_slices; here they are left out rather than truncated.
max_len_of() {
  case "$1" in
    fuzz_rule_loader) echo "${CDS_FUZZ_RULE_LOADER_MAX_LEN:-8192}" ;;
    *) echo 65536 ;;
  esac
}

for target in "${targets[@]}"; do
  corpus="$build/campaign/$target"
  artifacts="$build/campaign-artifacts"
  max_len=$(max_len_of "$target")
  mkdir -p "$corpus" "$artifacts"
  for seed in "$root/tests/fuzz/corpus/$target/"*; do
    if [ "$(stat -c %s "$seed")" -le "$max_len" ]; then cp -n "$seed" "$corpus/" || true; fi
  done
  log="$results/$target.log"
  # The same options as tests/fuzz/run.sh, plus -runs (the campaign's goal).
  options=(-max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len"
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-")
  started=$SECONDS
  status=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/fuzz/ubsan.supp \
    nice -n "$niceness" "$build/fuzz/$target" "${options[@]}" "$corpus" >"$log" 2>&1 || status=$?
  elapsed=$((SECONDS - started))
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  per_second=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  crashes=$(ls "$artifacts" | grep -c "^$target-" || true)
  [ "$status" = 0 ] || crashes="$crashes (exit $status)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" \
    "nice -n $niceness build-fuzz/fuzz/$target ${options[*]/$artifacts/ARTIFACTS} CORPUS" \
    "${execs:-?}" "${per_second:-?}" "$elapsed" "$(ls "$corpus" | wc -l)" "$crashes" \
    >>"$results/campaigns.tsv"
  tail -n 1 "$results/campaigns.tsv"
done
