#pragma once

// Helpers shared by rule and card tests: load the shipped ruleset once, build
// PatientFacts from a FHIR Bundle text, evaluate and list fired rule ids.

#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "fhir/fhir_time.h"
#include "fhir/patient_facts.h"
#include "rules/engine.h"
#include "rules/ruleset.h"

namespace cds::rules {
// Printable in test failure messages.
inline std::ostream& operator<<(std::ostream& out, Truth truth) { return out << TruthName(truth); }
inline std::ostream& operator<<(std::ostream& out, Indicator indicator) {
  return out << IndicatorName(indicator);
}
}  // namespace cds::rules

namespace cds::test {

inline const std::string kShippedRules = std::string(CDS_RULES_DIR) + "/magnesium/1.0.0";

// The shipped ruleset (loaded once; a failure to load fails the calling test).
std::shared_ptr<const rules::RuleSet> ShippedRules();
// A shipped version of the magnesium ruleset, e.g. "1.1.0" (loaded once per version).
std::shared_ptr<const rules::RuleSet> RulesAt(const std::string& version);

// Facts from a Bundle (or single resource) JSON text; every category complete
// unless listed in `not_obtained` / `partial`.
fhir::PatientFacts FactsFromJson(const std::string& json, fhir::EpochSeconds as_of,
                                 const std::vector<fhir::FactCategory>& not_obtained = {},
                                 const std::vector<fhir::FactCategory>& partial = {});

fhir::EpochSeconds At(const std::string& iso);  // "2026-11-22T12:00:00Z" -> epoch

// Rule ids that fired.
std::set<std::string> Fired(const rules::RuleSet& rule_set, const rules::Evaluation& evaluation);
// The outcome of one rule by id.
const rules::RuleOutcome& OutcomeOf(const rules::RuleSet& rule_set,
                                    const rules::Evaluation& evaluation,
                                    const std::string& rule_id);

std::string ReadText(const std::string& path);

}  // namespace cds::test
