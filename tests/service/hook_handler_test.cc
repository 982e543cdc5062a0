#include "service/http/hook_handler.h"

#include <rapidjson/document.h>

#include <string>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "tests/service/handler_test_util.h"

namespace cds::service {
namespace {

using testing::Call;
using testing::FixedOptions;
using testing::HeaderOf;

std::string ErrorName(const HttpResponseView& response) {
  rapidjson::Document doc;
  doc.Parse(response.body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("error") ||
      !doc["error"].IsString() || !doc.HasMember("message") || !doc["message"].IsString()) {
    return "<not an error body: " + response.body + ">";
  }
  return doc["error"].GetString();
}

const std::string kValid =
    R"({"hook":"patient-view","hookInstance":"i-1","context":{"patientId":"example","userId":"Practitioner/a"},)"
    R"("prefetch":{"patient":null,"medications":null,"medicationStatements":null,"conditions":null,"observations":null}})";

struct Fixture {
  RuleSetHolder holder{testing::LoadShippedRules()};
  HookHandler handler{holder, FixedOptions()};
};

BOOST_AUTO_TEST_SUITE(HookHandlerRouting)

BOOST_FIXTURE_TEST_CASE(discovery_is_200_json_with_the_shipped_service, Fixture) {
  for (const char* path : {"/cds-services", "/cds-services/"}) {
    const HttpResponseView response = Call(handler, "GET", path, "", "");
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.content_type == "application/json");
    rapidjson::Document doc;
    doc.Parse(response.body.c_str());
    BOOST_REQUIRE(!doc.HasParseError());
    BOOST_REQUIRE(doc["services"].IsArray());
    BOOST_TEST(doc["services"][0]["id"].GetString() == std::string("magnesium-advisor"));
  }
}

BOOST_FIXTURE_TEST_CASE(wrong_method_is_405_with_allow, Fixture) {
  HttpResponseView response = Call(handler, "POST", "/cds-services", "{}");
  BOOST_TEST(response.status == 405);
  BOOST_TEST(HeaderOf(response, "Allow") == "GET");
  BOOST_TEST(ErrorName(response) == "method_not_allowed");

  response = Call(handler, "GET", "/cds-services/magnesium-advisor", "", "");
  BOOST_TEST(response.status == 405);
  BOOST_TEST(HeaderOf(response, "Allow") == "POST");
  BOOST_TEST(HeaderOf(response, "Cache-Control") == "no-store");

  response = Call(handler, "PUT", "/cds-services/magnesium-advisor/feedback", "{}");
  BOOST_TEST(response.status == 405);
  BOOST_TEST(HeaderOf(response, "Allow") == "POST");

  response = Call(handler, "DELETE", "/healthz", "", "");
  BOOST_TEST(response.status == 405);
}

BOOST_FIXTURE_TEST_CASE(unknown_paths_and_services_are_404, Fixture) {
  for (const char* path : {"/", "/nope", "/cds-services/magnesium-advisor/other",
                           "/cds-services/a/b/c", "/cds-services//feedback"}) {
    const HttpResponseView response = Call(handler, "POST", path, kValid);
    BOOST_TEST(response.status == 404, path);
    BOOST_TEST(ErrorName(response) == "unknown_service", path);
  }
  HttpResponseView response = Call(handler, "POST", "/cds-services/no-such-service", kValid);
  BOOST_TEST(response.status == 404);
  BOOST_TEST(response.body.find("unknown service 'no-such-service'") != std::string::npos);
  response = Call(handler, "POST", "/cds-services/no-such-service/feedback", R"({"feedback":[]})");
  BOOST_TEST(response.status == 404);
}

BOOST_FIXTURE_TEST_CASE(non_json_content_type_is_415, Fixture) {
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/xml",
                           "multipart/form-data; boundary=x"}) {
    const HttpResponseView response =
        Call(handler, "POST", "/cds-services/magnesium-advisor", kValid, type);
    BOOST_TEST(response.status == 415, type);
    BOOST_TEST(ErrorName(response) == "unsupported_media_type");
  }
  for (const char* type : {"application/json", "application/json; charset=utf-8",
                           "Application/JSON", "application/fhir+json", ""}) {
    const HttpResponseView response =
        Call(handler, "POST", "/cds-services/magnesium-advisor", kValid, type);
    BOOST_TEST(response.status == 200, type << ": " << response.body);
  }
}

BOOST_FIXTURE_TEST_CASE(malformed_requests_are_400_and_service_keeps_working, Fixture) {
  const char* bodies[] = {
      "{not json", "[1,2]", "\"text\"",
      R"({"hook":"patient-view","context":{"patientId":"p","userId":"Practitioner/a"}})"};
  for (const char* body : bodies) {
    const HttpResponseView response =
        Call(handler, "POST", "/cds-services/magnesium-advisor", body);
    BOOST_TEST(response.status == 400, body);
    BOOST_TEST(ErrorName(response) == "invalid_request", body);
    BOOST_TEST(HeaderOf(response, "Cache-Control") == "no-store");
  }
  const HttpResponseView ok = Call(handler, "POST", "/cds-services/magnesium-advisor", kValid);
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(HeaderOf(ok, "Cache-Control") == "no-store");
}

BOOST_FIXTURE_TEST_CASE(hook_not_served_by_the_service_is_400, Fixture) {
  std::string body = kValid;
  body.replace(body.find("patient-view"), 12, "medication-prescribe");
  const HttpResponseView response = Call(handler, "POST", "/cds-services/magnesium-advisor", body);
  BOOST_TEST(response.status == 400);
  BOOST_TEST(
      response.body.find("hook 'medication-prescribe' is not served by 'magnesium-advisor'") !=
          std::string::npos,
      response.body);
}

BOOST_FIXTURE_TEST_CASE(missing_required_prefetch_without_fhir_server_is_412, Fixture) {
  const HttpResponseView response = Call(
      handler, "POST", "/cds-services/magnesium-advisor",
      R"({"hook":"patient-view","hookInstance":"i","context":{"patientId":"p","userId":"Practitioner/a"}})");
  BOOST_TEST(response.status == 412);
  BOOST_TEST(ErrorName(response) == "prefetch_unavailable");
  for (const char* key : {"medications", "conditions", "observations"}) {
    BOOST_TEST(response.body.find(key) != std::string::npos, key << " in " << response.body);
  }
}

BOOST_FIXTURE_TEST_CASE(null_prefetch_means_no_data_not_missing, Fixture) {
  const HttpResponseView response =
      Call(handler, "POST", "/cds-services/magnesium-advisor", kValid);
  BOOST_TEST(response.status == 200, response.body);
  BOOST_TEST(response.body.rfind(R"({"cards":[)", 0) == 0u);
}

BOOST_FIXTURE_TEST_CASE(feedback_is_checked_and_acknowledged, Fixture) {
  const std::string path = "/cds-services/magnesium-advisor/feedback";
  HttpResponseView response = Call(
      handler, "POST", path,
      R"({"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"2026-11-22T10:00:00Z"}]})");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == "{}");
  BOOST_TEST(HeaderOf(response, "Cache-Control") == "no-store");
  response = Call(handler, "POST", path, R"({"feedback":[{"card":"c","outcome":"accepted"}]})");
  BOOST_TEST(response.status == 400);
  response = Call(handler, "POST", path, "nope");
  BOOST_TEST(response.status == 400);
}

BOOST_FIXTURE_TEST_CASE(health_and_readiness, Fixture) {
  HttpResponseView response = Call(handler, "GET", "/healthz", "", "");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body == R"({"status":"ok"})");
  response = Call(handler, "GET", "/readyz", "", "");
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body.find("magnesium@1.0.0") != std::string::npos);

  RuleSetHolder empty;
  const HookHandler no_rules(empty, FixedOptions());
  BOOST_TEST(Call(no_rules, "GET", "/readyz", "", "").status == 503);
  BOOST_TEST(Call(no_rules, "GET", "/healthz", "", "").status == 200);
  BOOST_TEST(Call(no_rules, "GET", "/cds-services", "", "").status == 500);
}

BOOST_AUTO_TEST_CASE(json_content_types) {
  BOOST_TEST(IsJsonContentType("application/json"));
  BOOST_TEST(IsJsonContentType(" application/json ; charset=UTF-8"));
  BOOST_TEST(IsJsonContentType("application/fhir+json"));
  BOOST_TEST(IsJsonContentType("application/cds-hooks+json;v=2"));
  BOOST_TEST(!IsJsonContentType("application/+json"));
  BOOST_TEST(!IsJsonContentType("text/json+"));
  BOOST_TEST(!IsJsonContentType("text/plain"));
  BOOST_TEST(!IsJsonContentType("application/jsonx"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
