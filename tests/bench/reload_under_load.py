#!/usr/bin/env python3
"""Reload under load (issue #18: "reload of 1,300 rules: <= 60 ms, 0 failed
requests"). Drives a running magcds whose `rules` path is the symlink LINK:

  reload_under_load.py URL PID LINK DIR_A DIR_B LOG SECONDS WRK_LUA BODY OUT.json

For SECONDS it keeps two kinds of load on URL (the hook endpoint) and, every
250 ms, points LINK at the other of DIR_A / DIR_B (two versions of the same
rule set) and sends magcds SIGHUP, then waits until /readyz counts the reload
and names the new version before the next swap:
  - wrk -t2 -c16 with BODY (closed loop; its non-2xx and socket errors count);
  - a checker on its own keep-alive connection that reads every answer: it
    fails unless the status is 200 and all its cards name one rule-set
    version, one of the two (a request must never see half a reload).
Then it reads magcds's own `rules_reloaded` log lines: each reload's wall time
(hashing and loading the files until the new set is in force) and the CPU time
of the thread that did it, both measured inside the service while it served
the load (with both cores busy, wall time includes waiting for one). Writes
OUT.json; exits 1 when a reload failed or was not seen within 10 s (the run
then measures nothing).
"""

import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

SWAP_EVERY_S = 0.25
RULESET_FIELD = re.compile(rb'"ruleset"\s*:\s*"([^"]+)"')


def ready(base):
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=5)
    try:
        conn.request("GET", "/readyz")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def point(link, target):  # atomic: a reload reads either the old or the new target
    tmp = link + ".next"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


class Checker(threading.Thread):
    """One keep-alive connection; every answer must be 200 with one version."""

    def __init__(self, url, body, labels):
        super().__init__(daemon=True)
        self.url, self.body, self.labels = url, body, labels
        self.stop = threading.Event()
        self.requests = self.failed = 0
        self.by_label = {}
        self.first_failure = ""

    def run(self):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=10)
        while not self.stop.is_set():
            self.requests += 1
            try:
                conn.request("POST", self.url.path, self.body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                status, text = response.status, response.read()
            except (OSError, http.client.HTTPException) as e:
                status, text = 0, str(e).encode()
                conn.close()
                conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=10)
            found = set(m.decode() for m in RULESET_FIELD.findall(text))
            if status != 200 or len(found) != 1 or not found <= self.labels:
                self.failed += 1
                if not self.first_failure:
                    self.first_failure = f"{status} {sorted(found)} {text[:200]!r}"
                continue
            label = found.pop()
            self.by_label[label] = self.by_label.get(label, 0) + 1
        conn.close()


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    pid, link, dirs = int(sys.argv[2]), sys.argv[3], (sys.argv[4], sys.argv[5])
    log_path, seconds, lua, body_path, out = sys.argv[6], float(sys.argv[7]), sys.argv[8], sys.argv[9], sys.argv[10]
    with open(body_path, "rb") as f:
        body = f.read()

    sets = []
    for d in dirs:
        with open(os.path.join(d, "ruleset.json")) as f:
            sets.append(json.load(f))
    labels = [f"{rs['id']}@{rs['version']}" for rs in sets]
    assert labels[0] != labels[1], "the two rule-set directories must differ in version"
    start_ready = ready(url)
    current = 0 if start_ready.get("ruleset") == labels[0] else 1
    if start_ready.get("ruleset") != labels[current]:
        sys.exit(f"reload_under_load: magcds serves {start_ready.get('ruleset')}, not one of {labels}")

    wrk = subprocess.Popen(
        ["wrk", "-t2", "-c16", f"-d{int(seconds) + 2}s", "--timeout", "10s", "-s", lua, sys.argv[1]],
        env={**os.environ, "BENCH_BODY": body_path}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    checker = Checker(url, body, set(labels))
    checker.start()
    time.sleep(1)

    reloads, waits, problem = 0, [], ""
    ok_before = start_ready["reloads"]["success"]
    failed_before = start_ready["reloads"]["failure"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not problem:
        current = 1 - current
        point(link, dirs[current])
        sent = time.monotonic()
        os.kill(pid, signal.SIGHUP)
        while True:
            r = ready(url)
            if r["reloads"]["failure"] != failed_before:
                problem = f"reload failed: {json.dumps(r.get('lastReload'))[:300]}"
                break
            if r["reloads"]["success"] > ok_before and r.get("ruleset") == labels[current]:
                ok_before = r["reloads"]["success"]
                break
            if time.monotonic() - sent > 10:
                problem = "a reload was not seen in /readyz within 10 s"
                break
            time.sleep(0.002)
        waits.append((time.monotonic() - sent) * 1000)
        reloads += 1
        time.sleep(SWAP_EVERY_S)

    wrk_out, _ = wrk.communicate(timeout=seconds + 60)
    checker.stop.set()
    checker.join(timeout=15)
    line = next((l for l in wrk_out.decode(errors="replace").splitlines() if l.startswith("WRK_RESULT ")), None)
    if line is None:
        sys.exit("reload_under_load: wrk printed no result:\n" + wrk_out.decode(errors="replace"))
    wrk_result = json.loads(line[len("WRK_RESULT "):])

    # The service's own figures for each reload, logged as "rules_reloaded".
    service_ms, service_cpu_ms = [], []
    with open(log_path, errors="replace") as f:
        for text in f:
            if "rules_reloaded" not in text:
                continue
            try:
                event = json.loads(text)
            except ValueError:
                continue
            if event.get("event") == "rules_reloaded" and event.get("trigger") == "signal":
                service_ms.append(float(event["ms"]))
                service_cpu_ms.append(float(event["cpuMs"]))

    failed = (wrk_result["status_err"] + wrk_result["connect_err"] + wrk_result["read_err"]
              + wrk_result["write_err"] + wrk_result["timeout_err"] + checker.failed)
    result = {
        "seconds": seconds,
        "rules": len(sets[0]["rules"]),
        "labels": labels,
        "reloads": reloads,
        "reloads_logged": len(service_ms),
        "reload_ms": service_ms,
        "reload_ms_median": statistics.median(service_ms) if service_ms else None,
        "reload_ms_max": max(service_ms) if service_ms else None,
        "reload_cpu_ms": service_cpu_ms,
        "reload_cpu_ms_median": statistics.median(service_cpu_ms) if service_cpu_ms else None,
        "reload_cpu_ms_max": max(service_cpu_ms) if service_cpu_ms else None,
        "seen_in_readyz_ms_median": statistics.median(waits) if waits else None,
        "wrk": wrk_result,
        "checker": {"requests": checker.requests, "failed": checker.failed, "by_label": checker.by_label,
                    "first_failure": checker.first_failure},
        "requests": wrk_result["requests"] + checker.requests,
        "failed": failed,  # wrk's non-2xx and socket errors, and the checker's failures
        "problem": problem,
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    def ms(value):
        return "-" if value is None else f"{value:.1f}"

    print(f"  {reloads} reloads of {result['rules']:,} rules in {seconds:.0f} s under load: CPU median "
          f"{ms(result['reload_cpu_ms_median'])} ms (max {ms(result['reload_cpu_ms_max'])}), wall median "
          f"{ms(result['reload_ms_median'])} ms (max {ms(result['reload_ms_max'])}); "
          f"{result['requests']:,} requests, {failed} failed"
          + (f" (first: {checker.first_failure})" if checker.first_failure else ""))
    if problem:
        sys.exit("reload_under_load: " + problem)


if __name__ == "__main__":
    main()
