#!/usr/bin/env bash
# Secrets for the local compose demo (issue #16): a random PostgreSQL password
# and magcds's connection string using it, in deploy/compose/secrets/
# (git-ignored). Run once before `docker compose up`; never for production.
set -euo pipefail
dir="$(dirname "${BASH_SOURCE[0]}")/secrets"
mkdir -p "$dir"
umask 077
password=$(openssl rand -hex 24)
printf '%s' "$password" > "$dir/db-password"
printf 'host=db port=5432 dbname=magcds user=magcds password=%s connect_timeout=3' "$password" \
  > "$dir/db-connection"
chmod 0644 "$dir/db-password" "$dir/db-connection"  # read by the containers' own users
echo "wrote $dir/db-password and $dir/db-connection"
