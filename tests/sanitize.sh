#!/usr/bin/env bash
# Issue #12: the sanitizer builds of the test command (tests/run-all.sh).
#   build-asan/  ASan + UBSan: the unit tests and the serve-level tests (the
#                real `magcds serve` under ASan, shutdown with fetches in
#                flight, hostile framing, TLS, limits).
#   build-tsan/  TSan: the concurrency tests (rules reload under load,
#                SIGTERM under load, the FHIR fetch fan-out, SIGTERM with
#                fetches in flight), with a TSan `magcds` and a TSan
#                libcpprest built from Debian's source (said below).
# Any sanitizer report fails the run: ASan/UBSan abort the process (UBSan
# with halt_on_error), TSan makes the process exit 66, which the tests check.
# Only the targets those tests need are built (-O1: sanitizer builds are for
# finding bugs, not speed), so this adds a few minutes to CI, not a full
# second and third build. Each step prints its wall time ("sanitize:" lines).
#
# usage: bash tests/sanitize.sh [asan|tsan|all]    (default all)
#   CDS_SANITIZE_BUILD_ROOT   where build-asan/ and build-tsan/ go (default: repo)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
which="${1:-all}"
root="${CDS_SANITIZE_BUILD_ROOT:-.}"

# Warnings are errors in the Release build (tests/run-all.sh); here they are
# not: GCC 12 at -O1 with -fsanitize reports false -Wmaybe-uninitialized
# inside libstdc++'s <regex> (seen in CI), which would fail the run on code
# the Release build has already checked.
stamp=$SECONDS
step() {  # step NAME: prints the time since the previous step
  echo "sanitize: $1 took $((SECONDS - stamp)) s"
  stamp=$SECONDS
}

configure() {  # configure DIR SANITIZERS [CMAKE_ARGUMENTS...]
  mkdir -p "$1"
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DCDS_WARNINGS_AS_ERRORS=OFF -DCDS_SANITIZE="$2" -DCDS_FUZZ_SECONDS=0 "${@:3}" >"$1/configure.log" 2>&1 \
    || { cat "$1/configure.log"; exit 1; }
}

if [ "$which" = asan ] || [ "$which" = all ]; then
  dir="$root/build-asan"
  configure "$dir" "address;undefined"
  asan_targets=(magcds cds_fhir_tests cds_rules_tests cds_cards_tests cds_service_tests
    cds_security_tests cds_ops_tests cds_hostile_unit_tests cds_http_framing_tests
    cds_hostile_input_tests cds_service_http_tests cds_security_http_tests cds_serve_load_tests)
  cmake --build "$dir" -j2 --target "${asan_targets[@]}"
  step "ASan+UBSan build"
  # LSan: OpenSSL's per-thread state on cpprestsdk's never-destroyed pool
  # threads is suppressed by name (tests/lsan.supp says why); the names are
  # only on the stack with the slow unwinder (libcrypto has no frame
  # pointers), hence fast_unwind_on_malloc=0. A leak of ours still fails.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure --timeout 600 -R \
    '^(cds_fhir_tests|cds_rules_tests|cds_cards_tests|cds_service_tests|cds_security_tests|cds_ops_tests|cds_hostile_unit_tests|cds_http_framing_tests|cds_hostile_input_tests|cds_service_http_tests|cds_security_http_tests|cds_serve_load_tests|magcds_hostile_serve|magcds_security_serve|magcds_serve_smoke|magcds_evaluate_.*)$'
  step "ASan+UBSan tests"
fi

if [ "$which" = tsan ] || [ "$which" = all ]; then
  dir="$root/build-tsan"
  # TSan sees only the synchronisation of instrumented code, and Debian's
  # libcpprest is not: run through it, the FHIR client tests gave impossible
  # reports (a double lock in its connection pool, an unlock of an unlocked
  # mutex in pplx, races on task and asio memory handed over inside it). So
  # this build links a libcpprest built with -fsanitize=thread from Debian's
  # source of the installed version (tests/tsan/build-cpprest.sh: apt-get
  # source, cached under build-tsan/cpprest/ by version; minutes cold, under
  # a second cached), through CDS_CPPREST_PREFIX and the build RPATH.
  cpprest_prefix="$(bash tests/tsan/build-cpprest.sh "$dir/cpprest" | tail -n 1)"
  step "TSan libcpprest"
  configure "$dir" "thread" -DCDS_CPPREST_PREFIX="$cpprest_prefix"
  tsan_targets=(magcds cds_serve_ops_tests cds_serve_load_tests cds_fetch_tests cds_fetch_load_tests)
  cmake --build "$dir" -j2 --target "${tsan_targets[@]}"
  step "TSan build"
  # A binary that loaded the system libcpprest would report the impossible
  # events again, or worse, hide races behind them: check, fail loudly.
  # magcds and the fetch tests use cpprestsdk; the serve tests only start
  # magcds, and link it not at all (also fine).
  for target in "${tsan_targets[@]}"; do
    binary="$(find "$dir" -name "$target" -type f -perm -u+x -print -quit)"
    loaded="$(ldd "$binary" | awk '/libcpprest/ {print $3}')"
    case "$target" in magcds | cds_fetch_tests | cds_fetch_load_tests) ;; *) [ -z "$loaded" ] && continue ;; esac
    if [ "$loaded" != "$cpprest_prefix/lib/libcpprest.so.2.10" ]; then
      echo "sanitize: $binary loads libcpprest from '$loaded'," \
        "not the instrumented $cpprest_prefix/lib (RPATH?)" >&2
      exit 1
    fi
  done
  echo "sanitize: TSan binaries load $cpprest_prefix/lib/libcpprest.so.2.10"
  # Every report of every process (the tests and the `magcds serve` children
  # they start, which inherit TSAN_OPTIONS) lands in $reports; any file there
  # fails the stage, whatever the exit codes (a child killed at the end of a
  # test cannot exit 66).
  reports="$dir/tsan-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp:log_path=$reports/report"
  # The concurrency tests: 100 rule reloads under a request loop; SIGTERM
  # under keep-alive, new-connection and FHIR-fetching load; the FHIR fetch
  # fan-out (cds_fetch_tests: each call's queries run in parallel against
  # the Node test servers, with paging, follow-up reads, deadlines and
  # cancellation; cds_fetch_load_tests: 64 calls stuck on fetches beside a
  # listener that keeps answering); SIGTERM with FHIR and JWK Set fetches
  # in flight, CORS and auth configured (the whole hostile serve script,
  # stalled log reader included, runs with the TSan magcds).
  # Each test's output goes to $dir/tsan-logs/NAME.log (shown when it fails);
  # a failed test does not stop the others, so one run shows every report.
  logs="$dir/tsan-logs"
  rm -rf "$logs" && mkdir -p "$logs"
  failed=()
  run() {  # run NAME COMMAND...
    local started=$SECONDS
    if "${@:2}" >"$logs/$1.log" 2>&1; then
      echo "sanitize: $1 passed under TSan ($((SECONDS - started)) s)"
    else
      echo "sanitize: $1 FAILED under TSan (exit $?), end of $logs/$1.log:"
      tail -n 40 "$logs/$1.log"
      failed+=("$1")
    fi
  }
  run reload_under_load "$dir/tests/service/cds_serve_ops_tests" \
    --run_test='ServeOps/hundred_reloads_under_load_fail_no_request'
  run sigterm_under_load "$dir/tests/service/cds_serve_load_tests" \
    --run_test='ServeLoad/sigterm_under_load_loses_no_accepted_request_and_then_refuses'
  run fetch_fan_out "$dir/tests/service/cds_fetch_tests"
  run fetch_load "$dir/tests/service/cds_fetch_load_tests"
  run hostile_serve bash tests/service/hostile_serve_test.sh "$dir/magcds" \
    tests/data/requests/patient-view-ppi-cramps.json tests/fhir_server
  if [ -n "$(ls -A "$reports")" ]; then
    echo "sanitize: ThreadSanitizer reports in $reports:"
    grep -h '^SUMMARY' "$reports"/* | sort | uniq -c
    exit 1
  fi
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "sanitize: failed under TSan: ${failed[*]}"
    exit 1
  fi
  step "TSan tests"
fi
echo "sanitizer runs passed ($which)"
