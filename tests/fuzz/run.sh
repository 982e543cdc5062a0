#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer) and runs
# each for a time slice over a copy of its seed corpus. Fails on any crash,
# leak, sanitizer report or timeout; prints executions per second and the total
# for every target (the "fuzz:" lines).
#
# usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]     (default 30)
#   CDS_FUZZ_BUILD_DIR   build directory (default build-fuzz in the repo)
#   CDS_FUZZ_TARGETS     space-separated subset (default: all five)
#   CDS_FUZZ_ARTIFACTS   where crash inputs go (default $CDS_FUZZ_BUILD_DIR/artifacts)
# Long runs (see README "Fuzzing"): tests/fuzz/run.sh 3600, or run one binary
# directly: build-fuzz/fuzz/fuzz_jwt -max_total_time=3600 -jobs=2 CORPUS_DIR
set -euo pipefail
seconds="${1:-30}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${CDS_FUZZ_BUILD_DIR:-$root/build-fuzz}"
targets="${CDS_FUZZ_TARGETS:-fuzz_hook_request fuzz_normalize fuzz_rule_loader fuzz_jwt fuzz_http_request}"
artifacts="${CDS_FUZZ_ARTIFACTS:-$build/artifacts}"

# clang and its compiler-rt (libclang_rt.fuzzer, asan, ubsan) from Debian.
bash "$root/deploy/install-deps.sh" --fuzz

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCDS_BUILD_FUZZERS=ON -DCDS_BUILD_TESTS=OFF >"$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; exit 1; }
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets

mkdir -p "$artifacts"
status=0
for target in $targets; do
  corpus="$build/corpus/$target"  # a working copy: new inputs never land in the repo
  mkdir -p "$corpus"
  cp -n "$root/tests/fuzz/corpus/$target/"* "$corpus/" 2>/dev/null || true
  log="$build/$target.log"
  # -rss_limit_mb: a leak or blow-up fails rather than swapping; -timeout: a
  # single input taking over 10 s is a hang finding.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/fuzz/ubsan.supp \
      "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
      "$corpus" >"$log" 2>&1; then
    echo "fuzz: $target FAILED (log: $log)"
    grep -E "ERROR|runtime error|SUMMARY|Test unit written" "$log" | head -20 || true
    status=1
    continue
  fi
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  per_second=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  features=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  echo "fuzz: $target clean: ${execs:-?} execs in ${seconds} s (${per_second:-?} exec/s), ${features:-?} features, corpus $(ls "$corpus" | wc -l) inputs"
done
exit "$status"
