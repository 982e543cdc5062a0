#include <boost/test/unit_test.hpp>

#include "rules/ruleset.h"
#include "tests/support/rule_fixtures.h"

namespace cds {
namespace {

using fhir::CodeableConcept;
using fhir::Coding;

bool In(const std::string& set_id, const CodeableConcept& c) {
  auto rs = test::ShippedRules();
  for (std::size_t i = 0; i < rs->value_sets.size(); ++i) {
    if (rs->value_sets[i].id == set_id) {
      return rules::Matches(rs->value_sets, static_cast<int>(i), rules::MakeConceptView({&c}));
    }
  }
  throw std::runtime_error("no value set " + set_id);
}

CodeableConcept Code(std::string_view system, const std::string& code) {
  return CodeableConcept{{Coding{std::string(system), code, ""}}, ""};
}
CodeableConcept Text(const std::string& text) { return CodeableConcept{{}, text}; }

BOOST_AUTO_TEST_SUITE(ValueSetMatching)

BOOST_AUTO_TEST_CASE(tokenize_lowercases_and_splits_on_punctuation) {
  std::vector<std::string> want{"mag", "ox", "400"};
  BOOST_TEST(rules::Tokenize("Mag-Ox 400") == want);
}

BOOST_AUTO_TEST_CASE(rxnorm_ingredient_and_scd_codes_match_exactly) {
  BOOST_TEST(In("ppi", Code(rules::kRxNormSystem, "7646")));
  BOOST_TEST(In("ppi", Code(rules::kRxNormSystem, "198051")));
  BOOST_TEST(!In("ppi", Code(rules::kRxNormSystem, "76460")));
  BOOST_TEST(!In("ppi", Code(rules::kSnomedSystem, "7646")));  // same code, other system
}

BOOST_AUTO_TEST_CASE(atc_prefix_matches_descendants_only) {
  BOOST_TEST(In("ppi", Code(rules::kAtcSystem, "A02BC02")));
  BOOST_TEST(In("ppi", Code(rules::kAtcSystem, "a02bc05")));   // case-insensitive
  BOOST_TEST(!In("ppi", Code(rules::kAtcSystem, "A02BA02")));  // H2 blocker, sibling group
  BOOST_TEST(!In("ppi", Code(rules::kAtcSystem, "A02BC08")));  // vonoprazan: excluded P-CAB
}

BOOST_AUTO_TEST_CASE(icd_prefix_is_hierarchy_aware) {
  BOOST_TEST(In("migraine", Code(rules::kIcd10CmSystem, "G43.909")));
  BOOST_TEST(In("migraine", Code(rules::kIcd10CmSystem, "G43909")));  // sent without the dot
  BOOST_TEST(In("migraine", Code(rules::kIcd10CmSystem, "G43")));
  BOOST_TEST(!In("migraine", Code(rules::kIcd10CmSystem, "G44.209")));
  BOOST_TEST(!In("migraine", Code(rules::kIcd10CmSystem, "G4")));
}

BOOST_AUTO_TEST_CASE(text_patterns_match_whole_tokens) {
  BOOST_TEST(In("ppi", Text("Omeprazole 20 mg capsule")));
  BOOST_TEST(In("ppi", Text("Pantoprazol 40 mg magensaftresistente Tabletten")));  // German
  BOOST_TEST(In("magnesium-products", Text("Mag-Ox 400")));
  BOOST_TEST(In("magnesium-products", Text("Milk of Magnesia")));
  BOOST_TEST(In("magnesium-products", Text("magnesium glycinate 200 mg")));
  BOOST_TEST(In("magnesium-products", Text("Magnesiumoxid 300 mg")));
  BOOST_TEST(!In("magnesium-products", Text("Mangan 5 mg")));
}

BOOST_AUTO_TEST_CASE(ppi_magnesium_salt_is_a_ppi_not_a_magnesium_product) {
  CodeableConcept nexium = Text("esomeprazole magnesium 40 MG Delayed Release Oral Capsule");
  BOOST_TEST(In("ppi", nexium));
  BOOST_TEST(!In("magnesium-products", nexium));
  BOOST_TEST(!In("magnesium-products", Text("magnesium stearate")));
}

BOOST_AUTO_TEST_CASE(union_sets_keep_their_members_exclusions) {
  // depletion-risk-drugs includes ppi; ppi excludes P-CABs, so the union does too.
  BOOST_TEST(In("depletion-risk-drugs", Code(rules::kAtcSystem, "A02BC01")));
  BOOST_TEST(!In("depletion-risk-drugs", Code(rules::kAtcSystem, "A02BC08")));
  BOOST_TEST(In("depletion-risk-drugs", Text("furosemide 40 mg tablet")));
}

BOOST_AUTO_TEST_CASE(unverified_codes_are_listed_but_not_matched) {
  auto rs = test::ShippedRules();
  std::size_t unverified = 0;
  for (const auto& vs : rs->value_sets) {
    for (const auto& key : vs.unverified_codes) {
      ++unverified;
      BOOST_TEST(vs.include.exact.count(key) == 0u);
      BOOST_TEST(vs.include.prefixes.count(key) == 0u);
    }
  }
  BOOST_TEST(unverified > 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
