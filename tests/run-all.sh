#!/usr/bin/env bash
# Installs dependencies, builds magcds (Release, warnings as errors) and runs
# every test through CTest; then (issue #12) the unit and serve-level tests
# under ASan+UBSan and the concurrency tests under TSan, each in its own build
# folder (tests/sanitize.sh). Exits non-zero if anything fails.
# CDS_SANITIZE_RUNS=0 skips the sanitizer builds (a quick local run).
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
cmake --build "$build_dir" -j2
# --timeout: no single test may hold CI hostage.
ctest --test-dir "$build_dir" --output-on-failure --timeout 900
if [ "${CDS_SANITIZE_RUNS:-1}" != 0 ]; then
  CDS_SANITIZE_BUILD_ROOT="$(dirname "$build_dir")" bash tests/sanitize.sh all
fi
