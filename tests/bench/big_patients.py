#!/usr/bin/env python3
"""Big patients (issue #18): POST every request body of a folder to a running
server, PASSES times over one keep-alive connection, and report per pass the
server's CPU time (utime + stime from /proc/PID/stat), its resident set after
the pass and its peak (VmHWM), plus every request's latency.

  big_patients.py URL PID BODY_DIR PASSES OUT.json

Every answer must be 200 (the run fails otherwise: a benchmark of errors
measures nothing). One connection, one request at a time: the figures are the
server's cost per byte, not its concurrency.
"""

import http.client
import json
import os
import sys
import time
import urllib.parse

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    url, pid, body_dir, passes, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    target = urllib.parse.urlsplit(url)
    names = sorted(n for n in os.listdir(body_dir) if n.endswith(".json"))
    bodies = []
    for name in names:
        with open(os.path.join(body_dir, name), "rb") as f:
            bodies.append(f.read())
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
    result = {"bodies": len(bodies), "bytes_per_pass": sum(len(b) for b in bodies),
              "largest_body": max(len(b) for b in bodies), "rss_start_kb": status_kb(pid, "VmRSS"),
              "passes": [], "requests": []}
    for p in range(passes):
        cpu_before = cpu_seconds(pid)
        started = time.monotonic()
        for name, body in zip(names, bodies):
            t0 = time.monotonic()
            connection.request("POST", target.path, body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            latency = time.monotonic() - t0
            if response.status != 200:
                sys.exit(f"big_patients.py: {name} answered {response.status}: {answer[:300]!r}")
            result["requests"].append({"pass": p + 1, "name": name, "bytes": len(body), "seconds": latency})
        result["passes"].append({
            "pass": p + 1, "seconds": time.monotonic() - started, "cpu_seconds": cpu_seconds(pid) - cpu_before,
            "rss_kb": status_kb(pid, "VmRSS"), "hwm_kb": status_kb(pid, "VmHWM")})
        last = result["passes"][-1]
        print(f"  pass {p + 1}: {result['bytes_per_pass'] / 1e6:.1f} MB in {last['seconds']:.2f} s, "
              f"server CPU {last['cpu_seconds'] * 1000 / (result['bytes_per_pass'] / 1e6):.2f} ms/MB, "
              f"RSS {last['rss_kb'] / 1024:.1f} MB, peak {last['hwm_kb'] / 1024:.1f} MB", flush=True)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
