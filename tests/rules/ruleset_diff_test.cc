#include "rules/ruleset_diff.h"

#include <boost/test/unit_test.hpp>

#include "rules/loader.h"
#include "tests/support/rule_fixtures.h"
#include "tests/support/temp_ruleset.h"

namespace cds {
namespace {

std::shared_ptr<const rules::RuleSet> Load(const std::string& dir) {
  auto loaded = rules::LoadRuleSet(dir);
  if (!loaded) throw std::runtime_error(loaded.error().message);
  return *loaded;
}

BOOST_AUTO_TEST_SUITE(RuleSetDiff)

BOOST_AUTO_TEST_CASE(shipped_example_release_diff_lists_exactly_its_changes) {
  auto diff = rules::DiffRuleSets(
      *test::ShippedRules(),
      *Load(std::string(CDS_SOURCE_ROOT) + "/rules/examples/magnesium-site-1.1.0"));
  std::vector<std::string> want{
      "~ ruleset version 1.0.0 -> 1.1.0",
      "~ releaseDate 2026-11-22 -> 2026-12-01",
      "~ parameter recentMgDays: 90 -> 120",
      "~ value set ppi 1.0.0 -> 1.1.0; codes: +urn:oid:2.16.840.1.113883.3.999.1|LOC-4711",
      "~ rule MG-01 1.0.0 -> 1.1.0",
      "~ rule MG-02 1.0.0 -> 1.1.0",
      "~ rule MG-08 1.0.0 -> 1.1.0: changed enabled",
      "~ rule MG-13 1.0.0 -> 1.1.0",
  };
  BOOST_TEST(diff.lines == want, boost::test_tools::per_element());
  BOOST_TEST(diff.warnings.empty());
}

BOOST_AUTO_TEST_CASE(identical_sets_have_no_diff) {
  BOOST_TEST(rules::DiffRuleSets(*test::ShippedRules(), *test::ShippedRules()).empty());
}

// Issue #18: a rule's fields are compared by digest, not by their compact
// JSON. Layout is not a change; one byte deep inside a long string, a member
// order and a space inside a string are.
BOOST_AUTO_TEST_CASE(rule_fields_differ_by_content_not_by_layout) {
  auto lines_after = [](const std::string& from, const std::string& to) {
    test::TempRuleSet copy(test::kShippedRules);
    copy.Replace("ruleset.json", from, to);
    return rules::DiffRuleSets(*test::ShippedRules(), *Load(copy.dir())).lines;
  };
  using Lines = std::vector<std::string>;
  BOOST_TEST(lines_after(R"("indicator": {"default": "critical"},
      "card": {
        "summary": "Digoxin with low)",
                         R"("indicator":{  "default":"critical" } ,


      "card":{"summary":   "Digoxin with low)")
                 .empty());
  BOOST_TEST(lines_after("Check potassium, a digoxin level and an ECG.",
                         "Check potassium, a digoxin level and an ECH.") ==
             Lines{"~ rule MG-10 1.0.0 -> 1.0.0: changed card"});
  BOOST_TEST(lines_after(R"({"ref": "digoxin", "as": "digoxin"})",
                         R"({"as": "digoxin", "ref": "digoxin"})") ==
             Lines{"~ rule MG-10 1.0.0 -> 1.0.0: changed when"});
  BOOST_TEST(lines_after(R"("label": "FDA Drug Safety Communication, 2 Mar 2011 (digoxin))",
                         R"("label": "FDA Drug Safety Communication, 2 Mar 2011  (digoxin))") ==
             Lines{"~ rule MG-10 1.0.0 -> 1.0.0: changed source"});
}

BOOST_AUTO_TEST_CASE(changes_without_a_version_bump_are_warned_about) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", "Check potassium, a digoxin level and an ECG.",
               "Check potassium, a digoxin level, an ECG and renal function.");
  copy.Replace("valuesets.json", R"("text": [
            "omeprazol*",)",
               R"("text": [
            "omeprazol*", "omez",)");
  copy.Replace(
      "ruleset.json",
      R"("latestEgfr":           {"lab": {"analyte": "egfr", "withinDays": "currentLabDays"}},)",
      R"("latestEgfr":           {"lab": {"analyte": "egfr", "withinDays": 400}},)");
  auto diff = rules::DiffRuleSets(*test::ShippedRules(), *Load(copy.dir()));
  auto has = [&](const std::vector<std::string>& lines, const std::string& s) {
    return std::find(lines.begin(), lines.end(), s) != lines.end();
  };
  BOOST_TEST(has(diff.lines, "~ rule MG-10 1.0.0 -> 1.0.0: changed card"));
  BOOST_TEST(has(diff.lines, "~ definition latestEgfr changed"));
  BOOST_TEST(has(diff.lines, "~ value set ppi 1.0.0 -> 1.0.0; include text: +omez"));
  BOOST_TEST(has(diff.warnings, "rule MG-10 changed but its version is still 1.0.0"));
  BOOST_TEST(has(diff.warnings, "value set ppi changed but its version is still 1.0.0"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
