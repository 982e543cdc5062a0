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
set -euo pipefail
seconds="$1"
runs="${2:-10000000}"
shift $(($# > 1 ? 2 : 1))
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${CDS_FUZZ_BUILD_DIR:-$root/build-fuzz}"
results="$root/tests/fuzz/results"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_http_request fuzz_jwt fuzz_normalize fuzz_hook_request fuzz_rule_loader)
mkdir -p "$results"
[ -f "$results/campaigns.tsv" ] ||
  printf 'date\ttarget\tcommand\texecutions\texec_per_s\tseconds\tcorpus\tcrashes\n' >"$results/campaigns.tsv"

for target in "${targets[@]}"; do
  corpus="$build/campaign/$target"
  artifacts="$build/campaign-artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$root/tests/fuzz/corpus/$target/"* "$corpus/" 2>/dev/null || true
  log="$results/$target.log"
  # The same options as tests/fuzz/run.sh, plus -runs (the campaign's goal).
  options=(-max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-")
  started=$SECONDS
  status=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/fuzz/ubsan.supp \
    nice -n 19 "$build/fuzz/$target" "${options[@]}" "$corpus" >"$log" 2>&1 || status=$?
  elapsed=$((SECONDS - started))
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  per_second=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  crashes=$(ls "$artifacts" | grep -c "^$target-" || true)
  [ "$status" = 0 ] || crashes="$crashes (exit $status)"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" \
    "nice -n 19 build-fuzz/fuzz/$target ${options[*]/$artifacts/ARTIFACTS} CORPUS" \
    "${execs:-?}" "${per_second:-?}" "$elapsed" "$(ls "$corpus" | wc -l)" "$crashes" \
    >>"$results/campaigns.tsv"
  tail -n 1 "$results/campaigns.tsv"
done
