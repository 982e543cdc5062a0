#!/usr/bin/env bash
# Issue #8 acceptances 3 and 4 (nginx part): the shipped nginx site
# (deploy/nginx/) passes `nginx -t` with a test-made certificate, and on
# loopback it fronts a real `magcds serve`: a CDS call goes through end to end
# over TLS, and an over-limit body is refused with 413 (JSON) by nginx.
# Only the listen addresses, upstream address and certificate paths are
# changed from the shipped files. Every wait is bounded; every process this
# test starts is stopped by its pid.
# usage: nginx_test.sh MAGCDS_BINARY SAMPLE_REQUEST
set -euo pipefail
magcds="$1"
sample="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
tmp=$(mktemp -d)
magcds_pid=
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null || true
  [ -n "$magcds_pid" ] && kill -TERM "$magcds_pid" 2>/dev/null || true
  sleep 0.2
  [ -n "$nginx_pid" ] && kill -KILL "$nginx_pid" 2>/dev/null || true
  [ -n "$magcds_pid" ] && kill -KILL "$magcds_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; cat "$tmp/error.log" "$tmp/magcds.log" 2>/dev/null | tail -20 >&2; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" 2>/dev/null

app_port=$(free_port); https_port=$(free_port); http_port=$(free_port)
sed -e "s#listen 443 ssl http2;#listen 127.0.0.1:$https_port ssl http2;#" \
    -e "s#listen \[::\]:443 ssl http2;##" \
    -e "s#listen 80;#listen 127.0.0.1:$http_port;#" \
    -e "s#listen \[::\]:80;##" \
    -e "s#/etc/magcds/tls/#$tmp/#g" \
    "$root/deploy/nginx/magcds.conf" > "$tmp/magcds.conf"
sed -e "s#server 127.0.0.1:8080 #server 127.0.0.1:$app_port #" \
    "$root/deploy/nginx/magcds-upstream.conf" > "$tmp/magcds-upstream.conf"
grep -q "127.0.0.1:$https_port ssl" "$tmp/magcds.conf" || fail "listen line not found in the shipped config"
grep -q "127.0.0.1:$app_port" "$tmp/magcds-upstream.conf" || fail "upstream line not found"
# A minimal main config around the site, as /etc/nginx/nginx.conf is around conf.d/.
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 256; }
http {
  access_log $tmp/access.log;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  default_type application/octet-stream;
  include $tmp/magcds-upstream.conf;
  include $tmp/magcds.conf;
}
CONF

# Acceptance 4: nginx -t.
"$nginx_bin" -t -p "$tmp" -c "$tmp/nginx.conf" || fail "nginx -t"
echo "nginx -t: ok"

# Acceptance 3: magcds behind it.
"$magcds" serve --listen "127.0.0.1:$app_port" > "$tmp/magcds.log" 2>&1 &
magcds_pid=$!
"$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" 2>>"$tmp/error.log" &
nginx_pid=$!
up=no
for _ in $(seq 1 100); do
  if curl -skf -m 2 -o /dev/null "https://127.0.0.1:$https_port/cds-services"; then up=yes; break; fi
  kill -0 "$magcds_pid" 2>/dev/null || fail "magcds exited"
  kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited"
  sleep 0.1
done
[ "$up" = yes ] || fail "nginx/magcds did not come up"

discovery=$(curl -sk -m 5 "https://127.0.0.1:$https_port/cds-services") || fail "discovery through nginx"
[[ "$discovery" == *'"id":"magnesium-advisor"'* ]] || fail "discovery: $discovery"
status=$(curl -sk -m 10 -o "$tmp/cards.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data-binary @"$sample" "https://127.0.0.1:$https_port/cds-services/magnesium-advisor")
[ "$status" = 200 ] || fail "CDS call through nginx: $status $(cat "$tmp/cards.json")"
grep -q '"code":"MG-01"' "$tmp/cards.json" || fail "no MG-01 card through nginx"
echo "CDS call through nginx over TLS: 200 with MG-01"

# Over the 1 MiB limit: nginx answers 413 itself (JSON); magcds never sees it.
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$tmp/big.json"
status=$(curl -sk -m 10 -o "$tmp/big.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data-binary @"$tmp/big.json" "https://127.0.0.1:$https_port/cds-services/magnesium-advisor")
[ "$status" = 413 ] || fail "over-limit body: $status"
grep -q '"error":"payload_too_large"' "$tmp/big.out" || fail "413 body: $(cat "$tmp/big.out")"
echo "2 MiB body: 413 payload_too_large from nginx"
# Plain http is redirected to https; ops endpoints are not published.
status=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/cds-services")
[ "$status" = 301 ] || fail "http redirect: $status"
status=$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$https_port/metrics")
[ "$status" = 404 ] || fail "/metrics published through nginx: $status"
echo "nginx end-to-end passed"
