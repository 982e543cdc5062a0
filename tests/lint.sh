#!/usr/bin/env bash
# Checks that the code keeps the house style (style.md §4.2, §4.3, §4.5, §4.9):
#
#   includes  the dependency direction common -> fhir -> rules -> cards ->
#             service/store -> service/log -> service/hooks -> service/http ->
#             service/auth -> service/ops -> service/feedback ->
#             service/backtest -> service/app: no folder includes a folder
#             above it, and service/ has no C++ outside its sub-folders; cpprestsdk
#             (cpprest/, pplx/) only in the two adapters; rapidjson/ never in
#             a public header; common/json_internal.h and fhir/json_internal.h
#             only in *_json.cc files;
#             test helpers linked from tests/support, never compiled per test.
#   labels    every CTest test has one of the labels unit, integration,
#             system, fuzz, lint (needs a configured build folder).
#   format    clang-format --dry-run --Werror over every *.cc / *.h of the
#             product and test folders (repo .clang-format).
#   tidy      clang-tidy 14 with the repo .clang-tidy over the product .cc
#             files of the build folder's compile_commands.json.
#
# usage: bash tests/lint.sh [BUILD_DIR] [CHECK...]     (BUILD_DIR=build; all checks)
#   e.g. bash tests/lint.sh build includes labels
#
# Environment (each check: enforce = fails the run, report = prints only, off):
#   CDS_LINT_FORMAT=enforce|report|off   (default enforce)
#   CDS_LINT_TIDY=enforce|report|off     (default enforce)
#   CDS_LINT_TIDY_BASE=<git ref>         only the .cc files changed since the
#       merge base with this ref, plus those that include a changed header
#       (default: every product .cc file)
#   CDS_LINT_CACHE=<dir>                 clang-tidy results cache (default
#       ~/.cache/magcds-lint; "" = none). A file whose preprocessed text, tidy
#       version and .clang-tidy are unchanged since a clean run is not re-run.
#   CDS_LINT_JOBS=<n>                    parallel clang-tidy processes (default 2)
#
# Exits 1 if an enforced check fails, 2 on bad usage or a missing tool.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=build
if [ $# -gt 0 ] && [[ $1 != includes && $1 != labels && $1 != format && $1 != tidy ]]; then
  build_dir=$1
  shift
fi
checks=("$@")
[ ${#checks[@]} -eq 0 ] && checks=(includes labels format tidy)

format_mode=${CDS_LINT_FORMAT:-enforce}
tidy_mode=${CDS_LINT_TIDY:-enforce}
jobs=${CDS_LINT_JOBS:-2}
cache_dir=${CDS_LINT_CACHE-$HOME/.cache/magcds-lint}

# Folders from the bottom of the dependency graph up (style §4.2). A folder
# may include only folders before it. Sub-folders of common/, fhir/, rules/
# and cards/ count as their top folder; service/ is layered by sub-folder
# (README "Architecture"; the order of service/CMakeLists.txt).
layers=(common fhir rules cards
        service/store service/log service/hooks service/http service/auth
        service/ops service/feedback service/backtest service/app)
product_dirs=()
for d in "${layers[@]}"; do [ -d "$d" ] && product_dirs+=("$d"); done

# cpprestsdk stays at the edge (style §4.3). Update when the adapters move.
cpprest_allowed=(
  service/http/http_adapter.cc
  fhir/rest_fhir_client.cc
  tests/bench/bare_listener.cc  # the benchmark's bare-listener reference (issue #7)
)
# Headers that may include RapidJSON: internal to one library, included only
# by its *_json.cc files (style §4.3). Any *_internal.h, plus:
rapidjson_headers_allowed=(
  rules/json_lines.h  # the loader's line-numbering document, internal to rules/
)
# Files other than *_json.cc that may include a json_internal.h.
json_internal_allowed=(
  common/json_document.cc  # defines JsonDocument::Impl, the RapidJSON document itself
)

failed=0
fail() {
  echo "lint: $*" >&2
  failed=1
}
in_list() {
  local needle=$1
  shift
  for x in "$@"; do [ "$x" = "$needle" ] && return 0; done
  return 1
}
# Every C++ file of the product and test folders (tracked or new, not ignored).
cxx_files() {
  git ls-files --cached --others --exclude-standard -- "${product_dirs[@]}" tests |
    grep -E '\.(cc|h)$' | while read -r f; do [ -f "$f" ] && echo "$f"; done
}

check_includes() {
  local problems=0 i j f
  local include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'
  for ((i = 0; i < ${#layers[@]}; i++)); do
    local layer=${layers[i]}
    [ -d "$layer" ] || continue
    local above=()
    for ((j = i + 1; j < ${#layers[@]}; j++)); do above+=("${layers[j]}"); done
    [ ${#above[@]} -eq 0 ] && continue
    local alternation
    alternation=$(IFS='|'; echo "${above[*]}")
    while IFS= read -r hit; do
      [ -n "$hit" ] || continue
      fail "$hit: $layer/ may not include ${alternation//|/\/, }/ (style §4.2: nothing points back up)"
      problems=1
    done < <(grep -rnE --include="*.cc" --include="*.h" "${include_re}($alternation)/" "$layer" || true)
  done

  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    if ! in_list "${hit%%:*}" "${cpprest_allowed[@]}"; then
      fail "$hit: cpprestsdk outside its adapters (style §4.3; allowed: ${cpprest_allowed[*]})"
      problems=1
    fi
  done < <(cxx_files | xargs -r grep -nE "${include_re}(cpprest|pplx)/" || true)

  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    local file=${hit%%:*}
    if [[ $file != *_internal.h ]] && ! in_list "$file" "${rapidjson_headers_allowed[@]}"; then
      fail "$hit: RapidJSON in a public header (style §4.3: *_json.cc or an *_internal.h only)"
      problems=1
    fi
  done < <(cxx_files | grep -E '\.h$' | grep -v '^tests/' | xargs -r grep -nE "${include_re}rapidjson/|rapidjson::" || true)

  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    local file=${hit%%:*}
    if [[ $file != *_json.cc && $file != *_internal.h && $file != tests/* ]] &&
      ! in_list "$file" "${json_internal_allowed[@]}"; then
      fail "$hit: a json_internal.h or json_write_internal.h outside a *_json.cc file (style §4.3)"
      problems=1
    fi
  done < <(cxx_files | xargs -r grep -nE "${include_re}(common|fhir)/json_(write_)?internal\.h" || true)

  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    fail "$hit: link cds_test_support instead of compiling tests/support sources per test"
    problems=1
  done < <(find tests -name CMakeLists.txt -not -path 'tests/support/*' -not -path '*/node_modules/*' \
             -exec grep -nHE '(\.\./)+support/[a-z_]+\.cc|support/[a-z_]+\.cc' {} + |
           grep -v 'boost_main\.cc' || true)

  while IFS= read -r stray; do
    [ -n "$stray" ] || continue
    fail "$stray: C++ directly in service/; put it in the sub-folder of its layer (README \"Architecture\")"
    problems=1
  done < <(find service -maxdepth 1 -type f \( -name '*.cc' -o -name '*.h' \) | sort)

  [ $problems -eq 0 ] && echo "lint: includes ok"
}

check_labels() {
  if [ ! -f "$build_dir/CTestTestfile.cmake" ]; then
    echo "lint: labels skipped (no configured build in $build_dir)"
    return
  fi
  local unlabelled
  unlabelled=$(ctest --test-dir "$build_dir" -N -LE '^(unit|integration|system|fuzz|lint)$' |
    sed -n 's/^ *Test *#[0-9]*: //p')
  if [ -n "$unlabelled" ]; then
    fail "tests without a unit/integration/system/fuzz/lint label (tests/CMakeLists.txt): $(echo $unlabelled)"
  else
    echo "lint: labels ok ($(ctest --test-dir "$build_dir" -N | sed -n 's/^Total Tests: //p') tests)"
  fi
}

check_format() {
  [ "$format_mode" = off ] && { echo "lint: format off (CDS_LINT_FORMAT=off)"; return; }
  if ! command -v clang-format >/dev/null; then
    echo "lint: clang-format not found (bash deploy/install-deps.sh --test)" >&2
    exit 2
  fi
  local out count total
  out=$(cxx_files | xargs -r clang-format --dry-run 2>&1 | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error)' |
    cut -d: -f1 | sort -u)
  total=$(cxx_files | wc -l)
  count=$(printf '%s' "$out" | grep -c . || true)
  if [ "$count" -eq 0 ]; then
    echo "lint: format ok ($total files)"
    return
  fi
  echo "lint: $count of $total files are not clang-formatted (clang-format -i <file>):"
  printf '  %s\n' $out
  if [ "$format_mode" = enforce ]; then
    fail "format: $count files differ from .clang-format"
  else
    echo "lint: format report only (CDS_LINT_FORMAT=$format_mode)"
  fi
}

# The product .cc files of compile_commands.json, one per line:
# "<file>\t<directory>\t<shell command that preprocesses it to stdout>".
# The preprocessing command is the compile command with -E -P instead of
# -c/-o (no line markers, so the worktree's path does not change the text).
tidy_units() {
  python3 - "$build_dir/compile_commands.json" "$PWD" <<'EOF'
import json, os, shlex, sys
db, root = sys.argv[1], sys.argv[2]
product = ("common/", "fhir/", "rules/", "cards/", "service/")
seen = set()
for entry in json.load(open(db)):
    path = os.path.relpath(os.path.join(entry["directory"], entry["file"]), root)
    if path in seen or not path.startswith(product):
        continue
    seen.add(path)
    args = entry.get("arguments") or shlex.split(entry["command"])
    if os.path.basename(args[0]) == "ccache":
        args = args[1:]
    pre, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a != "-c":
            pre.append(a)
    print(path + "\t" + entry["directory"] + "\t" + shlex.join(pre + ["-E", "-P"]))
EOF
}

# Files to tidy when CDS_LINT_TIDY_BASE is set: changed .cc files, and .cc
# files that include (directly) a changed header.
changed_units() {
  local base merge_base
  base=$CDS_LINT_TIDY_BASE
  if ! merge_base=$(git merge-base HEAD "$base" 2>/dev/null); then
    echo "lint: CDS_LINT_TIDY_BASE=$base is not a git ref" >&2
    exit 2
  fi
  local changed
  changed=$(
    git diff --name-only --diff-filter=ACMR "$merge_base" -- "${product_dirs[@]}"
    git ls-files --others --exclude-standard -- "${product_dirs[@]}"
  )
  local f
  for f in $changed; do
    case $f in
      *.cc) echo "$f" ;;
      *.h) grep -rlE --include='*.cc' "#[[:space:]]*include[[:space:]]*\"$f\"" "${product_dirs[@]}" || true ;;
    esac
  done | sort -u
}

# Runs clang-tidy on one unit (a file of $units_file); the cache key is its
# preprocessed text with the tidy version and configuration.
tidy_one() {
  local file=$1 dir command key=""
  IFS=$'\t' read -r _ dir command < <(awk -F'\t' -v f="$file" '$1 == f' "$units_file" | head -1)
  if [ -n "$cache_dir" ]; then
    local pre
    pre=$(cd "$dir" && eval "$command" 2>/dev/null | sha256sum | cut -c1-64)
    key=$(printf '%s %s %s' "$config_hash" "$file" "$pre" | sha256sum | cut -c1-64)
    if [ -f "$cache_dir/$key" ]; then
      echo "cached $file"
      return 0
    fi
  fi
  local out
  if out=$(clang-tidy-14 -p "$build_dir" --quiet --extra-arg=-Wno-unknown-warning-option "$file" 2>&1); then
    [ -n "$key" ] && mkdir -p "$cache_dir" && touch "$cache_dir/$key"
    echo "clean $file"
  else
    echo "$out" | grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing'
    echo "FAILED $file"
    return 1
  fi
}

check_tidy() {
  [ "$tidy_mode" = off ] && { echo "lint: tidy off (CDS_LINT_TIDY=off)"; return; }
  if ! command -v clang-tidy-14 >/dev/null; then
    echo "lint: clang-tidy-14 not found (bash deploy/install-deps.sh --test)" >&2
    exit 2
  fi
  if [ ! -f "$build_dir/compile_commands.json" ]; then
    echo "lint: no $build_dir/compile_commands.json (configure first: cmake -S . -B $build_dir)" >&2
    exit 2
  fi
  local selected=() file rest
  units_file=$(mktemp)
  tidy_units >"$units_file"
  if [ -n "${CDS_LINT_TIDY_BASE:-}" ]; then
    local wanted
    wanted=$(changed_units)
    while IFS=$'\t' read -r file rest; do
      grep -qxF "$file" <<<"$wanted" && selected+=("$file")
    done <"$units_file"
    echo "lint: tidy over ${#selected[@]} .cc files changed since $(git merge-base HEAD "$CDS_LINT_TIDY_BASE" | cut -c1-10) ($CDS_LINT_TIDY_BASE)"
  else
    while IFS=$'\t' read -r file rest; do selected+=("$file"); done <"$units_file"
    echo "lint: tidy over all ${#selected[@]} product .cc files"
  fi
  if [ ${#selected[@]} -eq 0 ]; then
    rm -f "$units_file"
    return
  fi
  config_hash=$( (clang-tidy-14 --version; cat .clang-tidy) | sha256sum | cut -c1-64)
  export -f tidy_one
  export build_dir cache_dir units_file config_hash
  local start=$SECONDS log
  log=$(mktemp)
  printf '%s\n' "${selected[@]}" | xargs -P "$jobs" -I{} bash -c 'tidy_one "$1"' _ {} >"$log" 2>&1
  rm -f "$units_file"
  local bad cached
  bad=$(grep -c '^FAILED ' "$log" || true)
  cached=$(grep -c '^cached ' "$log" || true)
  grep -vE '^(clean|cached) ' "$log"
  rm -f "$log"
  echo "lint: tidy ${#selected[@]} files ($cached cached) in $((SECONDS - start)) s, $bad with findings"
  if [ "$bad" -gt 0 ]; then
    if [ "$tidy_mode" = enforce ]; then
      fail "tidy: $bad files with findings (fix, or add a justified opt-out to .clang-tidy)"
    else
      echo "lint: tidy report only (CDS_LINT_TIDY=$tidy_mode)"
    fi
  fi
}

for check in "${checks[@]}"; do
  case $check in
    includes) check_includes ;;
    labels) check_labels ;;
    format) check_format ;;
    tidy) check_tidy ;;
    *) echo "lint: unknown check '$check' (includes, labels, format, tidy)" >&2; exit 2 ;;
  esac
done
exit $failed
