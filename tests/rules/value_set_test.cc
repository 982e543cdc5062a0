#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "rules/ruleset.h"
#include "tests/support/rule_fixtures.h"

namespace cds {
namespace {

using fhir::CodeableConcept;
using fhir::Coding;
namespace tt = boost::test_tools;

// Asks both matchers: rules::Matches (one set) and the loader's index (all
// sets at once, what the engine uses); they must agree.
bool In(const std::string& set_id, const CodeableConcept& c) {
  auto rs = test::ShippedRules();
  for (std::size_t i = 0; i < rs->value_sets.size(); ++i) {
    if (rs->value_sets[i].id == set_id) {
      const rules::ConceptView view = rules::MakeConceptView({&c});
      const bool in = rules::Matches(rs->value_sets, static_cast<int>(i), view);
      std::vector<std::uint8_t> members;
      rs->value_set_index.Members(view, members);
      BOOST_TEST(members.at(i) == (in ? 1 : 0));
      return in;
    }
  }
  throw std::runtime_error("no value set " + set_id);
}

CodeableConcept Code(std::string_view system, const std::string& code) {
  return CodeableConcept{{Coding{std::string(system), code, ""}}, ""};
}
CodeableConcept Text(const std::string& text) { return CodeableConcept{{}, text}; }

// Concepts that hit every code, prefix (with and without a 7th character)
// and text pattern of a rule set, plus near misses.
std::vector<CodeableConcept> ProbeConcepts(const rules::RuleSet& rs) {
  std::vector<CodeableConcept> out;
  for (const rules::ValueSet& set : rs.value_sets) {
    for (const std::string& key : set.listed_codes) {
      const std::size_t bar = key.find('|');
      const std::string system = key.substr(0, bar);
      const std::string code = key.substr(bar + 1);
      for (const std::string& variant : {code, code + "1", code + "1A", code + "XXA", code + "XXD",
                                         code.substr(0, code.size() - 1)}) {
        out.push_back(Code(system, variant));
      }
    }
    for (const auto* matcher : {&set.include, &set.exclude}) {
      for (const rules::TextPattern& pattern : matcher->text) {
        std::string text;
        for (const std::string& token : pattern.tokens) text += token + " ";
        out.push_back(Text("oral " + text + "tablet"));
        out.push_back(Text(text + "xyz"));
        if (pattern.last_is_prefix) out.push_back(Text(text.substr(0, text.size() - 2)));
      }
    }
  }
  // A concept with several codings and a display: the ingredient/product mix
  // the engine sees for medications.
  out.push_back(CodeableConcept{{Coding{std::string(rules::kRxNormSystem), "7646", "omeprazole"},
                                 Coding{std::string(rules::kAtcSystem), "c03ca01", "furosemide"}},
                                "Omeprazole 20 MG Delayed Release Oral Capsule"});
  return out;
}

BOOST_AUTO_TEST_SUITE(ValueSetMatching)

BOOST_AUTO_TEST_CASE(tokenize_lowercases_and_splits_on_punctuation) {
  std::vector<std::string> want{"mag", "ox", "400"};
  BOOST_TEST(rules::Tokenize("Mag-Ox 400") == want);
}

BOOST_AUTO_TEST_CASE(tokenize_edges_and_utf8_bytes) {
  using Tokens = std::vector<std::string>;
  BOOST_TEST(rules::Tokenize("") == Tokens{});
  BOOST_TEST(rules::Tokenize(" -/ ") == Tokens{});
  BOOST_TEST(rules::Tokenize("X") == Tokens{"x"});
  BOOST_TEST(rules::Tokenize("  (ZZ9)top,") == (Tokens{"zz9", "top"}));
  // UTF-8 bytes stay inside a token unchanged; only ASCII letters are folded.
  BOOST_TEST(rules::Tokenize("Magnesium-Präparat \xC3\x84RZTE") ==
             (Tokens{"magnesium", "pr\xC3\xA4parat", "\xC3\x84rzte"}));
}

BOOST_AUTO_TEST_CASE(rxnorm_ingredient_and_scd_codes_match_exactly) {
  BOOST_TEST(In("ppi", Code(rules::kRxNormSystem, "7646")));
  BOOST_TEST(In("ppi", Code(rules::kRxNormSystem, "198051")));
  BOOST_TEST(!In("ppi", Code(rules::kRxNormSystem, "76460")));
  BOOST_TEST(!In("ppi", Code(rules::kSnomedSystem, "7646")));  // same code, other system
}

BOOST_AUTO_TEST_CASE(atc_prefix_matches_descendants_only) {
  BOOST_TEST(In("ppi", Code(rules::kAtcSystem, "A02BC02")));
  BOOST_TEST(In("ppi", Code(rules::kAtcSystem, "a02bc05")));         // case-insensitive
  BOOST_TEST(In("ppi", Code(rules::kAtcSystem, " A02BC05\t\r\n")));  // spaces dropped
  BOOST_TEST(!In("ppi", Code(rules::kAtcSystem, "A02BA02")));        // H2 blocker, sibling group
  BOOST_TEST(!In("ppi", Code(rules::kAtcSystem, "A02BC08")));        // vonoprazan: excluded P-CAB
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

// The engine answers membership from the load-time index; rules::Matches is
// the per-set definition. Both rule set versions, every set, every probe.
BOOST_AUTO_TEST_CASE(index_gives_the_same_membership_as_matching_each_set) {
  for (const auto& rs : {test::RulesAt("1.0.0"), test::RulesAt("1.1.0")}) {
    BOOST_TEST_REQUIRE(rs->value_set_index.set_count() == rs->value_sets.size());
    std::size_t members_seen = 0;
    for (const CodeableConcept& c : ProbeConcepts(*rs)) {
      const rules::ConceptView view = rules::MakeConceptView({&c});
      std::vector<std::uint8_t> members;
      rs->value_set_index.Members(view, members);
      BOOST_TEST_REQUIRE(members.size() == rs->value_sets.size());
      for (std::size_t i = 0; i < rs->value_sets.size(); ++i) {
        const bool in = rules::Matches(rs->value_sets, static_cast<int>(i), view);
        members_seen += in ? 1 : 0;
        BOOST_TEST(
            (members[i] != 0) == in,
            rs->version << " set " << rs->value_sets[i].id << ", concept "
                        << (c.codings.empty() ? c.text
                                              : c.codings[0].system + "|" + c.codings[0].code));
      }
    }
    BOOST_TEST(members_seen > 100u);  // the probes do reach the sets
  }
}

// A view's keys and tokens live in one buffer it owns (issue #18): normalised
// as before, in order, and still valid after the view is moved (the sanitizer
// runs would report a dangling view).
BOOST_AUTO_TEST_CASE(concept_view_keys_and_tokens_survive_a_move) {
  const CodeableConcept ppi{{Coding{std::string(rules::kIcd10CmSystem), " k21.9 ", "GERD, Reflux"},
                             Coding{std::string(rules::kAtcSystem), "a02bc01", ""}},
                            "Omeprazole-20 MG"};
  rules::ConceptView view = rules::MakeConceptView({&ppi, nullptr, &ppi});
  const rules::ConceptView moved = std::move(view);
  BOOST_TEST_REQUIRE(moved.code_keys.size() == 4u);
  BOOST_TEST(moved.code_keys[0] == std::string(rules::kIcd10CmSystem) + "|K219");
  BOOST_TEST(moved.code_keys[1] == std::string(rules::kAtcSystem) + "|A02BC01");
  BOOST_TEST(moved.code_system_lengths[0] == rules::kIcd10CmSystem.size());
  BOOST_TEST_REQUIRE(moved.token_lists.size() == 4u);  // text, display, text, display
  const std::vector<std::string_view> text(moved.token_lists[0].begin(),
                                           moved.token_lists[0].end());
  const std::vector<std::string_view> display(moved.token_lists[1].begin(),
                                              moved.token_lists[1].end());
  BOOST_TEST(text == (std::vector<std::string_view>{"omeprazole", "20", "mg"}));
  BOOST_TEST(display == (std::vector<std::string_view>{"gerd", "reflux"}));
  auto rs = test::ShippedRules();
  for (std::size_t i = 0; i < rs->value_sets.size(); ++i) {
    const rules::ConceptView fresh = rules::MakeConceptView({&ppi});
    BOOST_TEST(rules::Matches(rs->value_sets, static_cast<int>(i), moved) ==
               rules::Matches(rs->value_sets, static_cast<int>(i), fresh));
  }
  BOOST_TEST(In("ppi", ppi));
}

// One view refilled for concept after concept (what the engine does for each
// concept not found in its cache) holds what a fresh view of each holds: the
// buffers grow when a longer concept comes, and nothing of the one before is
// left over (the sanitizer runs would report a write past the buffer).
BOOST_AUTO_TEST_CASE(a_refilled_concept_view_equals_a_fresh_one) {
  const CodeableConcept small{{Coding{std::string(rules::kRxNormSystem), "7646", ""}}, "PPI"};
  const CodeableConcept large{
      {Coding{std::string(rules::kIcd10CmSystem), " k21.9 ", "Gastro-esophageal reflux disease"},
       Coding{std::string(rules::kAtcSystem), "a02bc01", "omeprazole"},
       Coding{std::string(rules::kSnomedSystem), "235595009", ""}},
      std::string(300, 'x') + " omeprazole 20 mg delayed release oral capsule " +
          std::string(200, 'y')};
  const CodeableConcept empty{};
  const auto words = [](std::span<const std::string_view> list) {
    return std::vector<std::string>(list.begin(), list.end());
  };
  rules::ConceptView view;
  for (const std::vector<const CodeableConcept*>& concepts :
       std::vector<std::vector<const CodeableConcept*>>{{&small},
                                                        {&large, &small},
                                                        {&small},
                                                        {&empty},
                                                        {&large, &large, nullptr, &large},
                                                        {&small, &empty}}) {
    rules::FillConceptView(concepts, view);
    const rules::ConceptView fresh = rules::MakeConceptView(concepts);
    BOOST_TEST(std::vector<std::string>(view.code_keys.begin(), view.code_keys.end()) ==
                   std::vector<std::string>(fresh.code_keys.begin(), fresh.code_keys.end()),
               tt::per_element());
    BOOST_TEST(view.code_system_lengths == fresh.code_system_lengths, tt::per_element());
    BOOST_TEST_REQUIRE(view.token_lists.size() == fresh.token_lists.size());
    for (std::size_t i = 0; i < view.token_lists.size(); ++i) {
      BOOST_TEST(words(view.token_lists[i]) == words(fresh.token_lists[i]), tt::per_element());
    }
  }
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
