#!/usr/bin/env python3
"""Issue #17 acceptance: `magcds rules backtest` and `magcds rules book`, end to
end with the real binary, the shipped rulesets, the Synthea population and
headless Chromium.

usage: backtest_test.py CASE --magcds BIN --rules-root DIR --population DIR
                        [--chromium BIN] [--source-root DIR]
CASE: reports | ndjson | bad-input | chromium-report | chromium-book

The "new" ruleset is 1.1.0 when it is in the tree; every case also runs
against a modified copy of 1.0.0 (1.0.1: MG-09 disabled, Lasix added to
the magnesium-wasting therapies) so that gains and losses are guaranteed.
"""
import argparse
import csv
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAIL:", message, file=sys.stderr)


def run(args, expect=None):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if expect is not None and result.returncode != expect:
        print(result.stdout, result.stderr, file=sys.stderr)
        raise SystemExit(f"{' '.join(args[:3])}... exited {result.returncode}, expected {expect}")
    return result


def make_modified_copy(rules_root, tmp):
    target = os.path.join(tmp, "magnesium-1.0.1")
    shutil.copytree(os.path.join(rules_root, "1.0.0"), target)
    ruleset_path = os.path.join(target, "ruleset.json")
    with open(ruleset_path, encoding="utf-8") as f:
        ruleset = json.load(f)
    ruleset["version"] = "1.0.1"
    for rule in ruleset["rules"]:
        if rule["id"] == "MG-09":
            rule["enabled"] = False
            rule["version"] = "1.0.1"
        if rule["id"] == "MG-13":
            rule["version"] = "1.0.1"
    with open(ruleset_path, "w", encoding="utf-8") as f:
        json.dump(ruleset, f, indent=1)
    valuesets_path = os.path.join(target, "valuesets.json")
    with open(valuesets_path, encoding="utf-8") as f:
        valuesets = json.load(f)
    for value_set in valuesets["valueSets"]:
        if value_set["id"] == "mg-wasting-therapy":
            value_set["include"].append({
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "codes": [{"code": "315971", "display": "Lasix 40mg",
                           "verification": "test fixture only (not a magnesium-wasting therapy)"}]})
    with open(valuesets_path, "w", encoding="utf-8") as f:
        json.dump(valuesets, f, indent=1)
    return target


class DataCells(html.parser.HTMLParser):
    """Collects every element with data-field (and its text)."""

    def __init__(self):
        super().__init__()
        self.cells = {}
        self.stack = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-field" in attrs and tag != "rect":
            self.stack.append((attrs.get("data-ruleset", ""), attrs.get("data-rule", ""), attrs["data-field"], ""))
        elif self.stack:
            self.stack.append(None)

    def handle_endtag(self, tag):
        if self.stack:
            item = self.stack.pop()
            if item is not None:
                self.cells[item[:3]] = item[3]

    def handle_data(self, data):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is not None:
                r, ru, f, text = self.stack[i]
                self.stack[i] = (r, ru, f, text + data)
                break


def backtest(args, population, new, baseline, out, extra=()):
    command = [args.magcds, "rules", "backtest", "--population", *population, "--rules", new,
               "--out", out, "--now", "2026-11-22T12:00:00Z", "--hash-key-file", args.key_file, *extra]
    if baseline:
        command += ["--baseline", baseline]
    return run(command)


def load_reports(out):
    with open(os.path.join(out, "report.json"), encoding="utf-8") as f:
        report = json.load(f)
    with open(os.path.join(out, "report.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        page = f.read()
    return report, rows, page


def check_agreement(report, rows, page, label):
    """Every per-rule number of report.json is in report.csv and report.html."""
    cells = DataCells()
    cells.feed(page)
    by_key = {(r["ruleset"], r["rule"]): r for r in rows}
    sides = [report["current"]] + ([report["previous"]] if report["previous"] else [])
    expected_rows = 0
    for side in sides:
        for rule in side["rules"]:
            expected_rows += 1
            row = by_key.get((side["ruleset"], rule["id"]))
            check(row is not None, f"{label}: csv lacks {side['ruleset']} {rule['id']}")
            if row is None:
                continue
            for json_key, csv_key in [("cards", "cards"), ("info", "info"), ("warning", "warning"),
                                      ("critical", "critical"), ("per1000", "per_1000"),
                                      ("unknown", "unknown"), ("patientsGaining", "patients_gaining"),
                                      ("patientsLosing", "patients_losing"), ("change", "change"),
                                      ("infoPer1000", "info_per_1000"), ("warningPer1000", "warning_per_1000"),
                                      ("criticalPer1000", "critical_per_1000")]:
                check(str(rule[json_key]) == row[csv_key],
                      f"{label}: {side['ruleset']} {rule['id']} {json_key}: json {rule[json_key]} csv {row[csv_key]}")
            for field in ["cards", "info", "warning", "critical", "per1000", "unknown",
                          "infoPer1000", "warningPer1000", "criticalPer1000"]:
                html_value = cells.cells.get((side["ruleset"], rule["id"], field))
                check(html_value == str(rule[field]),
                      f"{label}: {side['ruleset']} {rule['id']} {field}: json {rule[field]} html {html_value}")
            if report["previous"] and side is report["current"]:
                old = {r["id"]: r for r in report["previous"]["rules"]}.get(rule["id"], {"cards": 0})
                delta = rule["cards"] - old["cards"]
                check(rule["change"] == ("+" if delta > 0 else "") + str(delta), f"{label}: change of {rule['id']}")
                for field in ["patientsGaining", "patientsLosing", "change"]:
                    html_value = cells.cells.get((side["ruleset"], rule["id"], field))
                    check(html_value == str(rule[field]), f"{label}: {rule['id']} {field} html {html_value}")
        for cards, n in side["cardsPerPatient"].items():
            html_value = cells.cells.get((side["ruleset"], "*", "patientsWith" + cards))
            check(html_value == str(n), f"{label}: cards-per-patient {cards}: json {n} html {html_value}")
        check(sum(side["cardsPerPatient"].values()) + sum(side["callErrors"].values())
              == report["patients"]["evaluated"], f"{label}: cards-per-patient does not add up")
        check(sum(int(k) * v for k, v in side["cardsPerPatient"].items()) == side["cards"],
              f"{label}: card total does not match the distribution")
        check(sum(r["cards"] for r in side["rules"]) == side["cards"], f"{label}: per-rule cards do not sum")
    check(len(rows) == expected_rows, f"{label}: csv has {len(rows)} rows, expected {expected_rows}")
    for field, value in [("patientsEvaluated", report["patients"]["evaluated"]),
                         ("patientsSkipped", report["patients"]["skipped"]),
                         ("patientsWithCard", report["patients"]["withCard"]),
                         ("cards", report["current"]["cards"])]:
        check(cells.cells.get(("", "", field)) == str(value), f"{label}: html {field} != {value}")


def patient_ids(population):
    ids = []
    for name in os.listdir(population):
        if name.endswith(".json"):
            match = re.search(r"_([0-9a-f-]{36})\.json$", name)
            if match:
                ids.append(match.group(1))
    return ids


def case_reports(args, tmp, modified):
    versions = [(modified, os.path.join(args.rules_root, "1.0.0"), "modified")]
    if os.path.exists(os.path.join(args.rules_root, "1.1.0", "ruleset.json")):
        versions.append((os.path.join(args.rules_root, "1.1.0"), os.path.join(args.rules_root, "1.0.0"), "1.1.0"))
    else:
        print("note: rules/sets/magnesium/1.1.0 is not in this tree; 1.0.0 vs a modified copy only")
    for new, old, label in versions:
        out = os.path.join(tmp, "out-" + label)
        result = backtest(args, [args.population], new, old, out, ["--jobs", "2"])
        check(result.returncode == 0, f"{label}: exit {result.returncode}: {result.stderr[-400:]}")
        for name in ["report.json", "report.csv", "report.html"]:
            check(os.path.getsize(os.path.join(out, name)) > 200, f"{label}: {name} missing or empty")
        report, rows, page = load_reports(out)
        check(report["patients"] == {**report["patients"], "total": 60, "evaluated": 60, "skipped": 0},
              f"{label}: patients {report['patients']}")
        check_agreement(report, rows, page, label)
        # No patient id in clear anywhere in the reports (keyed hashes only).
        text = json.dumps(report) + page + "".join(str(r) for r in rows)
        leaked = [i for i in patient_ids(args.population) if i in text]
        check(not leaked, f"{label}: patient ids in clear in the reports: {leaked[:2]}")
        for patient in report["sample"]:
            check(re.fullmatch(r"hmac-sha256:[0-9a-f]{64}", patient["patient"]) is not None,
                  f"{label}: sample id is not a keyed hash")
            for change in patient["changes"]:
                check(change["explainNew"] and change["explainBaseline"], f"{label}: sample without explain")
        if label == "modified":
            rules = {r["id"]: r for r in report["current"]["rules"]}
            old_rules = {r["id"]: r for r in report["previous"]["rules"]}
            check(old_rules["MG-09"]["cards"] > 0, "baseline MG-09 should fire on Synthea (migraine)")
            check(rules["MG-09"]["cards"] == 0, "disabled MG-09 fired")
            check(rules["MG-09"]["patientsLosing"] == old_rules["MG-09"]["cards"], "MG-09 losers")
            check(rules["MG-13"]["patientsGaining"] > 0 and rules["MG-13"]["cards"] > 0, "MG-13 gainers")
            check(report["patients"]["changed"] > 0 and report["sample"], "no changed patients sampled")
            # The same counts on one job as on two (order-independent totals, same sample).
            out1 = os.path.join(tmp, "out-jobs1")
            backtest(args, [args.population], new, old, out1, ["--jobs", "1"])
            one, _, _ = load_reports(out1)
            for key in ["patients", "current", "previous", "sample"]:
                check(one[key] == report[key], f"--jobs 1 and --jobs 2 differ in {key}")


def case_ndjson(args, tmp, modified):
    ndjson = os.path.join(tmp, "bulk")
    run([sys.executable, os.path.join(args.source_root, "tests/support/bundles_to_ndjson.py"),
         args.population, ndjson, "--split", "3000"], expect=0)
    check(len([f for f in os.listdir(ndjson) if f.startswith("Observation.")]) > 1,
          "converter should split Observation into several files")
    old = os.path.join(args.rules_root, "1.0.0")
    a, b = os.path.join(tmp, "from-bundles"), os.path.join(tmp, "from-ndjson")
    backtest(args, [args.population], modified, old, a)
    result = backtest(args, [ndjson], modified, old, b)
    check(result.returncode == 0, f"ndjson run exit {result.returncode}: {result.stderr[-400:]}")
    ra, _, _ = load_reports(a)
    rb, rows, page = load_reports(b)
    for key in ["patients", "current", "previous", "sample"]:
        check(ra[key] == rb[key], f"Bundle folder and NDJSON runs differ in {key}")
    check(rb["unjoinedResources"].get("Organization", 0) > 0, "shared resources should be counted")
    check_agreement(rb, rows, page, "ndjson")


def case_bad_input(args, tmp, modified):
    old = os.path.join(args.rules_root, "1.0.0")
    bundles = sorted(f for f in os.listdir(args.population) if f.endswith(".json"))[:4]
    small = os.path.join(tmp, "small")
    os.makedirs(small)
    for name in bundles:
        shutil.copy(os.path.join(args.population, name), small)
    ndjson = os.path.join(tmp, "bulk")
    run([sys.executable, os.path.join(args.source_root, "tests/support/bundles_to_ndjson.py"),
         small, ndjson], expect=0)

    # 1. A truncated NDJSON line: reported with file and line; its patient is left out.
    obs = os.path.join(ndjson, "Observation.ndjson")
    with open(obs, encoding="utf-8") as f:
        lines = f.readlines()
    lines[4] = lines[4][: len(lines[4]) // 2] + "\n"
    with open(obs, "w", encoding="utf-8") as f:
        f.writelines(lines)
    # 2. A resource without a patient reference (line 2 of Condition.ndjson).
    cond = os.path.join(ndjson, "Condition.ndjson")
    with open(cond, encoding="utf-8") as f:
        lines = f.readlines()
    resource = json.loads(lines[1])
    resource.pop("subject", None)
    lines[1] = json.dumps(resource) + "\n"
    with open(cond, "w", encoding="utf-8") as f:
        f.writelines(lines)
    # 3. A Bundle that is not JSON (broken on line 3), next to good ones.
    broken_dir = os.path.join(tmp, "bundles")
    os.makedirs(broken_dir)
    for name in bundles[:2]:
        shutil.copy(os.path.join(args.population, name), broken_dir)
    with open(os.path.join(broken_dir, "zz-broken.json"), "w", encoding="utf-8") as f:
        f.write('{\n  "resourceType": "Bundle",\n  "entry": [ {"resource": }\n]}\n')
    # 3b. JSON that is not a Bundle (a lone Patient resource).
    with open(os.path.join(broken_dir, "zz-patient.json"), "w", encoding="utf-8") as f:
        f.write('{"resourceType": "Patient", "id": "lone"}\n')
    # 4. An empty folder among the paths.
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)

    out = os.path.join(tmp, "out-bad")
    result = backtest(args, [ndjson, broken_dir, empty], modified, old, out)
    err = result.stderr
    check(result.returncode == 1, f"bad input should exit 1 (reports written), got {result.returncode}")
    check(re.search(r"Observation\.ndjson:5: not valid JSON", err) is not None, "truncated line: file:line")
    check(re.search(r"Condition\.ndjson:2: Condition without a patient reference", err) is not None,
          "resource without patient reference: file:line")
    check(re.search(r"zz-broken\.json:3: Bundle is not JSON", err) is not None, "broken Bundle: file:line")
    check(re.search(r"empty: empty folder", err) is not None, "empty folder message")
    check(re.search(r"zz-patient\.json:1: the file must hold a FHIR Bundle", err) is not None,
          "JSON that is not a Bundle: file:line")
    report, rows, page = load_reports(out)
    # 4 NDJSON patients, one left out (truncated line) + 2 Bundles + 2 bad files.
    check(report["patients"]["total"] == 8, f"total {report['patients']}")
    check(report["patients"]["skipped"] == 3, f"skipped {report['patients']}")
    check(report["patients"]["evaluated"] == 5, f"evaluated {report['patients']}")
    check(report["problemCount"] == 5, f"problems {report['problemCount']}: {report['problems']}")
    check_agreement(report, rows, page, "bad-input")

    # Nothing readable at all, or a path that does not exist: exit 2, no report.
    result = backtest(args, [empty], modified, old, os.path.join(tmp, "none"))
    check(result.returncode == 2 and "empty folder" in result.stderr, "empty folder alone must fail")
    result = backtest(args, [os.path.join(tmp, "missing")], modified, old, os.path.join(tmp, "none"))
    check(result.returncode == 2 and "missing: no such file or folder" in result.stderr, "missing path")
    check(not os.path.exists(os.path.join(tmp, "none")), "no report for unreadable input")


def chromium(args, page, shot, tmp, size="1200,2200"):
    profile = tempfile.mkdtemp(dir=tmp)
    result = subprocess.run(
        [args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", "--user-data-dir=" + profile, "--hide-scrollbars", "--window-size=" + size,
         "--screenshot=" + shot, "file://" + page], capture_output=True, text=True, timeout=120)
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def colour_pixels(png, colour):
    from PIL import Image  # python3-pil (deploy/install-deps.sh --test)
    image = Image.open(png).convert("RGB")
    return sum(1 for pixel in image.getdata() if all(abs(a - b) <= 8 for a, b in zip(pixel, colour)))


def case_chromium_report(args, tmp, modified):
    # The console check must see a console message when there is one.
    control = os.path.join(tmp, "control.html")
    with open(control, "w", encoding="utf-8") as f:
        f.write('<!DOCTYPE html><p>x</p><script>console.error("control")</script>')
    check(chromium(args, control, os.path.join(tmp, "control.png"), tmp), "console capture does not work")

    new = os.path.join(args.rules_root, "1.1.0")
    if not os.path.exists(os.path.join(new, "ruleset.json")):
        new = modified
    out = os.path.join(tmp, "out")
    backtest(args, [args.population], new, os.path.join(args.rules_root, "1.0.0"), out)
    page = os.path.join(out, "report.html")
    messages = chromium(args, page, os.path.join(tmp, "report.png"), tmp)
    check(not messages, f"console messages: {messages}")
    # Same page without the chart: the bar colours must be drawn by the SVG.
    with open(page, encoding="utf-8") as f:
        text = f.read()
    no_chart = os.path.join(tmp, "no-chart.html")
    with open(no_chart, "w", encoding="utf-8") as f:
        f.write(re.sub(r'<svg id="chart".*?</svg>', "", text, flags=re.S))
    chromium(args, no_chart, os.path.join(tmp, "no-chart.png"), tmp)
    with open(os.path.join(out, "report.json"), encoding="utf-8") as f:
        report = json.load(f)
    for colour, side in [((0x1F, 0x6F, 0xB2), report["current"]), ((0xA0, 0xAE, 0xC0), report["previous"])]:
        bars = sum(1 for r in side["rules"] if r["cards"] > 0)
        drawn = colour_pixels(os.path.join(tmp, "report.png"), colour)
        without = colour_pixels(os.path.join(tmp, "no-chart.png"), colour)
        # Each non-empty bar is at least 2 x 12 px.
        check(drawn - without >= 24 * bars and bars > 0,
              f"chart not drawn for {side['ruleset']}: {drawn} vs {without} px, {bars} bars")


def case_chromium_book(args, tmp, modified):
    new = os.path.join(args.rules_root, "1.1.0")
    if not os.path.exists(os.path.join(new, "ruleset.json")):
        print("note: 1.1.0 not in this tree; the book is built for the modified copy")
        new = modified
    out = os.path.join(tmp, "book")
    result = run([args.magcds, "rules", "book", new, "--baseline", os.path.join(args.rules_root, "1.0.0"),
                  "--cases", os.path.join(args.source_root, "tests/data/rule-cases"), "--out", out])
    check(result.returncode == 0, f"rules book exit {result.returncode}: {result.stderr}")
    page = os.path.join(out, "index.html")
    messages = chromium(args, page, os.path.join(tmp, "book.png"), tmp, "1000,1400")
    check(not messages, f"console messages: {messages}")
    dom = subprocess.run([args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                          "--user-data-dir=" + tempfile.mkdtemp(dir=tmp), "--dump-dom", "file://" + page],
                         capture_output=True, text=True, timeout=120).stdout
    check("</html>" in dom and len(dom) > 10000, "Chromium did not render the book")
    with open(os.path.join(new, "ruleset.json"), encoding="utf-8") as f:
        ruleset = json.load(f)
    with open(os.path.join(new, "valuesets.json"), encoding="utf-8") as f:
        valuesets = json.load(f)
    text = html.unescape(re.sub(r"<[^>]+>", " ", dom))
    for rule in ruleset["rules"]:
        check(f'id="rule-{rule["id"]}"' in dom and rule["title"] in text, f"rule {rule['id']} missing")
    codes = 0
    for value_set in valuesets["valueSets"]:
        check(f'id="vs-{value_set["id"]}"' in dom and value_set["title"] in text,
              f"value set {value_set['id']} missing")
        for part in value_set.get("include", []) + value_set.get("exclude", []):
            for code in part.get("codes", []) + part.get("prefixes", []):
                codes += 1
                check(code["code"] in text, f"code {code['code']} of {value_set['id']} missing")
                check(code.get("display", "") in text, f"display of {code['code']} missing")
                if code.get("verification"):
                    check(code["verification"] in text, f"verification of {code['code']} missing")
            for pattern in part.get("text", []):
                check(pattern in text, f"text pattern {pattern} of {value_set['id']} missing")
    check(codes > 50, "too few codes checked")
    for name in ruleset["parameters"]:
        check(name in text, f"parameter {name} missing")
    check(ruleset["disclaimer"] in text and ruleset["releaseDate"] in text, "disclaimer / release date")
    check("Changes since magnesium@1.0.0" in text, "changes section missing")
    check("Fires when" in text and " AND " in text, "plain-language triggers missing")
    check("@media print" in dom, "print CSS missing")
    # Cards rendered by cards/render from example patients (not just templates).
    rendered = dom.count("Rendered from the example patient")
    check(rendered >= len([r for r in ruleset["rules"] if r.get("enabled", True)]) // 2,
          f"only {rendered} cards rendered from example patients")
    for card in re.findall(r'<div class="card[^"]*">((?:(?!<div class="card).)*?)Rendered from the example patient',
                          dom, flags=re.S):
        check("${" not in card and "Advisory only" in card, "a rendered card has placeholders or no disclaimer")
    check(not re.search(r'(src|href)="(https?:)?//[^"]*\.(css|js|png|svg|woff2?)"', dom), "external asset")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case")
    parser.add_argument("--magcds", required=True)
    parser.add_argument("--rules-root", required=True)
    parser.add_argument("--population", required=True)
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--source-root", default=os.path.join(os.path.dirname(__file__), "../.."))
    args = parser.parse_args()
    if args.case.startswith("chromium") and shutil.which(args.chromium) is None:
        raise SystemExit("chromium not found: bash deploy/install-deps.sh --test")
    cases = {"reports": case_reports, "ndjson": case_ndjson, "bad-input": case_bad_input,
             "chromium-report": case_chromium_report, "chromium-book": case_chromium_book}
    with tempfile.TemporaryDirectory(prefix="magcds-backtest-") as tmp:
        args.key_file = os.path.join(tmp, "hash.key")
        with open(args.key_file, "w", encoding="utf-8") as f:
            f.write("backtest-test-key-0123456789abcdef\n")
        modified = make_modified_copy(args.rules_root, tmp)
        cases[args.case](args, tmp, modified)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print(f"{args.case}: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
