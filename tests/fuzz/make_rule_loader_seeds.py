#!/usr/bin/env python3
"""Small seeds for the rule-loader fuzz campaign (issue #12).

libFuzzer's speed on fuzz_rule_loader is proportional to the input's size:
the shipped rulesets are ~28 KB, which gives a few hundred executions per
second. This writes, for every rule of every shipped ruleset, the smallest
ruleset.json that still loads cleanly with that one rule: it starts from the
shipped file with only that rule, drops every section and section entry it
can (services, prefetch keys, parameters, analytes, definitions, templates,
precedence, ...) and cuts every text to 8 characters (keeping its ${...}
placeholders), one change at a time, keeping a change only if
`magcds rules validate` still accepts the set, and writes it minified. What
is kept keeps its whole structure (the rule's and the definitions'
predicates, bindings, indicator cases, card parts). Each seed is a valid rule
set, so mutations start from inputs that reach the semantic checks and the
compile step, not only the JSON and schema checks. MG-11 is skipped: it only
loads beside the rules it replaces.

usage: tests/fuzz/make_rule_loader_seeds.py MAGCDS OUT_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETS = os.path.join(ROOT, "rules", "sets", "magnesium")


def loads(magcds, work, ruleset):
    with open(os.path.join(work, "ruleset.json"), "w") as out:
        json.dump(ruleset, out, separators=(",", ":"))
    result = subprocess.run([magcds, "rules", "validate", work], capture_output=True)
    return result.returncode == 0


def paths(node, prefix=()):
    """Every member and element below node, parents before children."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        items = []
    for key, child in items:
        yield prefix + (key,), child
        yield from paths(child, prefix + (key,))


def shortened(text):
    """The first 8 characters and every ${...} placeholder after them: card
    templates stay templates."""
    return text[:8] + "".join(re.findall(r"\$\{[^}]*\}", text[8:]))


def without(ruleset, path, shorten):
    trial = json.loads(json.dumps(ruleset))
    parent = trial
    for key in path[:-1]:
        parent = parent[key]
    if shorten:
        parent[path[-1]] = shortened(parent[path[-1]])
    else:
        del parent[path[-1]]
    return trial


def reduce(magcds, work, ruleset):
    """Greedy: drop top-level members and the entries of the sections other
    than the rule, and cut long strings to 8 characters plus placeholders,
    as long as the set still loads.
    Repeats until nothing more can go."""
    changed = True
    while changed:
        changed = False
        gone = []  # lists whose elements moved: revisit next pass
        removed = []  # members gone: skip what was below them
        for path, value in list(paths(ruleset)):
            if any(path[: len(prefix)] == prefix for prefix in gone) or len(path) > 1 and \
                    any(path[: len(prefix)] == prefix for prefix in removed):
                continue
            # Whole sections and their entries may go (an unused definition,
            # a second service); what is kept keeps its structure (predicates,
            # bindings, card parts: what the fuzzer should start from), only
            # its texts are cut.
            attempts = [False] if len(path) <= 2 and path[0] != "rules" else []
            if isinstance(value, str) and len(shortened(value)) < len(value):
                attempts.append(True)
            for shorten in attempts:
                try:
                    trial = without(ruleset, path, shorten)
                except (KeyError, IndexError):
                    break  # an earlier removal in this pass moved this element
                if loads(magcds, work, trial):
                    ruleset = trial
                    changed = True
                    if not shorten and not isinstance(path[-1], int):
                        removed.append(path)
                    if not shorten and isinstance(path[-1], int):
                        gone.append(path[:-1])  # the later elements' indices moved
                    break
    return ruleset


def main():
    magcds, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for version in sorted(os.listdir(SETS)):
        source = os.path.join(SETS, version)
        with open(os.path.join(source, "ruleset.json")) as f:
            full = json.load(f)
        work = tempfile.mkdtemp(prefix="magcds-seeds-")
        try:
            shutil.copy(os.path.join(source, "valuesets.json"), work)
            for rule in full["rules"]:
                ruleset = dict(full)
                ruleset["rules"] = [rule]
                ruleset["precedence"] = []
                ruleset.pop("withholdAll", None)
                if not loads(magcds, work, ruleset):
                    print(f"skip {version} {rule['id']}: does not load alone", file=sys.stderr)
                    continue
                ruleset = reduce(magcds, work, ruleset)
                text = json.dumps(ruleset, separators=(",", ":"))
                name = f"one-rule-{version}-{rule['id']}.json"
                with open(os.path.join(out_dir, name), "w") as out:
                    out.write(text)
                print(f"{name}: {len(text)} bytes")
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
