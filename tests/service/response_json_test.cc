#include "service/http/response_json.h"

#include <rapidjson/document.h>

#include <string>

#include <boost/test/unit_test.hpp>

namespace cds::service {
namespace {

rapidjson::Document ParseOrFail(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str());
  BOOST_REQUIRE_MESSAGE(!document.HasParseError(), "not JSON: " << text);
  return document;
}

// Checklist J-2/J-3, RT-6: no null, no empty string, array or object, anywhere
// except the top-level "cards" array itself.
void ExpectNoEmpties(const rapidjson::Value& value, const std::string& path) {
  BOOST_TEST(!value.IsNull(), path << " is null");
  if (value.IsString()) BOOST_TEST(value.GetStringLength() > 0u, path << " is an empty string");
  if (value.IsArray()) {
    BOOST_TEST(!value.Empty(), path << " is an empty array");
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      ExpectNoEmpties(value[i], path + "[" + std::to_string(i) + "]");
    }
  }
  if (value.IsObject()) {
    BOOST_TEST(!value.ObjectEmpty(), path << " is an empty object");
    for (const auto& member : value.GetObject()) {
      ExpectNoEmpties(member.value, path + "." + member.name.GetString());
    }
  }
}

cards::Card MinimalCard() {
  cards::Card card;
  card.uuid = "00000000-0000-4000-8000-000000000001";
  card.summary = "Consider checking serum magnesium";
  card.indicator = rules::Indicator::kInfo;
  card.source.label = "magcds";
  return card;
}

cards::Card FullCard() {
  cards::Card card = MinimalCard();
  card.detail = "Long-term **PPI** use.";
  card.indicator = rules::Indicator::kWarning;
  card.source.url = "https://example.org/guidance";
  card.source.topic = {"urn:magcds:rule", "MG-01", "PPI and magnesium"};
  cards::Suggestion suggestion;
  suggestion.label = "Order serum magnesium";
  suggestion.uuid = "00000000-0000-4000-8000-000000000002";
  suggestion.is_recommended = true;
  suggestion.actions.push_back(
      {"create", "Order serum magnesium",
       R"({"resourceType":"ServiceRequest","status":"draft","subject":{"reference":"Patient/p1"}})",
       ""});
  card.suggestions.push_back(suggestion);
  card.selection_behavior = "at-most-one";
  card.rule_id = "MG-01";
  card.rule_version = "1.0.0";
  card.ruleset_id = "magnesium";
  card.ruleset_version = "1.0.0";
  return card;
}

BOOST_AUTO_TEST_SUITE(ResponseJson)

BOOST_AUTO_TEST_CASE(no_cards_is_an_empty_cards_array) {
  BOOST_TEST(WriteCardsResponse({}) == R"({"cards":[]})");
}

BOOST_AUTO_TEST_CASE(minimal_card_leaves_out_every_empty_optional_member) {
  const rapidjson::Document doc = ParseOrFail(WriteCardsResponse({MinimalCard()}));
  const rapidjson::Value& card = doc["cards"][0];
  ExpectNoEmpties(card, "cards[0]");
  BOOST_TEST(!card.HasMember("detail"));
  BOOST_TEST(!card.HasMember("suggestions"));
  BOOST_TEST(!card.HasMember("selectionBehavior"));
  BOOST_TEST(!card.HasMember("extension"));
  BOOST_TEST(!card["source"].HasMember("url"));
  BOOST_TEST(!card["source"].HasMember("topic"));
  BOOST_TEST(card["indicator"].GetString() == std::string("info"));
  BOOST_TEST(card["source"]["label"].GetString() == std::string("magcds"));
}

BOOST_AUTO_TEST_CASE(full_card_has_source_topic_suggestion_and_provenance) {
  const rapidjson::Document doc = ParseOrFail(WriteCardsResponse({FullCard()}));
  const rapidjson::Value& card = doc["cards"][0];
  ExpectNoEmpties(card, "cards[0]");
  BOOST_TEST(card["uuid"].GetString() == std::string("00000000-0000-4000-8000-000000000001"));
  BOOST_TEST(card["indicator"].GetString() == std::string("warning"));
  BOOST_TEST(card["detail"].GetString() == std::string("Long-term **PPI** use."));
  BOOST_TEST(card["source"]["url"].GetString() == std::string("https://example.org/guidance"));
  BOOST_TEST(card["source"]["topic"]["code"].GetString() == std::string("MG-01"));
  BOOST_TEST(card["source"]["topic"]["system"].GetString() == std::string("urn:magcds:rule"));
  BOOST_TEST(card["selectionBehavior"].GetString() == std::string("at-most-one"));
  const rapidjson::Value& suggestion = card["suggestions"][0];
  BOOST_TEST(suggestion["isRecommended"].GetBool());
  const rapidjson::Value& action = suggestion["actions"][0];
  BOOST_TEST(action["type"].GetString() == std::string("create"));
  BOOST_REQUIRE(action["resource"].IsObject());  // embedded as JSON, not as a string
  BOOST_TEST(action["resource"]["resourceType"].GetString() == std::string("ServiceRequest"));
  const rapidjson::Value& provenance = card["extension"]["org.magcds.provenance"];
  BOOST_TEST(provenance["rule"].GetString() == std::string("MG-01@1.0.0"));
  BOOST_TEST(provenance["ruleset"].GetString() == std::string("magnesium@1.0.0"));
}

BOOST_AUTO_TEST_CASE(selection_behavior_appears_iff_suggestions_do) {
  cards::Card with = FullCard();
  with.selection_behavior.clear();  // a renderer slip still yields a valid card
  cards::Card without = FullCard();
  without.suggestions.clear();
  without.selection_behavior = "at-most-one";
  const rapidjson::Document doc = ParseOrFail(WriteCardsResponse({with, without}));
  BOOST_TEST(doc["cards"][0].HasMember("suggestions"));
  BOOST_TEST(doc["cards"][0]["selectionBehavior"].GetString() == std::string("at-most-one"));
  BOOST_TEST(!doc["cards"][1].HasMember("suggestions"));
  BOOST_TEST(!doc["cards"][1].HasMember("selectionBehavior"));
}

BOOST_AUTO_TEST_CASE(text_is_escaped) {
  cards::Card card = MinimalCard();
  card.summary = "quote \" backslash \\ newline \n tab \t unicode \xc3\xa9";
  const rapidjson::Document doc = ParseOrFail(WriteCardsResponse({card}));
  BOOST_TEST(doc["cards"][0]["summary"].GetString() == card.summary);
}

rules::RuleSet SampleRuleSet() {
  rules::RuleSet set;
  set.id = "magnesium";
  set.version = "1.0.0";
  set.release_date = "2026-11-22";
  fhir::PrefetchSpec patient;
  patient.key = "patient";
  patient.query = "Patient/{{context.patientId}}";
  fhir::PrefetchSpec meds;
  meds.key = "medications";
  meds.query = "MedicationRequest?patient={{context.patientId}}";
  set.prefetch = {patient, meds};
  rules::ServiceDefinition with_prefetch;
  with_prefetch.id = "magnesium-advisor";
  with_prefetch.hook = "patient-view";
  with_prefetch.title = "Magnesium status advisor";
  with_prefetch.description = "Reviews magnesium.";
  with_prefetch.usage_requirements = "Needs prefetch.";
  with_prefetch.prefetch = {0, 1};
  rules::ServiceDefinition bare;
  bare.id = "bare";
  bare.hook = "order-select";
  bare.description = "No prefetch.";
  set.services = {with_prefetch, bare};
  return set;
}

BOOST_AUTO_TEST_CASE(discovery_lists_every_service_with_prefetch_and_ruleset_extension) {
  const rapidjson::Document doc = ParseOrFail(WriteDiscovery(SampleRuleSet()));
  BOOST_REQUIRE(doc.IsObject());
  const rapidjson::Value& services = doc["services"];
  BOOST_REQUIRE(services.Size() == 2u);
  ExpectNoEmpties(services, "services");
  const rapidjson::Value& first = services[0];
  BOOST_TEST(first["hook"].GetString() == std::string("patient-view"));
  BOOST_TEST(first["id"].GetString() == std::string("magnesium-advisor"));
  BOOST_TEST(first["title"].GetString() == std::string("Magnesium status advisor"));
  BOOST_TEST(first["description"].GetString() == std::string("Reviews magnesium."));
  BOOST_TEST(first["usageRequirements"].GetString() == std::string("Needs prefetch."));
  BOOST_TEST(first["prefetch"]["patient"].GetString() ==
             std::string("Patient/{{context.patientId}}"));
  BOOST_TEST(first["prefetch"]["medications"].GetString() ==
             std::string("MedicationRequest?patient={{context.patientId}}"));
  const rapidjson::Value& ruleset = first["extension"]["org.magcds.ruleset"];
  BOOST_TEST(ruleset["id"].GetString() == std::string("magnesium"));
  BOOST_TEST(ruleset["version"].GetString() == std::string("1.0.0"));
  BOOST_TEST(ruleset["releaseDate"].GetString() == std::string("2026-11-22"));
  // Checklist D-4: no prefetch member at all rather than {}.
  BOOST_TEST(!services[1].HasMember("prefetch"));
  BOOST_TEST(!services[1].HasMember("title"));
}

BOOST_AUTO_TEST_CASE(discovery_with_no_services_is_an_empty_array) {
  rules::RuleSet set;
  set.id = "x";
  set.version = "1";
  BOOST_TEST(WriteDiscovery(set) == R"({"services":[]})");
}

BOOST_AUTO_TEST_CASE(error_body_names_code_and_message) {
  BOOST_TEST(WriteErrorBody(Error{ErrorCode::kUnknownService, "unknown service 'x'"}) ==
             R"({"error":"unknown_service","message":"unknown service 'x'"})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
