#!/usr/bin/env bash
# A self-signed certificate for the local compose demo (never for production):
# writes deploy/compose/tls/{fullchain,privkey}.pem.
set -euo pipefail
dir="$(dirname "${BASH_SOURCE[0]}")/tls"
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" 2>/dev/null
chmod 0644 "$dir/privkey.pem"  # read by the nginx container's worker user
echo "wrote $dir/fullchain.pem and privkey.pem"
