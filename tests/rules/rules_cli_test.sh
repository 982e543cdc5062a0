#!/usr/bin/env bash
# magcds rules validate|test|diff as an admin uses them. Usage: rules_cli_test.sh MAGCDS SOURCE_ROOT
set -euo pipefail
magcds=$1
root=$2
shipped=$root/rules/sets/magnesium/1.0.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The shipped rules validate, and their examples and the per-rule suite pass.
"$magcds" rules validate "$shipped" | tail -1 | grep -q '^OK magnesium@1.0.0' || fail "validate shipped"
"$magcds" rules test "$shipped" > "$tmp/out" || { cat "$tmp/out"; fail "shipped examples"; }
grep -q ' 0 failed' "$tmp/out" || fail "examples summary"
"$magcds" rules test "$shipped" --cases "$root/tests/data/rule-cases" > "$tmp/out" || { grep -A5 FAIL "$tmp/out"; fail "rule cases"; }

# A rule edited so that an example breaks: non-zero exit and a readable diff.
cp -r "$shipped" "$tmp/edited"
sed -i 's/"ppiLongTermDays":    {"value": 365,/"ppiLongTermDays":    {"value": 5000,/' "$tmp/edited/ruleset.json"
grep -q '"value": 5000' "$tmp/edited/ruleset.json" || fail "edit did not apply"
if "$magcds" rules test "$tmp/edited" > "$tmp/out"; then fail "broken rule passed its examples"; fi
grep -q '^FAIL Classic' "$tmp/out" || grep -q '^FAIL ' "$tmp/out" || fail "no FAIL line"
grep -q 'expected to fire: *\[MG-01\]' "$tmp/out" || { cat "$tmp/out"; fail "no expected list"; }
grep -q 'actually fired: ' "$tmp/out" || fail "no actual list"
grep -q 'expected MG-01 to fire; it did not' "$tmp/out" || fail "no problem line"

# A broken file: non-zero exit naming file, line, rule and field.
cp -r "$shipped" "$tmp/broken"
sed -i 's/"valueSet": "mg-wasting-therapy"/"valueSet": "mg-wasting-therapies"/' "$tmp/broken/ruleset.json"
if "$magcds" rules validate "$tmp/broken" > "$tmp/out"; then fail "broken set validated"; fi
grep -Eq "ruleset.json:[0-9]+: rule MG-13: rules\[12\]\.when\.all\[0\]\.medication\.valueSet: unknown value set 'mg-wasting-therapies'" "$tmp/out" \
  || { cat "$tmp/out"; fail "validate message"; }

# diff of the two shipped versions.
"$magcds" rules diff "$shipped" "$root/rules/examples/magnesium-site-1.1.0" > "$tmp/out"
grep -q '^~ parameter recentMgDays: 90 -> 120$' "$tmp/out" || fail "diff parameter"
grep -q '^~ rule MG-08 1.0.0 -> 1.1.0: changed enabled$' "$tmp/out" || fail "diff rule"
echo "rules CLI: all checks passed"
