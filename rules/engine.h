#pragma once

// The rule engine: a pure function of (ruleset, facts, now). It reads no clock,
// file or environment. Outcomes are values: a rule whose facts were not
// obtained is kUnknown, which is a result, not an error.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fhir/fhir_time.h"
#include "fhir/lab_results.h"
#include "fhir/patient_facts.h"
#include "rules/ruleset.h"

namespace cds::rules {

// Facts a predicate matched, offered to the card text under its `as` name.
struct Bound {
  std::vector<std::string> names;                   // medication / condition names, or rule titles
  std::optional<fhir::FhirInstant> earliest_start;  // medications with a known start
  std::optional<fhir::FhirInstant> latest_start;    // medications: the last order/start
  // medications: (reference, name) of each matched current MedicationRequest
  std::vector<std::pair<std::string, std::string>> requests;
  std::vector<std::string> statement_only;      // medications: names known only from statements
  std::vector<std::size_t> medication_indices;  // into PatientFacts::medications
  std::optional<fhir::LabValue> lab;            // lab: the latest usable result
  std::string analyte_unit;                     // lab: canonical unit
  bool matched() const { return !names.empty() || lab.has_value(); }
};

struct RuleOutcome {
  int rule = -1;                // index into RuleSet::rules
  Truth truth = Truth::kFalse;  // raw outcome of `when`
  bool fired = false;           // kTrue and not replaced by a rule that fired
  int replaced_by = -1;         // the rule that suppressed it, if any
  Indicator indicator = Indicator::kInfo;
  std::map<std::string, Bound> bound;  // only filled for rules that fired
  // For rules that fired: per suggestion, per action, whether its `when` holds.
  std::vector<std::vector<bool>> actions_shown;
  int summary_case = -1;  // index into Rule::summary_cases of the case shown, -1: summary
  // Per Rule::tables entry: "name: text" for each drug the table's binding matched.
  std::vector<std::vector<std::string>> table_lines;
  std::vector<std::string> explain;  // only with EvaluateOptions::explain
};

struct Evaluation {
  std::vector<RuleOutcome> outcomes;  // one per rule, in RuleSet::rules order
};

struct EvaluateOptions {
  // Record, per rule, each predicate's result and the facts that decided it
  // (including excluded records and why). Contains PHI-adjacent detail: for the
  // admin CLI only, never for production logs.
  bool explain = false;
  // The hook being answered: only rules listing it in Rule::hooks are
  // evaluated; the others are false ("not for this hook" in explain).
  std::string hook = "patient-view";
};

Evaluation Evaluate(const RuleSet& rule_set, const fhir::PatientFacts& facts,
                    fhir::EpochSeconds as_of, const EvaluateOptions& options = {});

}  // namespace cds::rules
