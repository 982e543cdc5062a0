#include "cards/render.h"

#include <rapidjson/document.h>

#include <chrono>
#include <set>
#include <string>

#include <boost/test/unit_test.hpp>

#include "rules/example_case.h"
#include "rules/text_template.h"
#include "tests/support/rule_fixtures.h"

namespace cds {
namespace {

const fhir::EpochSeconds kNow = test::At("2026-11-22T12:00:00Z");

std::vector<cards::Card> Render(const std::string& bundle, fhir::EpochSeconds now = kNow) {
  auto rs = test::ShippedRules();
  fhir::PatientFacts facts = test::FactsFromJson(bundle, now);
  cards::SequentialIdSource ids;
  return cards::RenderCards(*rs, rules::Evaluate(*rs, facts, now), {"pat-1", &ids, now});
}

const cards::Card* CardFor(const std::vector<cards::Card>& cards, const std::string& rule_id) {
  for (const auto& c : cards) {
    if (c.source.topic.code == rule_id) return &c;
  }
  return nullptr;
}

std::string Wrap(const std::string& entries) {
  return R"({"resourceType":"Bundle","type":"collection","entry":[)" + entries + "]}";
}

// Every family/given name of every Patient in a bundle.
std::vector<std::string> PatientNames(const rapidjson::Value& bundle) {
  std::vector<std::string> names;
  if (!bundle.HasMember("entry") || !bundle["entry"].IsArray()) return names;
  for (const auto& entry : bundle["entry"].GetArray()) {
    if (!entry.IsObject() || !entry.HasMember("resource")) continue;
    const auto& r = entry["resource"];
    if (!r.IsObject() || !r.HasMember("name") || !r["name"].IsArray()) continue;
    for (const auto& n : r["name"].GetArray()) {
      if (n.HasMember("family") && n["family"].IsString())
        names.emplace_back(n["family"].GetString());
      if (n.HasMember("given") && n["given"].IsArray()) {
        for (const auto& g : n["given"].GetArray()) {
          if (g.IsString()) names.emplace_back(g.GetString());
        }
      }
    }
  }
  return names;
}

BOOST_AUTO_TEST_SUITE(CardRendering)

BOOST_AUTO_TEST_CASE(every_fixture_card_is_short_sourced_named_and_ends_with_the_disclaimer) {
  auto rs = test::ShippedRules();
  std::size_t cards_checked = 0;
  for (const std::string& dir :
       {std::string(CDS_TEST_DATA_DIR) + "/rule-cases", test::kShippedRules + "/examples"}) {
    for (const std::string& file : rules::ListCaseFiles(dir)) {
      auto example = rules::LoadExampleCase(file);
      BOOST_TEST_REQUIRE(example.has_value());
      rapidjson::Document doc;
      doc.Parse(test::ReadText(file).c_str());
      std::vector<std::string> names = PatientNames(doc["bundle"]);
      fhir::PatientFacts facts = rules::FactsForCase(*example);
      cards::SequentialIdSource ids;
      auto cards = cards::RenderCards(*rs, rules::Evaluate(*rs, facts, example->now),
                                      {"p", &ids, example->now});
      for (const cards::Card& card : cards) {
        BOOST_TEST_CONTEXT(file << " " << card.source.topic.code) {
          ++cards_checked;
          BOOST_TEST(rules::CodePointCount(card.summary) < 140u);
          BOOST_TEST(card.summary.find("${") == std::string::npos);
          BOOST_TEST(card.detail.find("${") == std::string::npos);
          const std::string disclaimer = "Advisory only — clinical judgement applies.";
          BOOST_TEST(card.detail.size() >= disclaimer.size());
          BOOST_TEST(card.detail.compare(card.detail.size() - disclaimer.size(), disclaimer.size(),
                                         disclaimer) == 0);
          BOOST_TEST(!card.source.label.empty());
          BOOST_TEST(card.source.url.rfind("https://", 0) == 0);
          BOOST_TEST(card.rule_id == card.source.topic.code);
          BOOST_TEST(!card.rule_version.empty());
          BOOST_TEST(card.ruleset_version == rs->version);
          for (const std::string& name : names) {
            BOOST_TEST(card.summary.find(name) == std::string::npos,
                       "patient name '" << name << "' in summary");
            BOOST_TEST(card.detail.find(name) == std::string::npos,
                       "patient name '" << name << "' in detail");
          }
        }
      }
    }
  }
  BOOST_TEST(cards_checked >= 13u);
}

BOOST_AUTO_TEST_CASE(long_drug_names_are_cut_to_keep_the_summary_short) {
  const std::string long_name(150, 'x');
  auto cards = Render(Wrap(
      R"({"resource":{"resourceType":"MedicationStatement","id":"mg","status":"active","medicationCodeableConcept":{"text":"magnesium citrate 100 mg"}}},)"
      R"({"resource":{"resourceType":"MedicationRequest","id":"d","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"3640"}],"text":"doxycycline )" +
      long_name + R"("}}})"));
  const cards::Card* card = CardFor(cards, "MG-07");
  BOOST_TEST_REQUIRE(card != nullptr);
  BOOST_TEST(rules::CodePointCount(card->summary) < 140u);
  BOOST_TEST(card->summary.find("\u2026") != std::string::npos);
  BOOST_TEST(card->detail.find(long_name) != std::string::npos);  // detail keeps the full name
  BOOST_TEST(card->indicator == rules::Indicator::kWarning);
}

BOOST_AUTO_TEST_CASE(suggestion_actions_follow_their_conditions) {
  const std::string diuretic_and_cramp =
      R"({"resource":{"resourceType":"MedicationRequest","id":"f","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"4603"}],"text":"furosemide 40 mg"}}},)"
      R"({"resource":{"resourceType":"Condition","id":"c","clinicalStatus":{"coding":[{"code":"active"}]},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"R25.2"}]}}})";
  auto both = Render(Wrap(diuretic_and_cramp));
  const cards::Card* card = CardFor(both, "MG-02");
  BOOST_TEST_REQUIRE(card != nullptr);
  BOOST_TEST_REQUIRE(card->suggestions.size() == 1u);
  BOOST_TEST(card->suggestions[0].actions.size() == 2u);  // magnesium and potassium
  BOOST_TEST(card->selection_behavior == "at-most-one");
  BOOST_TEST(card->suggestions[0].actions[0].resource_json.find(R"("reference":"Patient/pat-1")") !=
             std::string::npos);

  auto with_k = Render(Wrap(
      diuretic_and_cramp +
      R"(,{"resource":{"resourceType":"Observation","id":"k","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},"effectiveDateTime":"2026-11-01","valueQuantity":{"value":4.1,"unit":"mmol/L","code":"mmol/L"}}})"));
  card = CardFor(with_k, "MG-02");
  BOOST_TEST_REQUIRE(card != nullptr);
  BOOST_TEST(card->suggestions[0].actions.size() == 1u);  // potassium is recent: magnesium only
}

BOOST_AUTO_TEST_CASE(
    cards_without_suggestions_have_no_selection_behavior_and_come_most_urgent_first) {
  auto cards = Render(Wrap(
      R"({"resource":{"resourceType":"Observation","id":"m","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"19123-9"}]},"effectiveDateTime":"2026-11-01","valueQuantity":{"value":1.1,"unit":"mg/dL","code":"mg/dL"}}},)"
      R"({"resource":{"resourceType":"Condition","id":"mig","clinicalStatus":{"coding":[{"code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"37796009"}]}}})"));
  const cards::Card* low = CardFor(cards, "MG-03");
  BOOST_TEST_REQUIRE(low != nullptr);
  BOOST_TEST(low->indicator == rules::Indicator::kCritical);
  BOOST_TEST(low->summary == "Serum magnesium low: 1.1 mg/dL (0.45 mmol/L) on 2026-11-01");
  BOOST_TEST(low->suggestions.empty());
  BOOST_TEST(low->selection_behavior.empty());
  BOOST_TEST_REQUIRE(cards.size() >= 2u);
  BOOST_TEST(cards.front().source.topic.code == "MG-03");
  for (std::size_t i = 1; i < cards.size(); ++i)
    BOOST_TEST(cards[i - 1].indicator >= cards[i].indicator);
}

// Version 7 (RFC 9562): the first 48 bits are the Unix time in milliseconds,
// and ids never go backwards, even past 4,096 ids in one millisecond.
BOOST_AUTO_TEST_CASE(uuids_are_unique_time_ordered_version_7) {
  cards::RandomIdSource ids;
  const auto ms_now = [] {
    return static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  };
  const unsigned long long before = ms_now();
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 20000; ++i) {
    std::string id = ids.NewUuid();
    BOOST_TEST_REQUIRE(id.size() == 36u);
    BOOST_TEST(id[8] == '-');
    BOOST_TEST(id[14] == '7');
    BOOST_TEST(std::string("89ab").find(id[19]) != std::string::npos);
    BOOST_TEST(seen.insert(id).second);
    BOOST_TEST(id > previous);
    previous = id;
  }
  const unsigned long long first =
      std::stoull(seen.begin()->substr(0, 8) + seen.begin()->substr(9, 4), nullptr, 16);
  BOOST_TEST(first >= before);
  BOOST_TEST(first <= ms_now());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
