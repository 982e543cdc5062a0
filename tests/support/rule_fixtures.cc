#include "tests/support/rule_fixtures.h"

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "common/json_document.h"
#include "fhir/normalize.h"
#include "rules/loader.h"

namespace cds::test {

std::shared_ptr<const rules::RuleSet> ShippedRules() {
  static std::shared_ptr<const rules::RuleSet> cached = [] {
    auto loaded = rules::LoadRuleSet(kShippedRules);
    if (!loaded) throw std::runtime_error("shipped rules do not load:\n" + loaded.error().message);
    return *loaded;
  }();
  return cached;
}

std::shared_ptr<const rules::RuleSet> RulesAt(const std::string& version) {
  static std::map<std::string, std::shared_ptr<const rules::RuleSet>> cache;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[version];
  if (!slot) {
    auto loaded = rules::LoadRuleSet(std::string(CDS_RULES_DIR) + "/magnesium/" + version);
    if (!loaded)
      throw std::runtime_error(version + " rules do not load:\n" + loaded.error().message);
    slot = *loaded;
  }
  return slot;
}

fhir::PatientFacts FactsFromJson(const std::string& json, fhir::EpochSeconds as_of,
                                 const std::vector<fhir::FactCategory>& not_obtained,
                                 const std::vector<fhir::FactCategory>& partial) {
  fhir::PatientFacts facts;
  for (auto& state : facts.categories) state.availability = fhir::Availability::kComplete;
  for (auto c : partial) facts.state(c).availability = fhir::Availability::kPartial;
  for (auto c : not_obtained) facts.state(c).availability = fhir::Availability::kNotObtained;
  auto doc = JsonDocument::Parse(json);
  if (!doc) throw std::runtime_error("fixture is not JSON: " + doc.error().message);
  std::vector<fhir::FhirInput> inputs;
  for (auto c : {fhir::FactCategory::kPatient, fhir::FactCategory::kMedications,
                 fhir::FactCategory::kConditions, fhir::FactCategory::kObservations}) {
    if (facts.state(c).obtained()) inputs.push_back({c, (*doc)->root()});
  }
  fhir::Normalize(inputs, as_of, fhir::NormalizeOptions{}, facts);
  return facts;
}

fhir::EpochSeconds At(const std::string& iso) {
  auto parsed = fhir::ParseFhirDateTime(iso);
  if (!parsed) throw std::runtime_error("bad date in test: " + iso);
  return parsed->seconds;
}

std::set<std::string> Fired(const rules::RuleSet& rule_set, const rules::Evaluation& evaluation) {
  std::set<std::string> ids;
  for (const auto& outcome : evaluation.outcomes) {
    if (outcome.fired) ids.insert(rule_set.rules[static_cast<std::size_t>(outcome.rule)].id);
  }
  return ids;
}

const rules::RuleOutcome& OutcomeOf(const rules::RuleSet& rule_set,
                                    const rules::Evaluation& evaluation,
                                    const std::string& rule_id) {
  int index = rule_set.FindRule(rule_id);
  if (index < 0) throw std::runtime_error("no rule " + rule_id);
  return evaluation.outcomes[static_cast<std::size_t>(index)];
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace cds::test
