#!/usr/bin/env bash
# Installs the Debian 12 packages that magcds needs to build, run and test.
# Idempotent: packages already installed are left alone, and when nothing is
# missing apt is not touched at all. Run as root (or with sudo available).
#
# usage: bash deploy/install-deps.sh [--test] [--fuzz]
#   --test          also install the packages used only by tests (tests/run-all.sh
#                   passes it; the Dockerfile's builder does not). --test-extras
#                   is the same.
#   --fuzz          clang + compiler-rt for the libFuzzer targets (tests/fuzz/run.sh)
set -euo pipefail

# Build + run + unit/HTTP tests. python3 is only for pretty-printing in the
# README's curl example.
packages=(
  cmake g++ make
  libcpprest-dev rapidjson-dev libssl-dev libboost-test-dev
  libboost-system-dev  # Boost.Asio: the HTTP server (issue #12; also a cpprestsdk dependency)
  libsqlite3-dev libpq-dev
  ccache curl ca-certificates python3
)
# Test-only tools (issue #8, tests/deploy/): nginx (nginx -t, the end-to-end
# front), systemd (systemd-analyze verify), procps (/bin/kill for the unit's
# ExecReload), openssl (test certificates), yamllint + python3-kubernetes +
# python3-yaml (Kubernetes manifest validation against the API schema);
# chromium + python3-pil (issue #17: backtest report and rule book rendered
# headless, screenshot pixels checked); postgresql (issue #16): the feedback
# store tests start a throwaway cluster with its initdb/pg_ctl
# (/usr/lib/postgresql/15/bin) on a loopback port.
# clang-format + clang-tidy (14 on Debian 12; issue #11): tests/lint.sh.
# dpkg-dev (issue #12): dpkg-source unpacks Debian's cpprest source for the
# TSan-instrumented libcpprest (tests/tsan/build-cpprest.sh).
# Node.js for the test FHIR servers comes with the machine image (>= 20.19;
# Debian 12's nodejs is older), see tests/run-all.sh.
test_extras=(
  nginx systemd procps openssl
  yamllint python3-yaml python3-kubernetes
  chromium python3-pil postgresql
  clang-format clang-tidy
  dpkg-dev
)
# Fuzzing (issue #6, tests/fuzz/run.sh): clang and compiler-rt, which holds
# libFuzzer (libclang_rt.fuzzer) and the ASan/UBSan runtimes for clang 14.
# The tests run the fuzz slices, so --test includes these.
fuzz_extras=(clang libclang-rt-14-dev)

for arg in "$@"; do
  case "$arg" in
    --test|--test-extras) packages+=("${test_extras[@]}" "${fuzz_extras[@]}") ;;
    --fuzz) packages+=("${fuzz_extras[@]}") ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "install-deps.sh: run as root to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "install-deps.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
