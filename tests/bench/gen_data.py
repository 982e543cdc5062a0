#!/usr/bin/env python3
"""Benchmark data for tests/bench (deterministic, no network).

  gen_data.py patient --resources N [--seed S] OUT.json
      A CDS Hooks patient-view request whose prefetch holds N FHIR resources
      (1 Patient + a realistic mix of MedicationRequest, MedicationStatement,
      Condition and Observation; the proportions of patient-30.json). The
      30-resource patient is committed as tests/bench/patient-30.json.
  gen_data.py no-prefetch --fhir-server URL IN.json OUT.json
      The same request without prefetch, with fhirServer + fhirAuthorization
      (fetch mode).
  gen_data.py rules --copies K SRC_DIR OUT_DIR
      A ruleset directory with K copies of every rule of SRC_DIR (ids renamed
      MG-01 -> MG-01-c002 ...; precedence copied per copy), same value sets.
      13 rules x 10 = 130, x 100 = 1,300.
  gen_data.py population --patients N [--split LINES] OUT_DIR
      A FHIR Bulk Data export of N patients (issue #17 backtest benchmark):
      one NDJSON file per resource type, split every LINES lines
      (Observation.000.ndjson, ...). Patient k has 20..80 resources (the
      patient mix above, seed k) and id bench-<k>.
"""

import argparse
import copy
import json
import os
import random
import sys
import zlib

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
BASE = "https://ehr.example.org/fhir/R4"
PATIENT_ID = "pt-4711"

# (rxnorm, atc, name, dose text, route)
DRUGS = [
    ("7646", "A02BC01", "omeprazole 20 MG Delayed Release Oral Capsule", "20 mg once daily before breakfast", "oral"),
    ("4603", "C03CA01", "furosemide 40 MG Oral Tablet", "40 mg every morning", "oral"),
    ("6809", "A10BA02", "metformin hydrochloride 500 MG Oral Tablet", "500 mg twice daily with meals", "oral"),
    ("83367", "C10AA05", "atorvastatin 20 MG Oral Tablet", "20 mg at night", "oral"),
    ("29046", "C09AA03", "lisinopril 10 MG Oral Tablet", "10 mg once daily", "oral"),
    ("17767", "C08CA01", "amlodipine 5 MG Oral Tablet", "5 mg once daily", "oral"),
    ("10582", "H03AA01", "levothyroxine sodium 0.075 MG Oral Tablet", "75 microgram once daily, fasting", "oral"),
    ("1191", "B01AC06", "aspirin 81 MG Delayed Release Oral Tablet", "81 mg once daily", "oral"),
    ("36437", "N06AB06", "sertraline 50 MG Oral Tablet", "50 mg once daily", "oral"),
    ("6918", "C07AB02", "metoprolol succinate 47.5 MG Extended Release Oral Tablet", "47.5 mg once daily", "oral"),
    ("1364430", "B01AF02", "apixaban 5 MG Oral Tablet", "5 mg twice daily", "oral"),
    ("25480", "N03AX12", "gabapentin 300 MG Oral Capsule", "300 mg three times daily", "oral"),
    ("161", "N02BE01", "acetaminophen 500 MG Oral Tablet", "1 g up to four times daily as needed", "oral"),
    ("5487", "C03AA03", "hydrochlorothiazide 25 MG Oral Tablet", "25 mg once daily", "oral"),
    ("3407", "C01AA05", "digoxin 0.125 MG Oral Tablet", "125 microgram once daily", "oral"),
    ("6582", "A12CC10", "magnesium oxide 400 MG Oral Tablet", "400 mg once daily", "oral"),
]
# (snomed, icd10, name)
CONDITIONS = [
    ("55300003", "R25.2", "Cramp (finding)"),
    ("38341003", "I10", "Hypertensive disorder, systemic arterial"),
    ("44054006", "E11.9", "Diabetes mellitus type 2"),
    ("55822004", "E78.5", "Hyperlipidemia"),
    ("235595009", "K21.9", "Gastroesophageal reflux disease"),
    ("396275006", "M19.90", "Osteoarthritis"),
    ("40930008", "E03.9", "Hypothyroidism"),
    ("433144002", "N18.30", "Chronic kidney disease stage 3"),
    ("49436004", "I48.91", "Atrial fibrillation"),
    ("35489007", "F32.9", "Depressive disorder"),
    ("195967001", "J45.909", "Asthma"),
]
# (loinc, display, unit, low, high, decimals)
LABS = [
    ("19123-9", "Magnesium [Mass/volume] in Serum or Plasma", "mg/dL", 1.6, 2.5, 1),
    ("2601-3", "Magnesium [Moles/volume] in Serum or Plasma", "mmol/L", 0.72, 1.0, 2),
    ("98979-8", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)", "mL/min/{1.73_m2}", 45, 95, 0),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.6, 5.0, 1),
]


def meta(rng, year):
    return {
        "versionId": str(rng.randint(1, 9)),
        "lastUpdated": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(7, 18):02d}:{rng.randint(0, 59):02d}:00Z",
    }


def date(rng, y0, y1):
    return f"{rng.randint(y0, y1)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def ref_patient():
    return {"reference": f"Patient/{PATIENT_ID}", "display": "Erika Mustermann"}


def medication_concept(drug):
    rx, atc, name, _, _ = drug
    return {
        "coding": [
            {"system": RXNORM, "code": rx, "display": name},
            {"system": ATC, "code": atc},
        ],
        "text": name,
    }


def dosage(drug, rng):
    return [{
        "sequence": 1,
        "text": drug[3],
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "route": {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]},
        "doseAndRate": [{
            "doseQuantity": {"value": 1, "unit": "tablet", "system": "http://unitsofmeasure.org", "code": "{tbl}"},
        }],
    }]


def medication_request(rid, drug, rng, authored, status="active"):
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "meta": meta(rng, authored[:4]),
        "identifier": [{"system": "urn:oid:1.2.276.0.76.4.17.9814184919", "value": f"RX{rng.randint(10**7, 10**8 - 1)}"}],
        "status": status,
        "intent": "order",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": "community", "display": "Community"}]}],
        "medicationCodeableConcept": medication_concept(drug),
        "subject": ref_patient(),
        "authoredOn": authored,
        "requester": {"reference": "Practitioner/prac-118", "display": "Dr. Anna Schmidt"},
        "dosageInstruction": dosage(drug, rng),
        "dispenseRequest": {"numberOfRepeatsAllowed": 5, "quantity": {"value": 90, "unit": "tablet"}},
    }


def medication_statement(rid, drug, rng, start, status="active"):
    return {
        "resourceType": "MedicationStatement",
        "id": rid,
        "meta": meta(rng, start[:4]),
        "status": status,
        "medicationCodeableConcept": medication_concept(drug),
        "subject": ref_patient(),
        "effectivePeriod": {"start": start},
        "dateAsserted": start,
        "informationSource": ref_patient(),
        "dosage": dosage(drug, rng),
        "note": [{"text": "Patient-reported; over the counter."}],
    }


def condition(rid, cond, rng, onset, active=True):
    snomed, icd, name = cond
    res = {
        "resourceType": "Condition",
        "id": rid,
        "meta": meta(rng, onset[:4]),
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active" if active else "resolved"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                  "code": "problem-list-item", "display": "Problem List Item"}]}],
        "code": {"coding": [{"system": SNOMED, "code": snomed, "display": name},
                            {"system": ICD10, "code": icd}], "text": name},
        "subject": ref_patient(),
        "onsetDateTime": onset,
        "recordedDate": onset,
        "recorder": {"reference": "Practitioner/prac-118"},
    }
    if not active:
        res["abatementDateTime"] = onset[:4] + "-12-31"
    return res


def observation(rid, lab, rng, when):
    loinc, display, unit, low, high, decimals = lab
    value = round(rng.uniform(low, high), decimals)
    if decimals == 0:
        value = int(value)
    return {
        "resourceType": "Observation",
        "id": rid,
        "meta": meta(rng, when[:4]),
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory", "display": "Laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": display.split(" [")[0]},
        "subject": ref_patient(),
        "effectiveDateTime": f"{when}T08:{rng.randint(0, 59):02d}:00+01:00",
        "issued": f"{when}T14:{rng.randint(0, 59):02d}:00+01:00",
        "performer": [{"reference": "Organization/lab-1", "display": "Central Laboratory"}],
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def bundle(resources, rtype, rng):
    return {
        "resourceType": "Bundle",
        "id": f"search-{rtype.lower()}-{rng.randint(1000, 9999)}",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": f"{BASE}/{rtype}?patient={PATIENT_ID}"}],
        "entry": [{"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r,
                   "search": {"mode": "match"}} for r in resources],
    }


def patient_resource(rng):
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "meta": meta(rng, 2026),
        "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345678"}],
        "active": True,
        "name": [{"use": "official", "family": "Mustermann", "given": ["Erika"]}],
        "telecom": [{"system": "phone", "value": "+49 30 1234567", "use": "home"}],
        "gender": "female",
        "birthDate": "1958-04-12",
        "address": [{"line": ["Heidestrasse 17"], "city": "Berlin", "postalCode": "10557", "country": "DE"}],
    }


def make_patient(n, seed):
    """n >= 2 resources in total. Mix per 30: 1 Patient, 7 MedicationRequest,
    3 MedicationStatement, 9 Condition, 10 Observation. The first ones are
    chosen so that MG-01 fires (long-term omeprazole + cramp + no recent Mg),
    as on a realistic chart where the advisor has something to say. Below 5
    resources (the smallest bodies of the body-size chart) the chart is the
    Patient, the omeprazole order, then the cramp, then one statement; the
    other bundles are empty."""
    rng = random.Random(seed)
    rest = n - 1
    if n < 5:
        n_req, n_cond, n_stmt, n_obs = 1, int(n >= 3), int(n >= 4), 0
    else:
        n_req = max(1, round(rest * 7 / 29))
        n_stmt = max(1, round(rest * 3 / 29))
        n_cond = max(1, round(rest * 9 / 29))
        n_obs = max(1, rest - n_req - n_stmt - n_cond)
    # Keep the total exact.
    while n_req + n_stmt + n_cond + n_obs > rest:
        n_cond -= 1
    reqs = [medication_request("mr-1", DRUGS[0], rng, "2023-01-15")]
    for i in range(1, n_req):
        drug = DRUGS[1 + (i - 1) % 12]  # no digoxin / hctz / Mg oxide in the requests
        old = i >= 7
        reqs.append(medication_request(f"mr-{i + 1}", drug, rng, date(rng, 2005, 2026),
                                       status=rng.choice(["completed", "stopped"]) if old else "active"))
    stmts = []
    for i in range(n_stmt):
        drug = DRUGS[12 + i % 2]  # acetaminophen, hydrochlorothiazide
        stmts.append(medication_statement(f"ms-{i + 1}", drug, rng, date(rng, 2015, 2026),
                                          status="active" if i < 3 else "completed"))
    conds = [condition("cond-1", CONDITIONS[0], rng, "2026-10-01")][:n_cond]
    for i in range(1, n_cond):
        c = CONDITIONS[1 + (i - 1) % (len(CONDITIONS) - 1)]
        conds.append(condition(f"cond-{i + 1}", c, rng, date(rng, 1995, 2026), active=(i < 9 or i % 3 == 0)))
    obs = []
    for i in range(n_obs):
        lab = LABS[i % len(LABS)]
        # Magnesium results are all older than the 90-day look-back.
        when = date(rng, 2012, 2025) if lab[0] in ("19123-9", "2601-3") else date(rng, 2012, 2026)
        obs.append(observation(f"obs-{i + 1}", lab, rng, when))
    return {
        "hookInstance": "8d8d1a4e-3b7e-4a53-9a0f-bench%07d" % n,
        "hook": "patient-view",
        "fhirServer": BASE,
        "context": {"userId": "Practitioner/prac-118", "patientId": PATIENT_ID},
        "prefetch": {
            "patient": patient_resource(rng),
            "medications": bundle(reqs, "MedicationRequest", rng),
            "medicationStatements": bundle(stmts, "MedicationStatement", rng),
            "conditions": bundle(conds, "Condition", rng),
            "observations": bundle(obs, "Observation", rng),
        },
    }


def count_resources(request):
    n = 0
    for value in request["prefetch"].values():
        if value is None:
            continue
        n += len(value.get("entry", [])) if value.get("resourceType") == "Bundle" else 1
    return n


def cmd_patient(args):
    request = make_patient(args.resources, args.seed)
    assert count_resources(request) == args.resources, count_resources(request)
    with open(args.out, "w") as f:
        json.dump(request, f, indent=1 if args.pretty else None, ensure_ascii=False)
        f.write("\n")


def cmd_no_prefetch(args):
    with open(args.input) as f:
        request = json.load(f)
    request.pop("prefetch", None)
    request["fhirServer"] = args.fhir_server
    request["fhirAuthorization"] = {
        "access_token": "bench-token", "token_type": "Bearer", "expires_in": 3600,
        "scope": "patient/Patient.read patient/MedicationRequest.read patient/MedicationStatement.read "
                 "patient/Medication.read patient/Condition.read patient/Observation.read",
        "subject": "magcds-bench", "patient": request["context"]["patientId"],
    }
    with open(args.out, "w") as f:
        json.dump(request, f, indent=1)
        f.write("\n")


def cmd_rules(args):
    with open(os.path.join(args.src, "ruleset.json")) as f:
        rs = json.load(f)
    original = rs["rules"]
    ids = [r["id"] for r in original]

    def renamed(rule_id, k):
        return rule_id if k == 1 else f"{rule_id}-c{k:03d}"

    rules = []
    precedence = []
    for k in range(1, args.copies + 1):
        for rule in original:
            r = copy.deepcopy(rule)
            r["id"] = renamed(rule["id"], k)
            rules.append(r)
        for p in rs.get("precedence", []):
            q = copy.deepcopy(p)
            q["rule"] = renamed(p["rule"], k)
            q["replaces"] = [renamed(x, k) for x in p["replaces"]]
            precedence.append(q)
    assert all(x in ids for x in ids)
    rs["rules"] = rules
    rs["precedence"] = precedence
    rs["id"] = rs["id"] + f"-x{args.copies}"
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ruleset.json"), "w") as f:
        json.dump(rs, f, indent=1, ensure_ascii=False)
    # Value sets are shared unchanged (a file copy, so the set is self-contained).
    with open(os.path.join(args.src, "valuesets.json")) as f:
        vs = f.read()
    with open(os.path.join(args.out, "valuesets.json"), "w") as f:
        f.write(vs)


def cmd_population(args):
    os.makedirs(args.out, exist_ok=True)
    writers = {}

    def write(resource_type, line):
        state = writers.get(resource_type)
        if state is None or state[1] >= args.split:
            part = 0 if state is None else state[2] + 1
            if state is not None:
                state[0].close()
            name = os.path.join(args.out, f"{resource_type}.{part:03d}.ndjson")
            state = [open(name, "w", encoding="utf-8"), 0, part]
            writers[resource_type] = state
        state[0].write(line)
        state[1] += 1

    for k in range(args.patients):
        request = make_patient(20 + (k * 37) % 61, k)
        patient_id = f"bench-{k:05d}"
        for value in request["prefetch"].values():
            resources = [e["resource"] for e in value["entry"]] if value["resourceType"] == "Bundle" else [value]
            for resource in resources:
                line = json.dumps(resource, separators=(",", ":")).replace(PATIENT_ID, patient_id)
                write(resource["resourceType"], line + "\n")
    for state in writers.values():
        state[0].close()


SYNTHEA_KEYS = {"MedicationRequest": "medications", "MedicationStatement": "medicationStatements",
                "Condition": "conditions", "Observation": "observations"}


def cmd_synthea(args):
    os.makedirs(args.out, exist_ok=True)
    for name in sorted(os.listdir(args.bundles)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(args.bundles, name)) as f:
            record = json.load(f)
        resources = [e["resource"] for e in record.get("entry", []) if "resource" in e]
        patient = next(r for r in resources if r["resourceType"] == "Patient")
        by_key = {key: [] for key in SYNTHEA_KEYS.values()}
        other = []
        for r in resources:
            key = SYNTHEA_KEYS.get(r["resourceType"])
            if key is not None:
                by_key[key].append(r)
            elif r is not patient:
                other.append(r)
        prefetch = {"patient": patient}
        for key, items in by_key.items():
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(items),
                             "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in items]}
        prefetch["record"] = {"resourceType": "Bundle", "type": "collection",
                              "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in other]}
        request = {"hookInstance": "8d8d1a4e-3b7e-4a53-9a0f-%012d" % zlib.crc32(name.encode()),
                   "hook": "patient-view", "fhirServer": BASE,
                   "context": {"userId": "Practitioner/prac-118", "patientId": patient["id"]},
                   "prefetch": prefetch}
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(request, f, indent=2, ensure_ascii=False)  # pretty, as Synthea writes it


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("patient")
    a.add_argument("--resources", type=int, required=True)
    a.add_argument("--seed", type=int, default=30)
    a.add_argument("--pretty", action="store_true")
    a.add_argument("out")
    a.set_defaults(func=cmd_patient)
    b = sub.add_parser("no-prefetch")
    b.add_argument("--fhir-server", required=True)
    b.add_argument("input")
    b.add_argument("out")
    b.set_defaults(func=cmd_no_prefetch)
    c = sub.add_parser("rules")
    c.add_argument("--copies", type=int, required=True)
    c.add_argument("src")
    c.add_argument("out")
    c.set_defaults(func=cmd_rules)
    d = sub.add_parser("population")
    d.add_argument("--patients", type=int, required=True)
    d.add_argument("--split", type=int, default=100000)
    d.add_argument("out")
    d.set_defaults(func=cmd_population)
    e = sub.add_parser("synthea")
    e.add_argument("bundles")
    e.add_argument("out")
    e.set_defaults(func=cmd_synthea)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
