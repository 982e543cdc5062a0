// Runs every example case (per-rule fires / near-miss / unknown cases under
// tests/data/rule-cases and the examples shipped with the ruleset) against the
// shipped rules and checks the expected rule ids.

#include <boost/test/unit_test.hpp>

#include "cards/case_cards.h"
#include "rules/example_case.h"
#include "tests/support/rule_fixtures.h"

namespace cds {
namespace {

void RunAll(const std::string& dir, std::size_t minimum,
            const std::shared_ptr<const rules::RuleSet>& rs = test::ShippedRules()) {
  std::vector<std::string> files = rules::ListCaseFiles(dir);
  BOOST_TEST(files.size() >= minimum, dir << " holds " << files.size() << " cases");
  for (const std::string& file : files) {
    BOOST_TEST_CONTEXT(file) {
      auto loaded = rules::LoadExampleCase(file);
      BOOST_TEST_REQUIRE(loaded.has_value(), (loaded ? "" : loaded.error().message));
      rules::CaseResult result = rules::RunExampleCase(*rs, *loaded);
      cards::CheckCaseCards(*rs, *loaded, result);
      for (const auto& problem : result.problems) BOOST_ERROR(loaded->name << ": " << problem);
      BOOST_TEST(result.passed);
    }
  }
}

BOOST_AUTO_TEST_SUITE(RuleCases)

BOOST_AUTO_TEST_CASE(per_rule_cases_give_the_expected_rules) {
  RunAll(std::string(CDS_TEST_DATA_DIR) + "/rule-cases", 39);
}

BOOST_AUTO_TEST_CASE(shipped_examples_give_the_expected_rules) {
  RunAll(test::kShippedRules + "/examples", 3);
}

// Ruleset 1.1.0: the test points 1-55 of clinical-reference-1.1 (§9, §10).
BOOST_AUTO_TEST_CASE(revision_1_1_0_test_points_pass) {
  RunAll(std::string(CDS_TEST_DATA_DIR) + "/rule-cases-1.1.0", 40, test::RulesAt("1.1.0"));
}

// Real-shaped exports (Synthea): no card to a deceased patient, none to a migraine
// patient whose eGFR < 30 arrives in mL/min, MG-13 for per-cycle orders.
BOOST_AUTO_TEST_CASE(revision_1_1_0_synthea_patients_pass) {
  RunAll(std::string(CDS_TEST_DATA_DIR) + "/rule-cases-1.1.0-synthea", 5, test::RulesAt("1.1.0"));
}

BOOST_AUTO_TEST_CASE(revision_1_1_0_examples_pass) {
  RunAll(std::string(CDS_RULES_DIR) + "/magnesium/1.1.0/examples", 3, test::RulesAt("1.1.0"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
