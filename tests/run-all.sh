#!/usr/bin/env bash
# Installs dependencies, builds magcds (Release, warnings as errors) and runs
# every test through CTest. Exits non-zero if anything fails.
#
# usage: bash tests/run-all.sh        (BUILD_DIR=build by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${BUILD_DIR:-build}"

bash deploy/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCDS_WARNINGS_AS_ERRORS=ON
cmake --build "$build_dir" -j2
# --timeout: no single test may hold CI hostage.
ctest --test-dir "$build_dir" --output-on-failure --timeout 900
