#!/usr/bin/env python3
"""Issue #15 acceptance 2: test points 56-66 of clinical-reference-1.1 §11 as
CDS Hooks requests (tests/data/order-hooks, expectations.json), answered by
  evaluate  `magcds evaluate --request FILE` (fixed now),
  http      the real `magcds serve` listener on loopback (prefetch),
  fetch     the real listener fetching from the Node FHIR test server
            (tests/fhir_server/server.mjs) for the cases marked "fetch" (56, 60, 63),
            plus test point 65 with the Observation search failing.
The listener reads the real clock, so for http/fetch every date in a request is
moved by (today - the test points' now): the situations keep their ages.

usage: order_hooks_test.py MODE --magcds BIN --rules DIR --data DIR [--fhir-server DIR]
"""
import argparse, datetime, json, os, re, signal, socket, subprocess, sys, tempfile, time
import urllib.error, urllib.request

FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAIL: " + message, file=sys.stderr)


def rule_of(card):
    code = card.get("source", {}).get("topic", {}).get("code", "")
    return code.split("@")[0]


def verify(label, expect, cards):
    """Checks one answer (list of cards) against the test point's expectations."""
    by_rule = {}
    for card in cards:
        by_rule.setdefault(rule_of(card), card)
    for rule in expect.get("fires", []):
        check(rule in by_rule, f"{label}: expected {rule}; got {sorted(by_rule)}")
    for rule in expect.get("notFires", []):
        check(rule not in by_rule, f"{label}: {rule} must not fire")
    if expect.get("noCards"):
        check(not cards, f"{label}: expected no cards; got {sorted(by_rule)}")
    for rule, indicator in expect.get("indicators", {}).items():
        if rule in by_rule:
            check(by_rule[rule].get("indicator") == indicator,
                  f"{label}: {rule} indicator {by_rule[rule].get('indicator')} != {indicator}")
    for key, field in (("summaryContains", "summary"), ("detailContains", "detail")):
        for rule, texts in expect.get(key, {}).items():
            for text in texts:
                got = by_rule.get(rule, {}).get(field, "")
                check(text in got, f"{label}: {rule} {field} lacks '{text}': {got[:200]}")
    for rule, texts in expect.get("actionContains", {}).items():
        actions = [json.dumps(a) for s in by_rule.get(rule, {}).get("suggestions", []) for a in s.get("actions", [])]
        for text in texts:
            check(any(text in a for a in actions), f"{label}: {rule} has no action with '{text}': {actions}")


def shift_dates(text, days):
    def move(m):
        d = datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) + datetime.timedelta(days=days)
        return d.isoformat()
    return re.sub(r"(?<![0-9])(\d{4})-(\d{2})-(\d{2})(?![0-9])", move, text)


def days_since(now_text):
    fixed = datetime.datetime.fromisoformat(now_text.replace("Z", "+00:00")).date()
    return (datetime.datetime.now(datetime.timezone.utc).date() - fixed).days


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=15):
    data = None if body is None else body.encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Serve:
    """`magcds serve` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, magcds, rules, config, tmp):
        path = os.path.join(tmp, "magcds.json")
        with open(path, "w") as f:
            json.dump(config, f)
        for _attempt in range(5):
            self.port = free_port()
            self.log = open(os.path.join(tmp, "serve.log"), "w")
            self.proc = subprocess.Popen([magcds, "serve", "--config", path, "--rules", rules,
                                          "--listen", f"127.0.0.1:{self.port}"],
                                         stdout=self.log, stderr=subprocess.STDOUT)
            for _ in range(100):
                if self.proc.poll() is not None:
                    break
                try:
                    if http("GET", self.base() + "/healthz", timeout=2)[0] == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            self.stop()
        raise SystemExit("magcds serve did not come up: " + open(os.path.join(tmp, "serve.log")).read())

    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FhirServer:
    """tests/fhir_server/server.mjs on a kernel-picked port."""

    def __init__(self, directory):
        self.proc = subprocess.Popen(["node", "--experimental-websocket", os.path.join(directory, "server.mjs"),
                                      "--port", "0", "--max-seconds", "300"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        # The server exits when its stdin reaches end of file (lifecycle.mjs):
        # we hold the pipe open until stop().
        deadline = time.time() + 60
        self.port = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("LISTENING "):
                self.port = int(line.split()[1])
                break
        if self.port is None:
            self.stop()
            raise SystemExit("FHIR test server did not start")

    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def load(args):
    with open(os.path.join(args.data, "expectations.json")) as f:
        expectations = json.load(f)
    for case in expectations["cases"]:
        with open(os.path.join(args.data, case["file"])) as f:
            case["text"] = f.read()
    return expectations


def mode_evaluate(args, expectations):
    for case in expectations["cases"]:
        label = f"TP{case['testPoint']} evaluate"
        run = subprocess.run([args.magcds, "evaluate", "--request", os.path.join(args.data, case["file"]),
                              "--now", expectations["now"], "--rules", args.rules],
                             capture_output=True, text=True, timeout=60)
        if case["observationsMissing"] and run.returncode == 1:
            # Observations are a required prefetch key: the service answers 412 and says why.
            check("HTTP 412" in run.stderr and "observations" in run.stderr, f"{label}: {run.stderr}")
            continue
        check(run.returncode == 0, f"{label}: exit {run.returncode}: {run.stderr}")
        if run.returncode == 0:
            verify(label, case["expect"], json.loads(run.stdout)["cards"])


def mode_http(args, expectations):
    shift = days_since(expectations["now"])
    with tempfile.TemporaryDirectory() as tmp:
        audit = os.path.join(tmp, "audit.jsonl")
        with open(os.path.join(tmp, "hash.key"), "w") as f:
            f.write(os.urandom(32).hex())
        os.chmod(os.path.join(tmp, "hash.key"), 0o600)
        serve = Serve(args.magcds, args.rules,
                      {"audit": {"path": audit, "hashKeyFile": os.path.join(tmp, "hash.key")}}, tmp)
        try:
            status, body = http("GET", serve.base() + "/cds-services")
            services = {s["id"]: s["hook"] for s in json.loads(body)["services"]}
            check(services == {"magnesium-advisor": "patient-view", "magnesium-order-select": "order-select",
                               "magnesium-order-sign": "order-sign"}, f"discovery: {services}")
            cards_by_point = {}
            for case in expectations["cases"]:
                label = f"TP{case['testPoint']} http"
                status, body = http("POST", serve.base() + "/cds-services/" + case["service"],
                                    shift_dates(case["text"], shift))
                if case["observationsMissing"] and status == 412:
                    check("observations" in body, f"{label}: 412 does not name observations: {body}")
                    continue
                check(status == 200, f"{label}: HTTP {status}: {body[:300]}")
                if status == 200:
                    verify(label, case["expect"], json.loads(body)["cards"])
                    cards_by_point[case["testPoint"]] = json.loads(body)["cards"]
            # Feedback, metrics and audit work for the order services as for patient-view.
            mg22 = [c for c in cards_by_point.get(60, []) if rule_of(c) == "MG-22"]
            check(len(mg22) == 1, "TP60 http: one MG-22 card")
            if mg22:
                feedback = {"feedback": [{"card": mg22[0]["uuid"], "outcome": "overridden",
                                          "outcomeTimestamp": "2026-12-01T10:00:00Z"}]}
                status, body = http("POST", serve.base() + "/cds-services/magnesium-order-sign/feedback",
                                    json.dumps(feedback))
                check(status == 200, f"feedback: HTTP {status} {body}")
            # Feedback is stored off the request thread: wait (bounded) for its count.
            for _ in range(50):
                _, metrics = http("GET", serve.base() + "/metrics")
                if 'magcds_feedback_total{rule="MG-22"' in metrics:
                    break
                time.sleep(0.1)
            for line in ['endpoint="service",service="magnesium-order-sign",status="200"',
                         'endpoint="service",service="magnesium-order-select",status="200"',
                         'magcds_cards_total{rule="MG-22",indicator="warning"}',
                         'magcds_feedback_total{rule="MG-22",outcome="overridden"} 1']:
                check(line in metrics, f"metrics lack {line}: " + "; ".join(
                    m for m in metrics.splitlines() if "feedback" in m and not m.startswith("#")))
            with open(audit) as f:
                trail = f.read()
            check("magnesium-order-sign" in trail and "magnesium-order-select" in trail and "MG-22" in trail,
                  f"audit trail lacks the order services: {trail[:500]}")
            check("p-order" not in trail, "audit trail holds a raw patient id")
        finally:
            serve.stop()


def mode_fetch(args, expectations):
    shift = days_since(expectations["now"])
    fhir = FhirServer(args.fhir_server)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = {"fhir": {"allowHttpLoopback": True, "allowedServers": [fhir.base()]}}
            serve = Serve(args.magcds, args.rules, config, tmp)
            try:
                cases = [c for c in expectations["cases"] if c["fetch"] or c["observationsMissing"]]
                check(sorted(c["testPoint"] for c in cases) == [56, 60, 63, 65], f"fetch cases: {cases}")
                for case in cases:
                    label = f"TP{case['testPoint']} fetch"
                    check(http("POST", fhir.base() + "/_test/clear")[0] == 200, "clear FHIR server")
                    request = json.loads(shift_dates(case["text"], shift))
                    # The patient's record goes to the FHIR server; the request keeps only its context.
                    entries = []
                    prefetch = request.pop("prefetch")
                    resources = [prefetch["patient"]] + [e["resource"] for key, b in prefetch.items()
                                                         if key != "patient" for e in b.get("entry", [])]
                    for r in resources:
                        entries.append({"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}})
                    status, body = http("POST", fhir.base() + "/",
                                        json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
                    check(status == 200, f"{label}: seeding: {status} {body[:200]}")
                    if case["observationsMissing"]:
                        # TP65: the Observation search fails (HTTP 500 from the FHIR server).
                        http("POST", fhir.base() + "/_test/fault", json.dumps({"type": "Observation", "status": 500}))
                    request["fhirServer"] = fhir.base()
                    request["fhirAuthorization"] = {"access_token": "test-token", "token_type": "Bearer",
                                                    "expires_in": 300, "scope": "patient/*.read", "subject": "magcds"}
                    status, body = http("POST", serve.base() + "/cds-services/" + case["service"], json.dumps(request))
                    if case["observationsMissing"]:
                        check(status == 412 and "observations" in body, f"{label}: HTTP {status}: {body[:300]}")
                        continue
                    check(status == 200, f"{label}: HTTP {status}: {body[:300]}")
                    if status == 200:
                        verify(label, case["expect"], json.loads(body)["cards"])
                    _, seen = http("GET", fhir.base() + "/_test/requests")
                    check("Observation" in seen and "MedicationRequest" in seen, f"{label}: no fetch seen: {seen[:300]}")
            finally:
                serve.stop()
    finally:
        fhir.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["evaluate", "http", "fetch"])
    parser.add_argument("--magcds", required=True)
    parser.add_argument("--rules", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--fhir-server")
    args = parser.parse_args()
    expectations = load(args)
    check(sorted(c["testPoint"] for c in expectations["cases"]) == list(range(56, 67)), "test points 56-66")
    {"evaluate": mode_evaluate, "http": mode_http, "fetch": mode_fetch}[args.mode](args, expectations)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)", file=sys.stderr)
        return 1
    print(f"order hooks {args.mode}: test points 56-66 passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
