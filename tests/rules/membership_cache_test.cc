// Issue #18: value-set membership is remembered per thread across calls
// (rules/membership_cache.h). These tests check that a remembered answer is
// only ever reused for the same concept under the same value-set index.

#include "rules/membership_cache.h"

#include <span>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "rules/engine.h"
#include "rules/loader.h"
#include "tests/support/rule_fixtures.h"
#include "tests/support/temp_ruleset.h"

namespace cds {
namespace {

const fhir::EpochSeconds kNow = test::At("2026-11-22T12:00:00Z");

// A PPI order and muscle cramps, no magnesium result: MG-01 fires when the
// medication's concept is in the "ppi" set.
std::string Patient(const std::string& system, const std::string& code,
                    const std::string& display) {
  return R"({"resourceType":"Bundle","type":"collection","entry":[)"
         R"({"resource":{"resourceType":"MedicationRequest","id":"m1","status":"active",)"
         R"("intent":"order","authoredOn":"2022-01-10","medicationCodeableConcept":)"
         R"({"coding":[{"system":")" +
         system + R"(","code":")" + code + R"(","display":")" + display +
         R"("}]}}},)"
         R"({"resource":{"resourceType":"Condition","id":"c1","clinicalStatus":{"coding":)"
         R"([{"code":"active"}]},"verificationStatus":{"coding":[{"code":"confirmed"}]},)"
         R"("code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"R25.2"}]}}}]})";
}

bool Mg01Fires(const rules::RuleSet& rule_set, const std::string& bundle) {
  const fhir::PatientFacts facts = test::FactsFromJson(bundle, kNow);
  const rules::Evaluation evaluation = rules::Evaluate(rule_set, facts, kNow, {});
  return test::OutcomeOf(rule_set, evaluation, "MG-01").fired;
}

const std::string kRxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";

BOOST_AUTO_TEST_SUITE(MembershipCacheTests)

// A reload makes a new index: the same concept on the same thread is matched
// again against the new value sets, and the old set's answers stay its own.
BOOST_AUTO_TEST_CASE(a_changed_value_set_is_not_answered_from_the_cache) {
  const std::string omeprazole = Patient(kRxNorm, "7646", "omeprazole");
  const auto shipped = test::ShippedRules();
  test::TempRuleSet copy(test::kShippedRules);
  // Omeprazole is no longer a PPI in the copy: neither its code nor its name.
  copy.Replace("valuesets.json", R"("code": "7646",)", R"("code": "not-7646",)");
  copy.Replace("valuesets.json", R"("omeprazol*",)", R"("not-omeprazol*",)");
  auto edited = rules::LoadRuleSet(copy.dir());
  BOOST_TEST_REQUIRE(edited.has_value());
  BOOST_TEST((*edited)->value_set_index.id() != shipped->value_set_index.id());

  BOOST_TEST(Mg01Fires(*shipped, omeprazole));
  BOOST_TEST(Mg01Fires(*shipped, omeprazole));  // now from the cache
  BOOST_TEST(!Mg01Fires(**edited, omeprazole));
  BOOST_TEST(Mg01Fires(*shipped, omeprazole));
  BOOST_TEST(!Mg01Fires(**edited, omeprazole));
}

// Concepts that differ only in system or display are different entries.
BOOST_AUTO_TEST_CASE(concepts_differing_in_system_or_display_are_cached_apart) {
  const auto shipped = test::ShippedRules();
  const std::string local = "http://example.org/local-formulary";
  BOOST_TEST(Mg01Fires(*shipped, Patient(kRxNorm, "7646", "x")));  // by code
  BOOST_TEST(!Mg01Fires(*shipped, Patient(local, "7646", "x")));   // same code, other system
  BOOST_TEST(Mg01Fires(*shipped, Patient(local, "7646", "omeprazole 20 mg")));  // by name
  BOOST_TEST(!Mg01Fires(*shipped, Patient(local, "7646", "paracetamol 500 mg")));
  BOOST_TEST(Mg01Fires(*shipped, Patient(local, "7646", "omeprazole 20 mg")));
}

// At most kMaxEntries concepts per index; beyond that the entries are dropped
// and filled again, and what is found is still right.
BOOST_AUTO_TEST_CASE(entries_are_bounded_and_found_by_content) {
  rules::MembershipCache& cache = rules::MembershipCache::ForThisThread(~std::uint64_t{0});
  std::vector<fhir::CodeableConcept> concepts(rules::MembershipCache::kMaxEntries + 10);
  for (std::size_t i = 0; i < concepts.size(); ++i) {
    concepts[i].codings.push_back({"urn:test", std::to_string(i), ""});
    const fhir::CodeableConcept* one[] = {&concepts[i]};
    // Every entry under one hash: equality, not the hash, tells them apart.
    const std::uint8_t members[] = {static_cast<std::uint8_t>(i % 251)};
    cache.Insert(42, one, members);
    BOOST_TEST_REQUIRE(cache.size() <= rules::MembershipCache::kMaxEntries);
  }
  const fhir::CodeableConcept* last[] = {&concepts.back()};
  const auto found = cache.Find(42, last);
  BOOST_TEST_REQUIRE(found.has_value());
  BOOST_TEST_REQUIRE(found->size() == 1u);
  BOOST_TEST((*found)[0] == (concepts.size() - 1) % 251);
  const fhir::CodeableConcept* first[] = {&concepts.front()};
  BOOST_TEST(!cache.Find(42, first).has_value());  // dropped when the cache filled
  fhir::CodeableConcept other = concepts.back();
  other.codings[0].display = "different";
  const fhir::CodeableConcept* different[] = {&other};
  BOOST_TEST(!cache.Find(42, different).has_value());
}

// An entry is found only for the same list of concepts field by field: the
// same bytes split differently between fields, codings or concepts, a prefix
// or an extension of the list are other concepts (the key is one string).
BOOST_AUTO_TEST_CASE(an_entry_matches_only_the_same_concepts_field_by_field) {
  rules::MembershipCache& cache = rules::MembershipCache::ForThisThread(~std::uint64_t{0} - 1);
  using fhir::CodeableConcept;
  const CodeableConcept stored_a{{{"urn:s", "ab", "c"}}, "t"};
  const CodeableConcept stored_b{{}, "ingredient"};
  const CodeableConcept* stored[] = {&stored_a, &stored_b};
  const std::vector<std::uint8_t> members = {1, 0, 1};
  cache.Insert(7, stored, members);

  const CodeableConcept same_a = stored_a;
  const CodeableConcept same_b = stored_b;
  const CodeableConcept* same[] = {&same_a, &same_b};
  const auto found = cache.Find(7, same);
  BOOST_TEST_REQUIRE(found.has_value());
  BOOST_TEST(std::vector<std::uint8_t>(found->begin(), found->end()) == members);

  const CodeableConcept split{{{"urn:s", "a", "bc"}}, "t"};  // code/display boundary moved
  const CodeableConcept moved{{{"urn:s", "ab", "c"}}, ""};   // text moved into the next concept
  const CodeableConcept moved_b{{}, "tingredient"};
  const CodeableConcept two_codings{{{"urn:s", "ab", "c"}, {"", "", ""}}, "t"};
  const CodeableConcept* splits[] = {&split, &same_b};
  const CodeableConcept* moves[] = {&moved, &moved_b};
  const CodeableConcept* more_codings[] = {&two_codings, &same_b};
  const CodeableConcept* prefix[] = {&same_a};
  const CodeableConcept* longer[] = {&same_a, &same_b, &same_b};
  const CodeableConcept* swapped[] = {&same_b, &same_a};
  for (const auto& probe : {std::span<const CodeableConcept* const>(splits),
                            std::span<const CodeableConcept* const>(moves),
                            std::span<const CodeableConcept* const>(more_codings),
                            std::span<const CodeableConcept* const>(prefix),
                            std::span<const CodeableConcept* const>(longer),
                            std::span<const CodeableConcept* const>(swapped)}) {
    BOOST_TEST(!cache.Find(7, probe).has_value());
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
