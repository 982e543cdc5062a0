#!/usr/bin/env bash
# Issue #6 acceptance 3 and 4 against the real `magcds serve` process:
#  3. HTTPS with a certificate minted here (a CA and a leaf signed by it):
#     `curl --cacert` succeeds, TLS 1.2 and 1.3 work, TLS 1.0 and 1.1 are
#     refused. A control server (openssl s_server) that does allow TLS 1.1
#     shows that the same client commands do offer TLS 1.0/1.1, so their
#     failure against magcds is magcds refusing them.
#  4. A 50 MB body is refused with 413 and the process's memory (VmRSS and
#     VmHWM from /proc/PID/status) grows by no more than a few MB; the same for
#     a chunked body; 10,000-deep nested JSON is 400.
# Also: auth.required makes the CDS endpoints 401 without a token while
# /healthz stays open, and bad security config stops startup with a message.
# Every wait is bounded; every process started here is stopped by PID.
# usage: security_serve_test.sh MAGCDS_BINARY SAMPLE_REQUEST
set -euo pipefail
magcds="$1"
sample="$2"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
kb() { awk -v k="$1" '$1==k":" {print $2}' "/proc/$2/status"; }

# --- certificates: CA + leaf for localhost/127.0.0.1 -----------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 2 \
  -subj "/CN=magcds test CA" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
  -out "$work/leaf.csr" -subj "/CN=localhost" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
  >"$work/leaf.ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -out "$work/leaf.pem" -days 2 -extfile "$work/leaf.ext" >/dev/null 2>&1

# start NAME CONFIG_JSON_BODY SCHEME: starts magcds, waits for /healthz; sets $port and $pid.
start() {
  local name="$1" body="$2" scheme="$3"
  for _attempt in 1 2 3 4 5; do
    port=$(free_port)
    printf '{"listen":"127.0.0.1:%s",%s}\n' "$port" "$body" >"$work/$name.json"
    "$magcds" serve --config "$work/$name.json" >"$work/$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 1 100); do
      if curl -sf -m 2 --cacert "$work/ca.pem" "$scheme://localhost:$port/healthz" >/dev/null 2>&1; then
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  fail "$name: magcds serve did not come up"
}
stop() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

# --- acceptance 3: TLS ----------------------------------------------------
start tls "\"tls\":{\"cert\":\"$work/leaf.pem\",\"key\":\"$work/leaf.key\"}" https
tls_pid=$pid tls_port=$port
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$work/ca.pem" \
  "https://localhost:$tls_port/cds-services") || fail "curl --cacert failed"
[ "$code" = 200 ] || fail "discovery over HTTPS: $code"
cards=$(curl -sf -m 10 --cacert "$work/ca.pem" -H 'Content-Type: application/json' \
  --data-binary @"$sample" "https://localhost:$tls_port/cds-services/magnesium-advisor") \
  || fail "service call over HTTPS failed"
[[ "$cards" == *'"code":"MG-01"'* ]] || fail "no MG-01 card over HTTPS"
# Without the CA the certificate is not trusted: verification is really on.
if curl -s -o /dev/null -m 10 "https://localhost:$tls_port/healthz"; then
  fail "an untrusted certificate was accepted"
fi
# Plain HTTP to the TLS port gets no HTTP answer.
if curl -sf -m 5 "http://127.0.0.1:$tls_port/healthz" >/dev/null 2>&1; then fail "plain HTTP answered"; fi

for v in tls1_2 tls1_3; do
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$tls_port" -"$v" -CAfile "$work/ca.pem" \
    >"$work/s_client_$v.out" 2>&1 || fail "$v handshake failed: $(tail -3 "$work/s_client_$v.out")"
  grep -q 'Verify return code: 0 (ok)' "$work/s_client_$v.out" || fail "$v: certificate not verified"
done
# The old protocols: SECLEVEL=0 lets this OpenSSL client offer them at all.
old_client() { echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -"$2" -cipher 'DEFAULT@SECLEVEL=0' 2>&1; }
control_port=$(free_port)
openssl s_server -accept "$control_port" -cert "$work/leaf.pem" -key "$work/leaf.key" \
  -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' -www >"$work/control.log" 2>&1 &
control_pid=$!
pids+=("$control_pid")
for _ in $(seq 1 50); do (echo >"/dev/tcp/127.0.0.1/$control_port") 2>/dev/null && break; sleep 0.1; done
control=$(old_client "$control_port" tls1_1 || true)
grep -q 'Protocol *: TLSv1.1' <<<"$control" && grep -qE 'Cipher is [A-Z0-9]+-' <<<"$control" \
  || fail "control: this client cannot speak TLS 1.1, so the refusal test would prove nothing"
kill -TERM "$control_pid" 2>/dev/null || true
for v in tls1 tls1_1; do
  out=$(old_client "$tls_port" "$v" || true)
  # Refused: a protocol-version alert and no cipher, no certificate.
  grep -q 'alert protocol version' <<<"$out" || fail "magcds did not refuse $v: $(head -3 <<<"$out")"
  grep -q 'Cipher is (NONE)' <<<"$out" || fail "magcds negotiated $v"
  grep -q 'Server certificate' <<<"$out" && fail "magcds sent its certificate over $v"
done
for v in tlsv1.0 tlsv1.1; do
  if curl -s -o /dev/null -m 10 --cacert "$work/ca.pem" --"$v" --tls-max "${v#tlsv}" \
      --ciphers 'DEFAULT@SECLEVEL=0' "https://localhost:$tls_port/healthz"; then
    fail "curl --$v --tls-max ${v#tlsv} got an answer"
  fi
done
stop "$tls_pid"
echo "acceptance 3: HTTPS with --cacert ok; TLS 1.2/1.3 ok; TLS 1.0/1.1 refused"

# --- acceptance 4: limits and memory ---------------------------------------
# Under ASan (the sanitizer stage runs this script too) the process's RSS
# also holds the fake stacks of detect_stack_use_after_return, which fill up
# as threads make calls (+7-9 MB measured in the framing test, issue #12), not
# memory the service holds; this one instance runs without them. Without
# ASan the option is ignored.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_stack_use_after_return=0" \
  start limits '"limits":{"maxBodyBytes":1048576}' http
lim_pid=$pid lim_port=$port
url="http://127.0.0.1:$lim_port/cds-services/magnesium-advisor"
for _ in 1 2 3 4 5; do  # warm up the pool threads and allocator
  curl -sf -m 10 -o /dev/null -H 'Content-Type: application/json' --data-binary @"$sample" "$url" \
    || fail "warm-up call failed"
done
head -c $((50 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$work/big.json"
measure() {  # measure LABEL CURL_ARGS...: one 413 and the memory it cost
  local label="$1"; shift
  # A chunked upload is cut off while the client is still sending: the 413
  # goes out and the connection is closed, and the client may see the reset
  # before it reads the 413 (curl reports 000). Both are the body refused;
  # the service must stay up either way.
  local allow="413"
  case "$label" in *chunked*) allow="413|000" ;; esac
  local rss0 code rss1 hwm1 start_ns end_ns
  rss0=$(kb VmRSS "$lim_pid")
  start_ns=$(date +%s%N)
  code=$(curl -s -o /dev/null -w '%{http_code}' -m 60 -H 'Content-Type: application/json' "$@" "$url" || true)
  end_ns=$(date +%s%N)
  rss1=$(kb VmRSS "$lim_pid")
  hwm1=$(kb VmHWM "$lim_pid")
  echo "$label: HTTP $code in $(( (end_ns - start_ns) / 1000000 )) ms; VmRSS ${rss0} -> ${rss1} kB; VmHWM ${hwm1} kB"
  [[ "|$allow|" == *"|$code|"* ]] || fail "$label: expected $allow, got $code"
  curl -sf -m 5 -o /dev/null "http://127.0.0.1:$lim_port/healthz" || fail "$label: service down afterwards"
  # "A few MB": under 8 MB of growth, peak included.
  [ $((rss1 - rss0)) -lt 8192 ] || fail "$label: RSS grew by $((rss1 - rss0)) kB"
  [ $((hwm1 - rss0)) -lt 8192 ] || fail "$label: peak RSS is $((hwm1 - rss0)) kB over the start"
}
measure "50 MB Content-Length body" --data-binary @"$work/big.json" -H 'Expect:'
measure "50 MB Content-Length body, Expect: 100-continue" --data-binary @"$work/big.json"
measure "50 MB chunked body (curl's 64 KiB chunks)" -T "$work/big.json" -X POST -H 'Transfer-Encoding: chunked'
# 10,000-deep JSON.
{ head -c 10000 /dev/zero | tr '\0' '['; head -c 10000 /dev/zero | tr '\0' ']'; } >"$work/deep.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -H 'Content-Type: application/json' \
  --data-binary @"$work/deep.json" "$url")
[ "$code" = 400 ] || fail "10,000-deep JSON: $code"
# A number that crashed RapidJSON 1.1.0's full-precision parser (found by
# tests/fuzz): 400, and the process lives on.
printf '{"hook":"patient-view","x":1.2345678901234567890123e-330}' >"$work/strtod.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -H 'Content-Type: application/json' \
  --data-binary @"$work/strtod.json" "$url" || true)
[ "$code" = 400 ] || fail "strtod regression body: $code"
kill -0 "$lim_pid" 2>/dev/null || fail "magcds died on the strtod regression body"
curl -sf -m 5 "http://127.0.0.1:$lim_port/healthz" >/dev/null || fail "not healthy after the limits"
echo "VmRSS after all: $(kb VmRSS "$lim_pid") kB, VmHWM $(kb VmHWM "$lim_pid") kB"
stop "$lim_pid"

# --- auth.required: CDS endpoints 401, operators' endpoints open ----------
openssl ecparam -name secp384r1 -genkey -noout -out "$work/client.key" 2>/dev/null
openssl ec -in "$work/client.key" -pubout -outform DER -out "$work/client.der" 2>/dev/null
python3 - "$work/client.der" "$work/jwks.json" <<'PY'
import base64, sys
point = open(sys.argv[1], "rb").read()[-97:]  # SubjectPublicKeyInfo ends in 04 || x || y
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
open(sys.argv[2], "w").write('{"keys":[{"kty":"EC","crv":"P-384","kid":"k1","use":"sig","x":"%s","y":"%s"}]}'
                             % (b64(point[1:49]), b64(point[49:97])))
PY
start auth "\"publicBaseUrl\":\"https://cds.example.org\",\"auth\":{\"required\":true,\"issuers\":[{\"iss\":\"https://ehr.example\",\"jwks\":\"$work/jwks.json\"}]},\"cors\":{\"allowedOrigins\":[\"https://ehr-ui.example\"]}" http
auth_pid=$pid auth_port=$port
code=$(curl -s -o "$work/401.body" -w '%{http_code}' -m 5 "http://127.0.0.1:$auth_port/cds-services")
[ "$code" = 401 ] || fail "discovery without a token: $code"
grep -q '"unauthorized"' "$work/401.body" || fail "401 body: $(cat "$work/401.body")"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'Authorization: Bearer a.b.c' \
  -H 'Content-Type: application/json' --data-binary @"$sample" \
  "http://127.0.0.1:$auth_port/cds-services/magnesium-advisor")
[ "$code" = 401 ] || fail "service call with a junk token: $code"
# The log is written in batches (a few ms after the answer): wait for the line.
for _ in $(seq 1 50); do
  grep -q '"event":"auth_rejected".*"reason":"malformed_token"' "$work/auth.log" && break
  sleep 0.1
done
grep -q '"event":"auth_rejected".*"reason":"malformed_token"' "$work/auth.log" || fail "no auth_rejected log line"
grep -q 'a\.b\.c' "$work/auth.log" && fail "the token was logged"
# The same number inside a JWT header is parsed before any signature check.
evil_header=$(printf '{"alg":"ES384","kid":1.2345678901234567890123e-330}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer $evil_header.e30.AA" \
  "http://127.0.0.1:$auth_port/cds-services" || true)
[ "$code" = 401 ] || fail "strtod regression JWT: $code"
kill -0 "$auth_pid" 2>/dev/null || fail "magcds died on the strtod regression JWT"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$auth_port/healthz")
[ "$code" = 200 ] || fail "/healthz with auth.required: $code"
hdrs=$(curl -s -D - -o /dev/null -m 5 -X OPTIONS -H 'Origin: https://ehr-ui.example' \
  -H 'Access-Control-Request-Method: POST' "http://127.0.0.1:$auth_port/cds-services/magnesium-advisor")
grep -qi '^access-control-allow-origin: https://ehr-ui.example' <<<"$hdrs" || fail "preflight: $hdrs"
stop "$auth_pid"

# --- bad security config stops startup with a clear message ----------------
bad() {  # bad BODY EXPECTED_TEXT
  printf '{"listen":"127.0.0.1:1",%s}\n' "$1" >"$work/bad.json"
  local out status=0
  out=$("$magcds" serve --config "$work/bad.json" 2>&1) || status=$?
  [ "$status" -ne 0 ] || fail "config $1 was accepted"
  grep -qF "$2" <<<"$out" || fail "config $1: message '$out' lacks '$2'"
}
bad '"cors":{"allowedOrigins":["*"]}' "'*' is never allowed"
bad '"auth":{"required":true,"issuers":[]}' "publicBaseUrl"
bad '"publicBaseUrl":"https://x","auth":{"required":true,"issuers":[{"iss":"a","jwks":"/nonexistent"}]}' "/nonexistent"
bad '"auth":{"issuers":[{"iss":"a","jku":["http://evil.example/jwks"]}]}' "must be an https URL"
bad '"auth":{"issuers":[{"iss":"a","jwks":"x","algorithms":["HS256"]}]}' "never accepted"
bad '"auth":{"requird":true}' "unknown member 'auth.requird'"
bad '"tls":{"cert":"/nonexistent.pem","key":"/nonexistent.key"}' "cannot read /nonexistent.pem"
bad "\"tls\":{\"cert\":\"$work/leaf.pem\",\"key\":\"$work/ca.key\"}" "tls"
echo "security serve test passed"
