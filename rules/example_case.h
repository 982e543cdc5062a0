#pragma once

// Example patients that prove a ruleset: each case is a FHIR Bundle, a fixed
// "now", the fact categories to treat as not obtained or partial, and the rule
// ids expected to fire and not to fire (optionally with their indicators).
// Run by `magcds rules test` and by the test suite.
//
// Case file (JSON):
//   {"name": "...", "now": "2026-11-22T12:00:00Z",
//    "notObtained": ["observations"], "partial": [],
//    "expect": {"fires": ["MG-01"], "notFires": ["MG-05"], "indicators": {"MG-01": "warning"}},
//    "bundle": {"resourceType": "Bundle", ...}}
// Order-hook cases (issue #15) add the hook and its context:
//    "hook": "order-select", "context": {"draftOrders": {Bundle}, "selections":
//    ["MedicationRequest/1"]}

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/json_document.h"
#include "common/result.h"
#include "fhir/fhir_time.h"
#include "fhir/patient_facts.h"
#include "rules/engine.h"
#include "rules/ruleset.h"

namespace cds::rules {

struct ExampleCase {
  std::string file;
  std::string name;
  fhir::EpochSeconds now = 0;
  std::vector<fhir::FactCategory> not_obtained;
  std::vector<fhir::FactCategory> partial;
  std::set<std::string> fires;
  std::set<std::string> not_fires;
  std::map<std::string, std::string> indicators;
  // Ruleset 1.1.0 test points also check what the cards and explain mode say.
  // Keys are rule ids; texts are substrings. "noCards": no rule fires at all.
  bool no_cards = false;
  std::map<std::string, std::vector<std::string>> summary_contains;
  std::map<std::string, std::vector<std::string>> detail_contains;
  std::map<std::string, std::vector<std::string>> detail_lacks;
  std::map<std::string, std::vector<std::string>> action_contains;  // "type description resource"
  std::map<std::string, std::vector<std::string>> explain_contains;
  bool checks_cards() const {
    return !summary_contains.empty() || !detail_contains.empty() || !detail_lacks.empty() ||
           !action_contains.empty();
  }
  std::string hook = "patient-view";
  JsonRef draft_orders;         // context.draftOrders (order hooks), else invalid
  bool has_selections = false;  // order-select: only these drafts are proposed
  std::vector<std::string> selections;
  std::shared_ptr<const JsonDocument> document;  // owns the bundle
  JsonRef bundle;
};

Result<ExampleCase> LoadExampleCase(const std::string& path);
// Every *.json file of a directory, sorted by name.
std::vector<std::string> ListCaseFiles(const std::string& directory);

// Facts for a case: every category complete, except those the case lists.
fhir::PatientFacts FactsForCase(const ExampleCase& example_case);

struct CaseResult {
  bool passed = false;
  Evaluation evaluation;  // for card checks (cards/case_cards.h)
  std::set<std::string> fired;
  std::vector<std::string> problems;  // "expected MG-01 to fire; it did not (false)"
};

CaseResult RunExampleCase(const RuleSet& rule_set, const ExampleCase& example_case);

}  // namespace cds::rules
