#!/usr/bin/env bash
# Issue #8: Docker is not available here, so the image is checked statically.
# deploy/Dockerfile's builder must run deploy/install-deps.sh (the script CI
# and the README use); its runtime stage must run as a non-root user, have a
# HEALTHCHECK, install no compiler, and install packages whose dependency
# closure provides every shared library the built magcds needs (ldd + dpkg).
# usage: image_libs_test.sh MAGCDS_BINARY
set -euo pipefail
magcds="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dockerfile="$root/deploy/Dockerfile"
fail() { echo "FAIL: $*" >&2; exit 1; }

grep -q '^RUN bash deploy/install-deps.sh' "$dockerfile" || fail "builder does not run deploy/install-deps.sh"
runtime=$(sed -n '/^FROM .* AS runtime/,$p' "$dockerfile")
[ -n "$runtime" ] || fail "no runtime stage"
grep -q '^USER 10001' <<<"$runtime" || fail "runtime does not run as a non-root user"
grep -q '^HEALTHCHECK' <<<"$runtime" || fail "no HEALTHCHECK"
packages=$(sed -n '/apt-get install/,/rm -rf/p' <<<"$runtime" | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' \
  | grep -vE '^(apt-get|install|rm|rf|update)$' || true)
[ -n "$packages" ] || fail "no runtime packages found"
for compiler in g++ gcc cmake make clang; do
  grep -qx "$compiler" <<<"$packages" && fail "runtime installs $compiler"
done
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $packages 2>/dev/null | grep -E '^[a-z0-9]' | sed 's/:.*//' | sort -u)
missing=0
while read -r lib; do
  [ -n "$lib" ] || continue
  real=$(readlink -f "$lib")
  package=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real/\/usr\/lib/\/lib}" 2>/dev/null || true)
  package=${package%%:*}
  if [ -z "$package" ]; then echo "?? $lib: no package owns it" >&2; missing=1; continue; fi
  grep -qx "$package" <<<"$closure" || { echo "MISSING $lib ($package) in the runtime image" >&2; missing=1; }
done < <(ldd "$magcds" | awk '/=>/ {print $3}')
[ "$missing" -eq 0 ] || fail "runtime stage lacks libraries magcds needs"
echo "runtime packages ($(echo $packages)) provide every library of magcds"
