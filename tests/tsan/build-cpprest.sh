#!/usr/bin/env bash
# Issue #12: a ThreadSanitizer-instrumented libcpprest for the TSan stage of
# tests/sanitize.sh, built from Debian's own source of the installed version.
#
# Why: TSan only sees the synchronisation of code it instrumented. With
# Debian's libcpprest binary it reported impossible events inside the library
# (a double lock in the HTTP client's connection pool, an unlock of an
# unlocked mutex in pplx) and races on pplx task and asio handler memory
# handed over through it, so the FHIR fetch fan-out could not run under TSan.
# Built from the same source (Debian's patches applied by dpkg-source) with
# -fsanitize=thread, the library is the code the service runs in production,
# and its locks and task hand-overs are seen.
#
# What: only the library (no tests, no samples, no websockets: magcds uses
# the HTTP client and listener only), the same build options Debian uses
# otherwise (Brotli on, see debian/rules), against the installed Boost,
# OpenSSL, zlib and Brotli, at -O1 -g. Installed into
#   CACHE_DIR/<source version>-<recipe hash>/   (lib/, include/, lib/cmake/)
# The recipe hash is that of this script's code (not its comments), so a
# change of flags rebuilds; a second run with the same Debian version and
# script reuses the install and takes well under a second. Cold: 3-4 CPU-minutes (5.8 min wall at -j2 on
# two cores shared with other builds); with a warm ccache about 12 s.
#
# The source comes through apt (a deb-src entry for bookworm main): apt
# checks the .dsc, orig and debian tarballs against the Sources index, which
# is signed by the Debian archive key, so no other trust path is needed.
#
# usage: bash tests/tsan/build-cpprest.sh CACHE_DIR
#   prints the install prefix as the last line of stdout; progress on stderr.
#   CDS_CPPREST_JOBS   parallel compile jobs (default 2: the CI box has 2 cores)
set -euo pipefail
cache="${1:?usage: build-cpprest.sh CACHE_DIR}"
jobs="${CDS_CPPREST_JOBS:-2}"
log() { echo "build-cpprest: $*" >&2; }

# The source package and version of the libcpprest that is installed (the
# binary may carry a binNMU suffix such as +b1; its source version does not).
read -r source version < <(dpkg-query -W -f='${source:Package} ${source:Version}\n' libcpprest-dev)
recipe="$(grep -v '^ *#' "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)"  # comments aside
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
prefix="$cache/${version//:/_}-$recipe"
if [ -f "$prefix/.complete" ]; then
  log "cached: $source $version in $prefix"
  echo "$prefix"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi

# apt-get source needs a deb-src entry, and Debian's images ship none. The
# entry is written under its own name (idempotent: same content each run,
# left in place for the next one) and only that list is refreshed, so the
# machine's other lists are not downloaded again.
if ! apt-cache showsrc --only-source "$source" 2>/dev/null | grep -x "Version: $version" >/dev/null; then
  list=/etc/apt/sources.list.d/magcds-deb-src.sources
  log "adding $list (deb-src for bookworm main) to fetch the $source source"
  printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' \
    'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
    | "${sudo[@]}" tee "$list" >/dev/null
  "${sudo[@]}" apt-get update -o Dir::Etc::sourcelist="sources.list.d/${list##*/}" \
    -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >&2
  if ! apt-cache showsrc --only-source "$source" 2>/dev/null | grep -x "Version: $version" >/dev/null; then
    log "FAILED: apt has no source for $source $version (installed); cannot build the TSan libcpprest"
    exit 1
  fi
fi

work="$cache/work"
rm -rf "$work" && mkdir -p "$work/download"
start=$SECONDS
# apt downloads as the _apt user; it needs to be able to write there.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$work/download"; fi
(cd "$work/download" && apt-get source --download-only "$source=$version" >&2)
# dpkg-source -x (dpkg-dev, deploy/install-deps.sh --test) verifies the
# tarballs against the .dsc and applies debian/patches (2.10.18-1: two
# test-only patches), giving the code the installed binary was built from.
# Its warning that it cannot verify the uploader's signature on the .dsc
# (debian-keyring is not installed) is expected: apt checked the .dsc
# against the archive-signed Sources index above.
dpkg-source -x "$work/download/${source}_${version#*:}.dsc" "$work/src" >&2

# Flags: CMake's build type None adds nothing, so these are all of them
# (upstream appends -std=c++11 -fno-strict-aliasing). WERROR=OFF as Debian.
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
  -DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)" \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
  -DBUILD_TESTS=OFF -DBUILD_SAMPLES=OFF -DCPPREST_EXCLUDE_WEBSOCKETS=ON \
  -DCPPREST_EXCLUDE_BROTLI=OFF -DWERROR=OFF -DCPPREST_EXPORT_DIR=cmake/cpprestsdk \
  >"$cache/configure.log" 2>&1 || { cat "$cache/configure.log" >&2; exit 1; }
cmake --build "$work/build" -j"$jobs" >"$cache/build.log" 2>&1 \
  || { tail -50 "$cache/build.log" >&2; exit 1; }
cmake --install "$work/build" >"$cache/install.log" 2>&1 \
  || { cat "$cache/install.log" >&2; exit 1; }

lib="$prefix/lib/libcpprest.so.2.10"
# (grep without -q: it must read all of nm's output, or pipefail sees SIGPIPE)
if ! nm -D "$lib" | grep ' U __tsan_func_entry' >/dev/null; then
  log "FAILED: $lib is not instrumented (no __tsan_func_entry calls)"
  exit 1
fi
echo "$source $version, -fsanitize=thread -O1 -g, built in $((SECONDS - start)) s" >"$prefix/.complete"
rm -rf "$work"
# Installs of an older version or recipe (about 50 MB each) are not used again.
for old in "$cache"/*/.complete; do
  [ "${old%/.complete}" = "$prefix" ] || rm -rf "${old%/.complete}"
done
log "built $source $version with TSan in $((SECONDS - start)) s: $prefix"
echo "$prefix"
