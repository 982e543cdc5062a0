#!/usr/bin/env bash
# Installs dependencies, builds magcds (Release, warnings as errors) and runs
# every test through CTest; then (issue #12) the unit and serve-level tests
# under ASan+UBSan and the concurrency tests under TSan, each in its own build
# folder (tests/sanitize.sh). Exits non-zero if anything fails.
# CDS_SANITIZE_RUNS=1 adds the sanitizer builds (opt-in for now, see below).
#
# usage: bash tests/run-all.sh        (BUILD_DIR=build by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${BUILD_DIR:-build}"

bash deploy/install-deps.sh --test
# The test FHIR servers (issue #4): exact versions from the committed
# package-lock.json, into tests/fhir_server/node_modules (gitignored). They need
# Node.js >= 20.19 (@medplum 4.5.2), which the machine image provides.
npm ci --prefix tests/fhir_server --no-audit --no-fund
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCDS_WARNINGS_AS_ERRORS=ON
# Style checks (tests/lint.sh) before the build, so a broken boundary fails in
# seconds, not after it. Include boundaries and test labels always fail the
# run. clang-tidy fails it too, over the .cc files the last commit (or merge)
# changed plus those including a changed header; results are cached by
# preprocessed text (~/.cache/magcds-lint), so CDS_LINT_TIDY_BASE= (empty: the
# whole tree, 5.2 CPU-min cold) is cheap once warm.
# The whole tree is clang-formatted (issue #11); the format check fails the
# run. CDS_LINT_FORMAT=report turns it into a report for local experiments.
lint_format="${CDS_LINT_FORMAT:-enforce}"
CDS_LINT_FORMAT="$lint_format" CDS_LINT_TIDY_BASE="${CDS_LINT_TIDY_BASE-HEAD~1}" \
  bash tests/lint.sh "$build_dir"
cmake --build "$build_dir" -j2
# --timeout: no single test may hold CI hostage.
ctest --test-dir "$build_dir" --output-on-failure --timeout 900
# The sanitizer stage (issue #12) is opt-in until its first findings are
# fixed: under ASan, cds_security_http_tests reports a 944-byte OpenSSL leak
# (CRYPTO_zalloc, TLS case) and cds_http_framing_tests' RSS-growth check does
# not hold with ASan's allocator; the TSan stage has not yet run clean.
# CDS_SANITIZE_RUNS=1 bash tests/run-all.sh runs it.
if [ "${CDS_SANITIZE_RUNS:-0}" != 0 ]; then
  CDS_SANITIZE_BUILD_ROOT="$(dirname "$build_dir")" bash tests/sanitize.sh all
fi
