#include <boost/test/unit_test.hpp>

#include "rules/loader.h"
#include "tests/support/rule_fixtures.h"

namespace cds {
namespace {

BOOST_AUTO_TEST_SUITE(ShippedRuleSet)

BOOST_AUTO_TEST_CASE(loads_without_errors) {
  rules::LoadReport report = rules::LoadRuleSetReport(test::kShippedRules);
  for (const auto& e : report.errors) BOOST_TEST_MESSAGE(e.ToString());
  for (const auto& w : report.warnings) BOOST_TEST_MESSAGE("warning: " + w);
  BOOST_TEST(report.errors.empty());
  BOOST_REQUIRE(report.rule_set != nullptr);
}

BOOST_AUTO_TEST_CASE(has_all_thirteen_rules_with_source_and_card) {
  auto rs = test::ShippedRules();
  for (int n = 1; n <= 13; ++n) {
    std::string id = (n < 10 ? "MG-0" : "MG-") + std::to_string(n);
    int index = rs->FindRule(id);
    BOOST_TEST_REQUIRE(index >= 0, "missing " << id);
    const rules::Rule& rule = rs->rules[static_cast<std::size_t>(index)];
    BOOST_TEST(!rule.version.empty());
    BOOST_TEST(!rule.source_label.empty());
    BOOST_TEST(rule.source_url.rfind("https://", 0) == 0);
    BOOST_TEST(!rule.evidence.empty());
    BOOST_TEST(!rule.summary.empty());
    BOOST_TEST(!rule.detail.empty());
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
