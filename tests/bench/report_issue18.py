"""The issue #18 parts of the benchmark report (imported by report.py): big
patients (server CPU per MB against an in-process RapidJSON parse of the same
bytes, peak RSS over passes), latency and CPU per request by body size, and the
population backtest against RapidJSON parse alone on all cores.

Each function reads RESULTS_DIR/raw/*, appends Markdown to `say`, writes the
plotted data to RESULTS_DIR/data/ and returns the issue-18 target rows it
measured as (what, reference, figure, target, ok) tuples.
"""

import json
import os
import statistics

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def _kv_line(text):
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


def big_patients(raw, say):
    path = os.path.join(raw, "big-patients.json")
    if not os.path.exists(path):
        say("## 5. Big patients: not measured\n")
        return []
    big = json.load(open(path))
    refs = []
    if os.path.exists(os.path.join(raw, "big-parse-ref.txt")):
        refs = [_kv_line(line) for line in open(os.path.join(raw, "big-parse-ref.txt")) if "bytes=" in line]
    mb = big["bytes_per_pass"] / 1e6
    largest_mb = big["largest_body"] / 1e6
    passes = big["passes"]
    say("## 5. Big patients (the 60 Synthea patients as full prefetch)")
    say("")
    say(f"`gen_data.py synthea`: each patient's whole record as a patient-view request "
        f"({big['bodies']} bodies, {mb:.1f} MB per pass, largest {largest_mb:.2f} MB), POSTed one at a time over one "
        f"keep-alive connection to a fresh magcds (`limits.maxBodyBytes` 16 MiB), {len(passes)} passes "
        "(`tests/bench/big_patients.py`). Reference: `json_parse_ref --parse-only`, the same bytes parsed by "
        "RapidJSON (with UTF-8 validation) in one process, CPU time of the parses alone, measured in the same run.")
    say("")
    say("| pass | wall | server CPU | CPU per MB | RSS after | peak RSS |")
    say("|---|---|---|---|---|---|")
    for p in passes:
        say(f"| {p['pass']} | {p['seconds']:.2f} s | {p['cpu_seconds'] * 1000:.0f} ms | "
            f"**{p['cpu_seconds'] * 1000 / mb:.2f} ms/MB** | {p['rss_kb'] / 1024:.1f} MB | {p['hwm_kb'] / 1024:.1f} MB |")
    say("")
    # Pass 1 pays for warm-up (allocator, page faults); the rest are steady state.
    steady = [p["cpu_seconds"] * 1000 / mb for p in passes[1:]] or [p["cpu_seconds"] * 1000 / mb for p in passes]
    server_ms_per_mb = statistics.median(steady)
    rows = []
    if refs:
        ref_ms_per_mb = statistics.median(float(r["cpu_seconds"]) * 1000 / (int(r["bytes"]) / 1e6) for r in refs)
        ratio = server_ms_per_mb / ref_ms_per_mb
        say(f"RapidJSON parse alone: **{ref_ms_per_mb:.2f} ms/MB** (median of {len(refs)}). magcds (median of passes "
            f"2–{len(passes)}): **{server_ms_per_mb:.2f} ms/MB = {ratio:.2f}× parse alone** (HTTP read, parse, "
            "normalise, evaluate, render).")
        rows.append(("big patients: server CPU per MB", f"RapidJSON parse alone {ref_ms_per_mb:.2f} ms/MB",
                     f"{server_ms_per_mb:.2f} ms/MB = {ratio:.2f}×", "≤ 3×", ratio <= 3.0))
    hwm_mb = max(p["hwm_kb"] for p in passes) / 1024
    limit_mb = 30 + 2 * big["largest_body"] / (1024 * 1024)
    rss = [p["rss_kb"] / 1024 for p in passes]
    # Flat: after pass 2 (allocator warm), no pass ends more than 5 % above pass 2.
    creep = (max(rss[1:]) - rss[1]) / rss[1] if len(rss) > 1 else 0.0
    flat = creep <= 0.05
    say(f"Peak RSS **{hwm_mb:.1f} MB** against 30 MB + 2 × {big['largest_body'] / 1048576:.2f} MiB = {limit_mb:.1f} MB; "
        f"RSS after each pass {', '.join(f'{x:.1f}' for x in rss)} MB (growth after pass 2: {creep:+.1%}).")
    say("")
    rows.append(("big patients: server peak RSS, flat over passes",
                 f"30 MB + 2 × largest body = {limit_mb:.1f} MB",
                 f"{hwm_mb:.1f} MB peak; after pass 2 {creep:+.1%}", "≤ reference, flat (≤ +5 %)",
                 hwm_mb <= limit_mb and flat))
    return rows


def body_sizes(raw, data, say):
    path = os.path.join(raw, "sizes.tsv")
    if not os.path.exists(path):
        return
    rows = []
    for line in open(path):
        server, body_bytes, ticks, js = line.rstrip("\n").split("\t", 3)
        d = json.loads(js)
        d["server"], d["bytes"] = server, int(body_bytes)
        d["cpu_us"] = int(ticks) * TICK_US / max(1, d["requests"])
        rows.append(d)
    say("## 6. Latency and CPU per request by body size")
    say("")
    say("One connection, one request at a time (`wrk -t1 -c1`), generated patients (`gen_data.py patient`) and "
        "the largest Synthea request; (b) the bare listener parses the same body and answers a fixed response.")
    say("")
    say("| body | (b) p50 | (b) p99 | (b) CPU/req | (c) magcds p50 | (c) p99 | (c) CPU/req | CPU c/b |")
    say("|---|---|---|---|---|---|---|---|")
    sizes = sorted({d["bytes"] for d in rows})
    with open(os.path.join(data, "body_size.dat"), "w") as g:
        g.write("# body_kb b_p50_ms b_p99_ms b_cpu_us c_p50_ms c_p99_ms c_cpu_us\n")
        for size in sizes:
            b = next((d for d in rows if d["bytes"] == size and d["server"] == "b"), None)
            c = next((d for d in rows if d["bytes"] == size and d["server"] == "c"), None)
            if b is None or c is None:
                continue
            say(f"| {size / 1024:,.1f} KB | {b['p50_us'] / 1000:.2f} ms | {b['p99_us'] / 1000:.2f} ms | "
                f"{b['cpu_us']:,.0f} µs | {c['p50_us'] / 1000:.2f} ms | {c['p99_us'] / 1000:.2f} ms | "
                f"{c['cpu_us']:,.0f} µs | {c['cpu_us'] / max(1.0, b['cpu_us']):.2f}× |")
            g.write(f"{size / 1024:.1f} {b['p50_us'] / 1000:.3f} {b['p99_us'] / 1000:.3f} {b['cpu_us']:.1f} "
                    f"{c['p50_us'] / 1000:.3f} {c['p99_us'] / 1000:.3f} {c['cpu_us']:.1f}\n")
    say("")
    say("Chart: `body_size.png` (log-log). CPU per request is from /proc tick counts (10 ms resolution) over the "
        "run, so small bodies at low request counts are approximate.")
    say("")


def backtest(raw, say):
    path = os.path.join(raw, "backtest-run.txt")
    if not os.path.exists(path):
        return []
    kv = _kv_line(open(path).read())
    refs = [_kv_line(line) for line in open(os.path.join(raw, "backtest-ref.txt")) if "bytes=" in line]
    cores = int(kv["cores"])
    ref_mbps = statistics.median(float(r["mbps"]) for r in refs)
    mbps = float(kv["bytes"]) / 1e6 / float(kv["seconds"])
    ratio = mbps / ref_mbps
    say("## 7. Population backtest")
    say("")
    say(f"`magcds rules backtest --jobs {cores}` over the 60 Synthea Bundles ({float(kv['bytes']) / 1e6:.1f} MB): "
        f"**{mbps:.1f} MB/s** ({kv['patients']} patients in {float(kv['seconds']):.2f} s). Reference: {cores} "
        f"`json_parse_ref` processes at once, each parsing all the files: **{ref_mbps:.1f} MB/s** together "
        f"(median of {len(refs)}). Ratio **{ratio:.2f}×**. The longer benchmark with a 10,000-patient NDJSON "
        "population is `tests/bench/backtest_bench.sh` (results in `backtest.md`).")
    say("")
    return [("population backtest, all cores", f"RapidJSON parse alone on {cores} cores: {ref_mbps:.1f} MB/s",
             f"{mbps:.1f} MB/s = {ratio:.2f}×", "≥ 0.33×", ratio >= 0.33)]


def reload_row(raw, say, load_rule_set_ms):
    """The reload target: LoadRuleSet's CPU time (the engine microbenchmark,
    the measure of the issue's "now") and, from reload_under_load.py, the
    same reload inside a serving magcds with the requests it must not fail."""
    path = os.path.join(raw, "reload-under-load.json")
    figure = f"{load_rule_set_ms:.1f} ms CPU (rules::LoadRuleSet)"
    if not os.path.exists(path):
        return [("reload of 1,300 rules", "—", figure + "; failed requests not measured",
                 "≤ 60 ms, 0 failed requests", None)]
    r = json.load(open(path))
    w, c = r["wrk"], r["checker"]
    requests, failed = r["requests"], r["failed"]
    say("## 8. Reload under load")
    say("")
    say(f"magcds serving the {r['rules']:,}-rule set (`gen_data.py rules --copies 100`; its rules path a symlink), "
        f"swapped between two versions ({', '.join(r['labels'])}) and reloaded by SIGHUP every 250 ms for "
        f"{r['seconds']:.0f} s, each reload seen in `/readyz` before the next, while `wrk -t2 -c16` POSTs "
        "patient-30 (each answer about 100 cards under this set) and a checker on its own connection reads every answer (200, and all cards from one of the "
        "two versions) (`tests/bench/reload_under_load.py`). Each reload's times are magcds's own "
        "(`rules_reloaded` log line: `cpuMs` of the reloading thread, `ms` wall, which on two busy cores includes "
        "waiting for one).")
    say("")
    say("| reloads | CPU per reload, median (max) | wall, median (max) | requests | answered by each version (checker) "
        "| failed |")
    say("|---|---|---|---|---|---|")
    by_label = ", ".join(f"{label.split('@')[-1]}: {n:,}" for label, n in sorted(c["by_label"].items()))
    say(f"| {r['reloads']} ({r['reloads_logged']} logged) | **{r['reload_cpu_ms_median']:.1f} ms** "
        f"({r['reload_cpu_ms_max']:.1f}) | {r['reload_ms_median']:.0f} ms ({r['reload_ms_max']:.0f}) | "
        f"{requests:,} (wrk {w['requests']:,}, {w['rps']:,.0f} req/s; checker {c['requests']:,}) | {by_label} | "
        f"**{failed}** |")
    say("")
    if c.get("first_failure"):
        say(f"First failed answer: `{c['first_failure']}`")
        say("")
    figure += (f"; in magcds under load: {r['reloads']} reloads, {r['reload_cpu_ms_median']:.1f} ms CPU median "
               f"({r['reload_ms_median']:.0f} ms wall), {failed} failed of {requests:,} requests")
    ok = load_rule_set_ms <= 60 and failed == 0 and not r.get("problem") and r["reloads_logged"] == r["reloads"]
    return [("reload of 1,300 rules", "—", figure, "≤ 60 ms, 0 failed requests", ok)]
