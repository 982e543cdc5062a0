#!/usr/bin/env bash
# Installs dependencies, builds magcds (Release, warnings as errors) and runs
# every test through CTest. Exits non-zero if anything fails.
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
