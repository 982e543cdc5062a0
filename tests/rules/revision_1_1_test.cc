// Ruleset 1.1.0 mechanisms as rule-file edits (acceptance 3 of issue 14) and
// range checks on rule-file numbers (acceptance 4).

#include <string>

#include <boost/test/unit_test.hpp>

#include "cards/id_source.h"
#include "cards/render.h"
#include "rules/engine.h"
#include "rules/loader.h"
#include "tests/support/rule_fixtures.h"
#include "tests/support/temp_ruleset.h"

namespace cds {
namespace {

const fhir::EpochSeconds kNow = test::At("2026-11-22T12:00:00Z");
const std::string kRevision = std::string(CDS_RULES_DIR) + "/magnesium/1.1.0";

bool Fired(const rules::RuleSet& rs, const fhir::PatientFacts& facts, const std::string& id) {
  return test::OutcomeOf(rs, rules::Evaluate(rs, facts, kNow), id).fired;
}

std::string DetailOf(const rules::RuleSet& rs, const fhir::PatientFacts& facts,
                     const std::string& id) {
  cards::SequentialIdSource ids;
  for (const cards::Card& c :
       cards::RenderCards(rs, rules::Evaluate(rs, facts, kNow), {"p", &ids, kNow})) {
    if (c.rule_id == id) return c.detail;
  }
  return "(no card)";
}

std::shared_ptr<const rules::RuleSet> LoadEdited(const test::TempRuleSet& copy) {
  auto edited = rules::LoadRuleSet(copy.dir());
  BOOST_TEST_REQUIRE(edited.has_value(), (edited ? "" : edited.error().message));
  return *edited;
}

std::string AllIssues(const std::string& dir) {
  std::string out;
  for (const auto& issue : rules::LoadRuleSetReport(dir).errors) out += issue.ToString() + "\n";
  return out;
}

BOOST_AUTO_TEST_SUITE(Revision110Edits)

BOOST_AUTO_TEST_CASE(band_threshold_is_a_rule_file_edit) {
  const std::string bundle = R"({"resourceType":"Bundle","type":"collection","entry":[
    {"resource":{"resourceType":"Observation","id":"m","status":"final",
     "code":{"coding":[{"system":"http://loinc.org","code":"19123-9"}]},
     "effectiveDateTime":"2026-11-01","valueQuantity":{"value":1.75,"unit":"mg/dL","code":"mg/dL"}}}]})";
  fhir::PatientFacts facts = test::FactsFromJson(bundle, kNow);
  BOOST_TEST(!Fired(*test::RulesAt("1.1.0"), facts, "MG-03"));
  test::TempRuleSet copy(kRevision);
  copy.Replace("ruleset.json", "\"mgdlLow\": {\n      \"value\": 1.7,",
               "\"mgdlLow\": {\n      \"value\": 1.8,");
  auto edited = LoadEdited(copy);
  BOOST_TEST(Fired(*edited, facts, "MG-03"));
  BOOST_TEST(DetailOf(*edited, facts, "MG-03").find("below 1.80 mg/dL") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(recent_exposure_window_is_a_rule_file_edit) {
  const std::string bundle = R"({"resourceType":"Bundle","type":"collection","entry":[
    {"resource":{"resourceType":"MedicationRequest","id":"cis","status":"stopped","intent":"order","authoredOn":"2026-06-01",
     "medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1736854","display":"cisplatin 50 MG Injection"}]}}}]})";
  fhir::PatientFacts facts = test::FactsFromJson(bundle, kNow);
  BOOST_TEST(!Fired(*test::RulesAt("1.1.0"), facts, "MG-13"));
  test::TempRuleSet copy(kRevision);
  copy.Replace("ruleset.json", "\"recentExposureDays\": {\n      \"value\": 90,",
               "\"recentExposureDays\": {\n      \"value\": 200,");
  BOOST_TEST(Fired(*LoadEdited(copy), facts, "MG-13"));
}

BOOST_AUTO_TEST_CASE(spacing_text_is_a_rule_file_edit) {
  const std::string bundle = R"({"resourceType":"Bundle","type":"collection","entry":[
    {"resource":{"resourceType":"MedicationRequest","id":"mg","status":"active","intent":"order","authoredOn":"2026-01-01",
     "medicationCodeableConcept":{"text":"magnesium oxide 400 MG Oral Tablet"}}},
    {"resource":{"resourceType":"MedicationRequest","id":"mx","status":"active","intent":"order","authoredOn":"2026-11-01",
     "medicationCodeableConcept":{"text":"moxifloxacin 400 MG Oral Tablet"}}}]})";
  fhir::PatientFacts facts = test::FactsFromJson(bundle, kNow);
  BOOST_TEST(DetailOf(*test::RulesAt("1.1.0"), facts, "MG-07")
                 .find("moxifloxacin 400 MG Oral Tablet: take moxifloxacin ≥ 4 h before") !=
             std::string::npos);
  test::TempRuleSet copy(kRevision);
  copy.Replace("ruleset.json",
               "take moxifloxacin ≥ 4 h before or 8 h after products containing magnesium",
               "site text: moxifloxacin 4 h before or 8 h after magnesium");
  BOOST_TEST(DetailOf(*LoadEdited(copy), facts, "MG-07").find("site text: moxifloxacin") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(RuleFileRanges)

BOOST_AUTO_TEST_CASE(huge_window_is_rejected_with_file_rule_and_field) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json",
               R"({"medication": {"valueSet": "mg-wasting-therapy"}, "as": "therapy"},
        {"ref": "noRecentMg"})",
               R"({"medication": {"valueSet": "mg-wasting-therapy"}, "as": "therapy"},
        {"noLab": {"analyte": "serum-magnesium", "withinDays": 1e300}})");
  const std::string issues = AllIssues(copy.dir());
  BOOST_TEST(issues.find("ruleset.json:") != std::string::npos, issues);
  BOOST_TEST(issues.find("rule MG-13") != std::string::npos, issues);
  BOOST_TEST(
      issues.find("noLab.withinDays: window of 1e+300 days is out of range") != std::string::npos,
      issues);
}

BOOST_AUTO_TEST_CASE(negative_and_over_a_century_windows_are_rejected) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", R"("recentMgDays":       {"value": 90,)",
               R"("recentMgDays":       {"value": -5,)");
  copy.Replace("ruleset.json", R"("ppiLongTermDays":    {"value": 365,)",
               R"("ppiLongTermDays":    {"value": 40000,)");
  const std::string issues = AllIssues(copy.dir());
  BOOST_TEST(issues.find("rule MG-01") != std::string::npos, issues);
  BOOST_TEST(issues.find("withinDays: window of -5 days is out of range") != std::string::npos,
             issues);
  BOOST_TEST(issues.find("minDays: window of 40000 days is out of range") != std::string::npos,
             issues);
}

BOOST_AUTO_TEST_CASE(non_finite_threshold_is_rejected) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", R"("mgHigh":             {"value": 1.05,)",
               R"("mgHigh":             {"value": 1e400,)");
  BOOST_TEST(!rules::LoadRuleSetReport(copy.dir()).errors.empty());
  test::TempRuleSet revision(kRevision);
  revision.Replace("ruleset.json", R"("below": "mgdlSevereLow")", R"("below": 1e999)");
  const std::string issues = AllIssues(revision.dir());
  BOOST_TEST(issues.find("ruleset.json:") != std::string::npos, issues);
}

BOOST_AUTO_TEST_CASE(band_of_an_ungraded_analyte_is_rejected) {
  test::TempRuleSet copy(kRevision);
  copy.Replace("ruleset.json", R"("below": "egfrAdvancedCkd",)", R"("band": ["low"],)");
  const std::string issues = AllIssues(copy.dir());
  BOOST_TEST(issues.find("the analyte has no grading bands") != std::string::npos, issues);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
