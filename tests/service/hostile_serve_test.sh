#!/usr/bin/env bash
# Issue #12 against the real `magcds serve` process:
#  item 6: stdout is a pipe nobody reads (its buffer fills): every call and
#          /healthz still answer; then the reader goes away (SIGPIPE/EPIPE):
#          the process lives on; dropped log lines are counted in /metrics.
#  item 5: SIGTERM while FHIR fetches (or JWK Set fetches) are in flight, with
#          CORS (and auth) configured: every client gets an answer or a
#          closed connection, and the process exits 0 (no use-after-free;
#          under ASan a report would fail the run).
#  item 1: a chunk-size line of -1 (or 2^64-1), over plain HTTP with auth
#          required and over TLS: 400/413 and the process lives on.
#  item 9: a 900 KB hookInstance reaches the
#          log and the audit trail as short, valid UTF-8 JSON lines; /readyz
#          shows the audit state; an audit key file readable by others stops
#          startup.
# Every wait is bounded; every process started here is stopped by PID.
# usage: hostile_serve_test.sh MAGCDS_BINARY SAMPLE_REQUEST FHIR_SERVER_DIR
set -euo pipefail
magcds="$1"
sample="$2"
fhir_server_dir="$3"

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

# --- item 6: a stalled log reader ------------------------------------------
mkfifo "$work/stdout.fifo"
# The only reader: holds the pipe open and never reads (a stalled collector).
sleep 300 <"$work/stdout.fifo" &
reader=$!
pids+=("$reader")
port=$(free_port)
printf '{"listen":"127.0.0.1:%s","log":{"level":"debug"}}\n' "$port" >"$work/stall.json"
"$magcds" serve --config "$work/stall.json" >"$work/stdout.fifo" 2>"$work/stall.log" &
pid=$!
pids+=("$pid")
up=""
for _ in $(seq 1 100); do
  if curl -sf -m 2 -o /dev/null "http://127.0.0.1:$port/healthz"; then up=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$up" ] || fail "magcds serve did not come up"
url="http://127.0.0.1:$port/cds-services/magnesium-advisor"
# Far more log output than a pipe buffer (64 KiB) holds: 2500 calls at debug, more lines than the log queue holds.
python3 - "$port" "$sample" <<'PY' || fail "calls stalled behind the log reader"
import http.client, sys, time
port, sample = int(sys.argv[1]), open(sys.argv[2], 'rb').read()
start = time.time()
for i in range(2500):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    c.request('POST', '/cds-services/magnesium-advisor', sample, {'Content-Type': 'application/json'})
    r = c.getresponse(); r.read()
    if r.status != 200: sys.exit(f'call {i}: HTTP {r.status}')
    c.close()
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    c.request('GET', '/healthz'); r = c.getresponse(); r.read()
    if r.status != 200: sys.exit(f'healthz {i}: HTTP {r.status}')
    c.close()
print(f'2500 calls + 2500 /healthz with a stalled stdout reader in {time.time() - start:.1f} s')
PY
dropped=$(curl -sf -m 5 "http://127.0.0.1:$port/metrics" | awk '/^magcds_dropped_total\{what="log_line"\}/ {print $2}')
[ -n "$dropped" ] && [ "${dropped%.*}" -gt 0 ] || fail "no dropped log lines counted ($dropped)"
echo "log lines dropped while the reader stalled: $dropped"
# The reader goes away: writes now fail with EPIPE (SIGPIPE would kill).
kill -TERM "$reader" 2>/dev/null || true
wait "$reader" 2>/dev/null || true
for _ in $(seq 1 20); do
  curl -sf -m 5 -o /dev/null -H 'Content-Type: application/json' --data-binary @"$sample" "$url" \
    || fail "a call failed after the log reader exited"
done
kill -0 "$pid" 2>/dev/null || fail "magcds died when its log reader exited (SIGPIPE)"
curl -sf -m 5 -o /dev/null "http://127.0.0.1:$port/healthz" || fail "/healthz after the reader exited"
kill -TERM "$pid"
status=0
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" || status=$?
[ "$status" = 0 ] || fail "magcds exited with $status after SIGTERM"
echo "item 6: a stalled, then closed, log reader blocks nothing and kills nothing"

# --- item 1: absurd chunk sizes over HTTP (auth required) and TLS -------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" \
  -out "$work/tls.pem" -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
chmod 600 "$work/tls.key"
openssl ecparam -name secp384r1 -genkey -noout -out "$work/client.key" 2>/dev/null
openssl ec -in "$work/client.key" -pubout -outform DER -out "$work/client.der" 2>/dev/null
python3 - "$work/client.der" "$work/jwks.json" <<'PY'
import base64, sys
point = open(sys.argv[1], "rb").read()[-97:]  # SubjectPublicKeyInfo ends in 04 || x || y
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
open(sys.argv[2], "w").write('{"keys":[{"kty":"EC","crv":"P-384","kid":"k1","use":"sig","x":"%s","y":"%s"}]}'
                             % (b64(point[1:49]), b64(point[49:97])))
PY
for scheme in http https; do
  port=$(free_port)
  if [ "$scheme" = https ]; then
    extra="\"tls\":{\"cert\":\"$work/tls.pem\",\"key\":\"$work/tls.key\"}"
  else
    extra="\"publicBaseUrl\":\"https://cds.example.org\",\"auth\":{\"required\":true,\"issuers\":[{\"iss\":\"https://ehr.example\",\"jwks\":\"$work/jwks.json\"}]}"
  fi
  printf '{"listen":"127.0.0.1:%s",%s}\n' "$port" "$extra" >"$work/chunk-$scheme.json"
  "$magcds" serve --config "$work/chunk-$scheme.json" >"$work/chunk-$scheme.out" 2>"$work/chunk-$scheme.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do
    curl -sfk -m 2 -o /dev/null "$scheme://127.0.0.1:$port/healthz" && break
    kill -0 "$pid" 2>/dev/null || fail "chunk-$scheme: magcds exited at start"
    sleep 0.1
  done
  python3 - "$scheme" "$port" <<'PY' || fail "chunk sizes over $scheme: see above"
import socket, ssl, sys
scheme, port = sys.argv[1], int(sys.argv[2])
def exchange(raw):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    if scheme == 'https':
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname='localhost')
    s.sendall(raw)
    data = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
    except (socket.timeout, ConnectionResetError, ssl.SSLError):
        pass
    s.close()
    return data
head = b'POST /cds-services/magnesium-advisor HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
for size, want in ((b'-1', b' 400 '), (b'ffffffffffffffff', b' 413 '), (b'-10000000000000000', b' 400 ')):
    answer = exchange(head + size + b'\r\nabc\r\n')
    print(scheme, size.decode(), '->', answer.split(b'\r\n', 1)[0].decode(errors='replace'))
    if want not in answer.split(b'\r\n', 1)[0]: sys.exit(f'{size}: {answer[:200]!r}')
    health = exchange(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    if b' 200 ' not in health.split(b'\r\n', 1)[0]: sys.exit(f'not healthy after {size}: {health[:200]!r}')
PY
  kill -0 "$pid" 2>/dev/null || fail "chunk-$scheme: magcds died on a chunk size"
  kill -TERM "$pid"
  wait "$pid" || fail "chunk-$scheme: exit status $?"
done
echo "item 1: chunk sizes -1 and 2^64-1 over HTTP (auth required) and TLS: 400/413, process alive"

# --- item 9: logs and audit stay short and valid; file modes ----------------
printf 'audit-hash-key-0123456789abcdef\n' >"$work/hash.key"
chmod 644 "$work/hash.key"
port=$(free_port)
printf '{"listen":"127.0.0.1:%s","audit":{"path":"%s","hashKeyFile":"%s"}}\n' "$port" \
  "$work/audit.jsonl" "$work/hash.key" >"$work/audit.json"
status=0
out=$("$magcds" serve --config "$work/audit.json" 2>&1) || status=$?
[ "$status" != 0 ] || fail "a hash key file readable by others was accepted"
grep -q "accessible by others" <<<"$out" || fail "key file mode message: $out"
chmod 600 "$work/hash.key"
"$magcds" serve --config "$work/audit.json" >"$work/audit.out" 2>"$work/audit.log" &
pid=$!
pids+=("$pid")
for _ in $(seq 1 100); do
  curl -sf -m 2 -o /dev/null "http://127.0.0.1:$port/healthz" && break
  kill -0 "$pid" 2>/dev/null || fail "audit: magcds exited at start"
  sleep 0.1
done
python3 - "$port" "$sample" <<'PY' || fail "huge hookInstance"
import http.client, json, sys
port, sample = int(sys.argv[1]), json.load(open(sys.argv[2]))
sample['hookInstance'] = 'h' * (900 * 1024)
c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
c.request('POST', '/cds-services/magnesium-advisor', json.dumps(sample), {'Content-Type': 'application/json'})
r = c.getresponse(); r.read()
if r.status != 200: sys.exit(f'HTTP {r.status}')
PY
readyz=$(curl -s -m 5 "http://127.0.0.1:$port/readyz")
grep -q '"audit":{"state":"ok","written":1,"lost":0}' <<<"$readyz" || fail "/readyz audit state: $readyz"
kill -TERM "$pid"; wait "$pid" || true
python3 - "$work/audit.jsonl" "$work/audit.out" <<'PY' || fail "log or audit lines too long or not valid UTF-8 JSON"
import json, sys
for path in sys.argv[1:]:
    for raw in open(path, 'rb'):
        if len(raw) > 8192: sys.exit(f'{path}: a {len(raw)}-byte line')
        json.loads(raw.decode('utf-8'))  # strict: invalid UTF-8 raises
    print(path.rsplit('/', 1)[-1], 'ok')
PY
echo "item 9: 900 KB hookInstance capped in log and audit; /readyz shows the audit; key mode checked"

# --- item 5: shutdown with fetches in flight ----------------------------------
# The server exits when its stdin closes (lifecycle.mjs): hold a pipe open.
mkfifo "$work/fault.in"
node "$fhir_server_dir/fault_server.mjs" --port 0 --max-seconds 120 >"$work/fault.out" 2>"$work/fault.log" <"$work/fault.in" &
fault_pid=$!
pids+=("$fault_pid")
exec 5>"$work/fault.in"
fault_port=""
for _ in $(seq 1 100); do
  fault_port=$(awk '/^LISTENING/ {print $2}' "$work/fault.out" 2>/dev/null)
  [ -n "$fault_port" ] && break
  sleep 0.1
done
[ -n "$fault_port" ] || fail "fault server did not start"
never="http://127.0.0.1:$fault_port/never"

# shutdown_in_flight NAME CONFIG_BODY HEADER: 6 calls that wait on a fetch the
# server never answers, then SIGTERM.
shutdown_in_flight() {
  local name="$1" body="$2" header="$3" port pid status=0
  port=$(free_port)
  printf '{"listen":"127.0.0.1:%s","shutdownGraceSeconds":0.3,"cors":{"allowedOrigins":["https://ehr-ui.example"]},%s}\n' \
    "$port" "$body" >"$work/$name.json"
  "$magcds" serve --config "$work/$name.json" >"$work/$name.out" 2>"$work/$name.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do
    curl -sf -m 2 -o /dev/null "http://127.0.0.1:$port/healthz" && break
    kill -0 "$pid" 2>/dev/null || fail "$name: magcds exited at start"
    sleep 0.1
  done
  python3 - "$port" "$never" "$header" "$pid" <<'PY' >"$work/$name.clients" 2>&1 || fail "$name: clients: $(cat "$work/$name.clients")"
import http.client, json, os, signal, sys, threading, time
port, never, header, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = json.dumps({"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                   "fhirServer": never,
                   "fhirAuthorization": {"access_token": "tok", "token_type": "Bearer", "expires_in": 300},
                   "context": {"patientId": "p1", "userId": "Practitioner/u1"}})
results = []
def call():
    try:
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=20)
        headers = {'Content-Type': 'application/json', 'Origin': 'https://ehr-ui.example'}
        if header: headers['Authorization'] = header
        c.request('POST', '/cds-services/magnesium-advisor', body, headers)
        r = c.getresponse(); r.read(); results.append(r.status)
    except Exception as e:  # a closed connection is an acceptable end
        results.append(type(e).__name__)
threads = [threading.Thread(target=call) for _ in range(6)]
for t in threads: t.start()
time.sleep(0.8)  # the calls are now waiting on the fetch
os.kill(pid, signal.SIGTERM)
for t in threads: t.join(30)
print('answers:', results)
if any(t.is_alive() for t in threads): sys.exit('a client hung')
PY
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  wait "$pid" || status=$?
  [ "$status" = 0 ] || fail "$name: magcds exited with $status after SIGTERM with fetches in flight"
  if grep -qE 'AddressSanitizer|runtime error|ThreadSanitizer' "$work/$name.log"; then
    fail "$name: sanitizer report"
  fi
  echo "$name: $(cat "$work/$name.clients"); exit 0"
}
shutdown_in_flight fhir_in_flight \
  "\"fhir\":{\"allowedServers\":[\"$never\"],\"allowHttpLoopback\":true,\"deadlineMs\":10000}" ""
b64() { python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).rstrip(b"=").decode())' "$1"; }
now=$(date +%s)
jwt="$(b64 "{\"alg\":\"ES384\",\"typ\":\"JWT\",\"kid\":\"k-new\",\"jku\":\"$never/jwks.json\"}").$(b64 "{\"iss\":\"https://ehr.example\",\"aud\":\"https://cds.example.org/cds-services/magnesium-advisor\",\"iat\":$((now - 5)),\"exp\":$((now + 120)),\"jti\":\"j-$now\"}").$(head -c 128 /dev/zero | tr '\0' 'A')"
shutdown_in_flight jwks_in_flight \
  "\"publicBaseUrl\":\"https://cds.example.org\",\"auth\":{\"required\":true,\"allowHttpLoopback\":true,\"issuers\":[{\"iss\":\"https://ehr.example\",\"jku\":[\"$never/jwks.json\"]}]}" \
  "Bearer $jwt"
exec 5>&-
kill -TERM "$fault_pid" 2>/dev/null || true
echo "item 5: SIGTERM with FHIR and JWK Set fetches in flight (CORS, auth): clean exit"

echo "hostile serve test passed"
