#!/usr/bin/env bash
# Installs the Debian 12 packages that magcds needs to build, run and test.
# Idempotent: packages already installed are left alone, and when nothing is
# missing apt is not touched at all. Run as root (or with sudo available).
#
# usage: bash deploy/install-deps.sh [--test-extras]
#   --test-extras   also install the packages used only by optional tests
set -euo pipefail

# Build + run + unit/HTTP tests. python3 is only for pretty-printing in the
# README's curl example.
packages=(
  cmake g++ make
  libcpprest-dev rapidjson-dev libssl-dev libboost-test-dev
  ccache curl ca-certificates python3
)
# TODO(#4, #8): tools for the optional tests (e.g. nodejs for the test FHIR server).
test_extras=()

for arg in "$@"; do
  case "$arg" in
    --test-extras) packages+=("${test_extras[@]}") ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
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
