// The one core call (service/hooks/service_call.h, issue #11 "One call"): its call
// record, its errors, and that the HTTP handler answers exactly what the core
// function returns for the same request.
#include "service/hooks/service_call.h"

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "service/hooks/bundle_request.h"
#include "service/hooks/rule_set_holder.h"
#include "service/http/response_json.h"
#include "tests/service/handler_test_util.h"

namespace cds::service {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string RequestText() {
  return ReadFile(std::string(CDS_TEST_DATA_DIR) + "/requests/patient-view-ppi-cramps.json");
}

struct Called {
  fhir::GatherResult gathered;
  ServiceCallResult result;
};

Called CallCore(const rules::RuleSet& rule_set, const HookRequest& request) {
  const rules::ServiceDefinition* service = rule_set.FindService("magnesium-advisor");
  BOOST_REQUIRE(service != nullptr);
  Called called;
  called.gathered = GatherPrefetchOnly(GatherInputFor(rule_set, *service, request));
  cards::SequentialIdSource ids;
  ServiceCallInput input;
  input.rule_set = &rule_set;
  input.service = service;
  input.request = &request;
  input.gathered = &called.gathered;
  input.now = testing::GoldenNow();
  ServiceCallOptions options;
  options.ids = &ids;
  called.result = RunServiceCall(input, options);
  return called;
}

const PrefetchKeyRecord* Key(const CallRecord& record, const std::string& key) {
  for (const PrefetchKeyRecord& k : record.prefetch) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ServiceCall)

BOOST_AUTO_TEST_CASE(http_handler_answers_what_the_core_call_returns) {
  const auto rule_set = testing::LoadShippedRules();
  Result<HookRequest> request = ParseHookRequest(RequestText());
  BOOST_REQUIRE(request);
  const Called core = CallCore(*rule_set, *request);
  BOOST_REQUIRE(core.result.response);
  BOOST_REQUIRE(!core.result.response->empty());

  RuleSetHolder holder(rule_set);
  const HookHandler handler(holder, testing::FixedOptions());
  const HttpResponseView http =
      testing::Call(handler, "POST", "/cds-services/magnesium-advisor", RequestText());
  BOOST_TEST(http.status == 200);
  BOOST_TEST(http.body == WriteCardsResponse(*core.result.response));
}

BOOST_AUTO_TEST_CASE(record_names_each_prefetch_key_and_the_rules_that_fired) {
  const auto rule_set = testing::LoadShippedRules();
  Result<HookRequest> request = ParseHookRequest(RequestText());
  BOOST_REQUIRE(request);
  // medicationStatements is absent from the request and cannot be fetched.
  const Called core = CallCore(*rule_set, *request);
  const CallRecord& record = core.result.record;
  BOOST_TEST(record.ruleset == "magnesium@1.0.0");
  BOOST_TEST(record.service_id == "magnesium-advisor");
  BOOST_TEST(record.hook == "patient-view");
  const PrefetchKeyRecord* medications = Key(record, "medications");
  BOOST_REQUIRE(medications != nullptr);
  BOOST_TEST(fhir::KeySourceName(medications->source) == "hit");
  const PrefetchKeyRecord* statements = Key(record, "medicationStatements");
  BOOST_REQUIRE(statements != nullptr);
  BOOST_TEST(fhir::KeySourceName(statements->source) == "missing");
  BOOST_TEST(statements->reason.find("absent from prefetch") != std::string::npos);
  BOOST_TEST(record.rules_fired.size() == core.result.response->size());
  bool mg01 = false;
  for (const std::string& fired : record.rules_fired) mg01 = mg01 || fired == "MG-01@1.0.0";
  BOOST_TEST(mg01);
  // The optional statements key was missing: medications are partial, and the
  // note says so (rules that need the absence of a drug are undecided).
  bool noted = false;
  for (const std::string& note : record.category_notes) {
    noted = noted || note.rfind("medications: partial", 0) == 0;
  }
  BOOST_TEST(noted);
}

BOOST_AUTO_TEST_CASE(null_key_is_recorded_as_null_and_missing_conditions_are_undecided) {
  const auto rule_set = testing::LoadShippedRules();
  std::string text = RequestText();
  Result<HookRequest> request = ParseHookRequest(text);
  BOOST_REQUIRE(request);
  request->prefetch["observations"].is_null = true;  // the EHR found no results
  request->prefetch.erase("conditions");             // required, not fetchable
  const Called core = CallCore(*rule_set, *request);
  BOOST_REQUIRE(!core.result.response);
  BOOST_TEST(static_cast<int>(core.result.response.error().code) ==
             static_cast<int>(ErrorCode::kPrefetchUnavailable));
  BOOST_TEST(core.result.response.error().message.find("conditions") != std::string::npos);
  BOOST_TEST(fhir::KeySourceName(Key(core.result.record, "observations")->source) == "null");
  BOOST_TEST(fhir::KeySourceName(Key(core.result.record, "conditions")->source) == "missing");
}

BOOST_AUTO_TEST_CASE(bundle_request_is_built_without_reparsing_and_runs_the_same_call) {
  const auto rule_set = testing::LoadShippedRules();
  const std::string bundle =
      ReadFile(std::string(CDS_TEST_DATA_DIR) + "/requests/bundle-ppi-cramps.json");
  auto document = JsonDocument::Parse(bundle);
  BOOST_REQUIRE(document);
  Result<HookRequest> request =
      BuildBundleRequest(*document, *rule_set, *rule_set->FindService("magnesium-advisor"));
  BOOST_REQUIRE(request);
  BOOST_TEST(request->document.get() == document->get());  // values point into the Bundle
  const Called core = CallCore(*rule_set, *request);
  BOOST_REQUIRE(core.result.response);
  for (const PrefetchKeyRecord& key : core.result.record.prefetch) {
    BOOST_TEST((key.source == fhir::KeySource::kHit || key.source == fhir::KeySource::kNull),
               key.key << " should come from the Bundle");
  }
  bool mg01 = false;
  for (const cards::Card& card : *core.result.response) mg01 = mg01 || card.rule_id == "MG-01";
  BOOST_TEST(mg01);
}

BOOST_AUTO_TEST_CASE(bundle_with_two_patients_is_refused) {
  const auto rule_set = testing::LoadShippedRules();
  auto document = JsonDocument::Parse(R"({"resourceType":"Bundle","type":"collection","entry":[)"
                                      R"({"resource":{"resourceType":"Patient","id":"a"}},)"
                                      R"({"resource":{"resourceType":"Patient","id":"b"}}]})");
  BOOST_REQUIRE(document);
  Result<HookRequest> request =
      BuildBundleRequest(*document, *rule_set, *rule_set->FindService("magnesium-advisor"));
  BOOST_REQUIRE(!request);
  BOOST_TEST(request.error().message.find("2 different Patient resources") != std::string::npos);
  // The same Patient twice (e.g. a transaction with a conditional update) is one patient.
  auto twice = JsonDocument::Parse(R"({"resourceType":"Bundle","type":"collection","entry":[)"
                                   R"({"resource":{"resourceType":"Patient","id":"a"}},)"
                                   R"({"resource":{"resourceType":"Patient","id":"a"}}]})");
  BOOST_REQUIRE(twice);
  BOOST_TEST(static_cast<bool>(
      BuildBundleRequest(*twice, *rule_set, *rule_set->FindService("magnesium-advisor"))));
}

BOOST_AUTO_TEST_CASE(unknown_rules_carry_the_incomplete_categories) {
  const auto rule_set = testing::LoadShippedRules();
  Result<HookRequest> request = ParseHookRequest(RequestText());
  BOOST_REQUIRE(request);
  // medicationStatements (optional) is absent: medications are partial.
  const Called core = CallCore(*rule_set, *request);
  BOOST_REQUIRE(core.result.response);
  BOOST_REQUIRE(!core.result.record.rules_unknown.empty());
  for (const UnknownRule& unknown : core.result.record.rules_unknown) {
    BOOST_TEST(unknown.why.find("medications partial") != std::string::npos, unknown.why);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cds::service
