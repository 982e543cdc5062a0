#!/usr/bin/env bash
# Installs dependencies, builds magcds (Release, warnings as errors) and runs
# every test through CTest; then (issue #12) the unit and serve-level tests
# under ASan+UBSan and the concurrency tests under TSan, each in its own build
# folder (tests/sanitize.sh). Exits non-zero if anything fails.
# CDS_SANITIZE_RUNS=0 leaves the sanitizer builds out (local runs only; CI
# runs them).
#
# usage: bash tests/run-all.sh        (BUILD_DIR=build by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${BUILD_DIR:-build}"

# ccache across clones (CI builds a fresh clone in a new folder): paths under
# the clone's parent are hashed relative to the build folder, and the
# sanitizer builds' -g (debug info names the build folder) does not put the
# folder into the hash. Objects built by an earlier clone or worktree on this
# machine are then reused; test objects carry no absolute path either
# (tests/support/test_paths.h). The compiler launcher is set by CMakeLists.txt.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

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
# The sanitizer stage (issue #12): only the targets its tests need, at -O1,
# through the same ccache (tests/sanitize.sh prints each step's time).
if [ "${CDS_SANITIZE_RUNS:-1}" != 0 ]; then
  CDS_SANITIZE_BUILD_ROOT="$(dirname "$build_dir")" bash tests/sanitize.sh all
fi
