#!/usr/bin/env python3
"""Test helper: a folder of FHIR Bundles (one patient each) -> FHIR Bulk Data
export output (one NDJSON file per resource type, split every --split lines:
Observation.000.ndjson, Observation.001.ndjson, ...), as an EHR's $export
writes it. Intra-Bundle references (urn:uuid:...) become Type/id, so
resources point at "Patient/<id>" as in a real export.

usage: bundles_to_ndjson.py IN_DIR OUT_DIR [--split N] [--limit N]
"""
import argparse
import json
import os
import sys


def rewrite(value, targets):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and item in targets:
                out[key] = targets[item]
            else:
                out[key] = rewrite(item, targets)
        return out
    if isinstance(value, list):
        return [rewrite(item, targets) for item in value]
    return value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("in_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--split", type=int, default=0, help="lines per file (0: one file per type)")
    parser.add_argument("--limit", type=int, default=0, help="first N Bundles only")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    files = sorted(f for f in os.listdir(args.in_dir) if f.endswith(".json"))
    if args.limit:
        files = files[: args.limit]
    writers = {}  # type -> [file object, lines in it, part number]

    def write(resource_type, line):
        state = writers.get(resource_type)
        if state is None or (args.split and state[1] >= args.split):
            part = 0 if state is None else state[2] + 1
            if state is not None:
                state[0].close()
            name = f"{resource_type}.{part:03d}.ndjson" if args.split else f"{resource_type}.ndjson"
            state = [open(os.path.join(args.out_dir, name), "w", encoding="utf-8"), 0, part]
            writers[resource_type] = state
        state[0].write(line + "\n")
        state[1] += 1

    for name in files:
        with open(os.path.join(args.in_dir, name), encoding="utf-8") as handle:
            bundle = json.load(handle)
        entries = [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
        targets = {}
        for entry in entries:
            resource = entry["resource"]
            if entry.get("fullUrl") and resource.get("id"):
                targets[entry["fullUrl"]] = f'{resource["resourceType"]}/{resource["id"]}'
        for entry in entries:
            resource = rewrite(entry["resource"], targets)
            write(resource["resourceType"], json.dumps(resource, separators=(",", ":")))
    for state in writers.values():
        state[0].close()
    print(f"{len(files)} bundles -> {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
