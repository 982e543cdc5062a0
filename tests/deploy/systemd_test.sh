#!/usr/bin/env bash
# Issue #8 acceptance 4 (systemd part): `systemd-analyze verify` on the shipped
# unit, offline. verify needs no running systemd, but it checks that the
# unit's commands exist; --root gives it a minimal tree holding the built
# magcds at the unit's ExecStart path, /bin/kill (ExecReload) and the
# standard targets. Any message (an unknown key, a bad value) fails the test.
# usage: systemd_test.sh MAGCDS_BINARY
set -euo pipefail
magcds="$1"
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
unit="$root_dir/deploy/systemd/magcds.service"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc/systemd/system" "$tmp/usr/local/bin" "$tmp/usr/lib/systemd/system" "$tmp/usr/bin"
cp /usr/lib/systemd/system/*.target "$tmp/usr/lib/systemd/system/"
cp /bin/kill "$tmp/usr/bin/kill"  # procps (the shell builtin is no file)
ln -s usr/bin "$tmp/bin"
ln -s usr/lib "$tmp/lib"
cp "$magcds" "$tmp/usr/local/bin/magcds"
cp "$unit" "$tmp/etc/systemd/system/magcds.service"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit" || { echo "FAIL: ExecReload must send SIGHUP" >&2; exit 1; }
for key in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ProtectHome=yes; do
  grep -q "^$key$" "$unit" || { echo "FAIL: $key missing" >&2; exit 1; }
done
out=$(systemd-analyze verify --man=no --root="$tmp" magcds.service 2>&1) || {
  echo "FAIL: systemd-analyze verify: $out" >&2; exit 1; }
if [ -n "$out" ]; then echo "FAIL: systemd-analyze verify reported: $out" >&2; exit 1; fi
# The check is real: a misspelt key is reported.
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$unit" > "$tmp/etc/systemd/system/magcds.service"
out=$(systemd-analyze verify --man=no --root="$tmp" magcds.service 2>&1 || true)
[[ "$out" == *"Unknown key"* ]] || { echo "FAIL: a typo went unreported: $out" >&2; exit 1; }
echo "systemd-analyze verify: magcds.service ok"
