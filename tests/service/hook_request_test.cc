#include "service/hooks/hook_request.h"

#include <string>
#include <string_view>
#include <utility>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "common/json_internal.h"
#include "service/http/http_request_parser.h"

namespace cds::service {
namespace {

namespace data = boost::unit_test::data;

struct BadCase {
  const char* name;
  std::string body;
  const char* message_part;  // expected substring of the error message
};

std::ostream& operator<<(std::ostream& out, const BadCase& c) { return out << c.name; }

// Values that must never come back in an error message.
constexpr const char* kSentinel = "SENTINEL";

const std::string kCtx = R"("context":{"userId":"Practitioner/SENTINEL1","patientId":"p1"})";
const std::string kHead = R"("hook":"patient-view","hookInstance":"SENTINEL-instance")";

const BadCase kBadCases[] = {
    {"not_json", "{not json", "invalid JSON"},
    {"empty_body", "", "invalid JSON"},
    {"whitespace_body", "  \n ", "invalid JSON"},
    {"array_root", "[]", "request body must be a JSON object"},
    {"string_root", R"("SENTINEL")", "request body must be a JSON object"},
    {"number_root", "42", "request body must be a JSON object"},
    {"invalid_utf8", "{\"hook\":\"\xff\xfe\"}", "invalid JSON"},
    {"too_deep", std::string(200, '[') + std::string(200, ']'), "nesting deeper"},
    {"missing_hook", "{\"hookInstance\":\"x\"," + kCtx + "}", "missing required field 'hook'"},
    {"hook_number", "{\"hook\":5,\"hookInstance\":\"x\"," + kCtx + "}",
     "'hook' must be a non-empty string"},
    {"hook_empty", "{\"hook\":\"\",\"hookInstance\":\"x\"," + kCtx + "}",
     "'hook' must be a non-empty string"},
    {"missing_hook_instance", "{\"hook\":\"patient-view\"," + kCtx + "}",
     "missing required field 'hookInstance'"},
    {"hook_instance_null", "{\"hook\":\"patient-view\",\"hookInstance\":null," + kCtx + "}",
     "missing required field 'hookInstance'"},
    {"hook_instance_object", "{\"hook\":\"patient-view\",\"hookInstance\":{}," + kCtx + "}",
     "'hookInstance' must be a non-empty string"},
    {"missing_context", "{" + kHead + "}", "missing required field 'context'"},
    {"context_array", "{" + kHead + ",\"context\":[]}", "'context' must be an object"},
    {"missing_patient_id", "{" + kHead + R"(,"context":{"userId":"Practitioner/SENTINEL"}})",
     "missing required field 'context.patientId'"},
    {"patient_id_empty", "{" + kHead + R"(,"context":{"userId":"Practitioner/a","patientId":""}})",
     "'context.patientId' must be a non-empty string"},
    {"patient_id_number", "{" + kHead + R"(,"context":{"userId":"Practitioner/a","patientId":7}})",
     "'context.patientId' must be a non-empty string"},
    {"patient_id_not_fhir_id",
     "{" + kHead + R"(,"context":{"userId":"Practitioner/a","patientId":"SENTINEL/../x"}})",
     "'context.patientId' must be a FHIR id"},
    {"patient_id_too_long",
     "{" + kHead + R"(,"context":{"userId":"Practitioner/a","patientId":"SENTINEL)" +
         std::string(60, 'x') + "\"}}",
     "'context.patientId' must be a FHIR id"},
    {"missing_user_id", "{" + kHead + R"(,"context":{"patientId":"SENTINEL"}})",
     "missing required field 'context.userId'"},
    {"user_id_array", "{" + kHead + R"(,"context":{"patientId":"p1","userId":["SENTINEL"]}})",
     "'context.userId' must be a non-empty string"},
    {"encounter_id_number",
     "{" + kHead + R"(,"context":{"patientId":"p1","userId":"Practitioner/a","encounterId":3}})",
     "'context.encounterId' must be a non-empty string"},
    {"authorization_without_server",
     "{" + kHead + "," + kCtx +
         R"(,"fhirAuthorization":{"access_token":"SENTINEL","token_type":"Bearer"}})",
     "'fhirServer' is required when 'fhirAuthorization' is present"},
    {"server_not_http", "{" + kHead + "," + kCtx + R"(,"fhirServer":"ftp://SENTINEL.example"})",
     "'fhirServer' must be an absolute http or https URL"},
    {"server_relative", "{" + kHead + "," + kCtx + R"(,"fhirServer":"/SENTINEL/fhir"})",
     "'fhirServer' must be an absolute http or https URL"},
    {"server_number", "{" + kHead + "," + kCtx + R"(,"fhirServer":12})",
     "'fhirServer' must be a non-empty string"},
    {"authorization_string",
     "{" + kHead + "," + kCtx +
         R"(,"fhirServer":"https://f.example","fhirAuthorization":"SENTINEL"})",
     "'fhirAuthorization' must be an object"},
    {"authorization_missing_token",
     "{" + kHead + "," + kCtx +
         R"(,"fhirServer":"https://f.example","fhirAuthorization":{"token_type":"Bearer"}})",
     "missing required field 'fhirAuthorization.access_token'"},
    {"authorization_missing_type",
     "{" + kHead + "," + kCtx +
         R"(,"fhirServer":"https://f.example","fhirAuthorization":{"access_token":"SENTINEL"}})",
     "missing required field 'fhirAuthorization.token_type'"},
    {"authorization_not_bearer",
     "{" + kHead + "," + kCtx +
         R"(,"fhirServer":"https://f.example","fhirAuthorization":{"access_token":"SENTINEL","token_type":"MAC"}})",
     "'fhirAuthorization.token_type' must be \"Bearer\""},
    {"authorization_expires_string",
     "{" + kHead + "," + kCtx +
         R"(,"fhirServer":"https://f.example","fhirAuthorization":{"access_token":"SENTINEL","token_type":"Bearer","expires_in":"300"}})",
     "'fhirAuthorization.expires_in' must be an integer"},
    {"prefetch_array", "{" + kHead + "," + kCtx + R"(,"prefetch":["SENTINEL"]})",
     "'prefetch' must be an object"},
    {"prefetch_value_string", "{" + kHead + "," + kCtx + R"(,"prefetch":{"patient":"SENTINEL"}})",
     "'prefetch.patient' must be a FHIR resource (object) or null"},
    {"prefetch_value_array", "{" + kHead + "," + kCtx + R"(,"prefetch":{"meds":[]}})",
     "'prefetch.meds' must be a FHIR resource (object) or null"},
    {"prefetch_value_number", "{" + kHead + "," + kCtx + R"(,"prefetch":{"meds":0}})",
     "'prefetch.meds' must be a FHIR resource (object) or null"},
};

BOOST_AUTO_TEST_SUITE(HookRequestParsing)

BOOST_DATA_TEST_CASE(invalid_request_is_400_with_precise_message, data::make(kBadCases), c) {
  const Result<HookRequest> parsed = ParseHookRequest(c.body);
  BOOST_REQUIRE(!parsed);
  BOOST_TEST(static_cast<int>(parsed.error().code) == static_cast<int>(ErrorCode::kInvalidRequest));
  BOOST_TEST(parsed.error().message.find(c.message_part) != std::string::npos,
             "message: " << parsed.error().message);
  BOOST_TEST(parsed.error().message.find(kSentinel) == std::string::npos,
             "message echoes a value: " << parsed.error().message);
}

const char* const kFull = R"({
  "hook": "patient-view",
  "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
  "fhirServer": "https://fhir.example.org/r4",
  "fhirAuthorization": {"access_token": "tok", "token_type": "bearer", "expires_in": 300,
                        "scope": "user/Patient.read", "subject": "magcds", "patient": "p-1",
                        "futureField": {"x": 1}},
  "context": {"userId": "PractitionerRole/role-9", "patientId": "p-1", "encounterId": "enc.2",
              "newOptionalField": [1, 2, 3], "extension": {"org.example.ctx": true}},
  "prefetch": {"patient": {"resourceType": "Patient", "id": "p-1"}, "observations": null},
  "extension": {"org.example.anything": {"deep": [null, {}]}},
  "someFutureMember": 42
})";

BOOST_AUTO_TEST_CASE(valid_request_with_unknown_members_and_extensions_parses) {
  Result<HookRequest> parsed = ParseHookRequest(kFull);
  BOOST_REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().message));
  const HookRequest& r = *parsed;
  BOOST_TEST(r.hook == "patient-view");
  BOOST_TEST(r.hook_instance == "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea");
  BOOST_TEST(r.fhir_server == "https://fhir.example.org/r4");
  BOOST_REQUIRE(r.fhir_authorization.has_value());
  BOOST_TEST(r.fhir_authorization->access_token == "tok");
  BOOST_TEST(r.fhir_authorization->expires_in.value_or(0) == 300);
  BOOST_TEST(r.fhir_authorization->patient == "p-1");
  BOOST_TEST(r.patient_id == "p-1");
  BOOST_TEST(r.user_id == "PractitionerRole/role-9");
  BOOST_TEST(r.encounter_id == "enc.2");
  BOOST_REQUIRE(r.prefetch.size() == 2u);
  BOOST_TEST(r.prefetch.at("observations").is_null);
  const fhir::PrefetchValue& patient = r.prefetch.at("patient");
  BOOST_TEST(!patient.is_null);
  BOOST_REQUIRE(patient.value.valid());
  BOOST_TEST(json_internal::AsValue(patient.value)["id"].GetString() == std::string("p-1"));
  BOOST_TEST(r.document != nullptr);
}

BOOST_AUTO_TEST_CASE(prefetch_values_outlive_moves_of_the_request) {
  Result<HookRequest> parsed = ParseHookRequest(kFull);
  BOOST_REQUIRE(parsed);
  HookRequest moved = std::move(parsed).value();
  HookRequest copy = moved;
  const rapidjson::Value& value = json_internal::AsValue(copy.prefetch.at("patient").value);
  BOOST_TEST(value["resourceType"].GetString() == std::string("Patient"));
}

BOOST_AUTO_TEST_CASE(tokens_hold_context_fields) {
  Result<HookRequest> parsed = ParseHookRequest(kFull);
  BOOST_REQUIRE(parsed);
  const auto& tokens = parsed->tokens;
  BOOST_TEST(tokens.at("context.patientId") == "p-1");
  BOOST_TEST(tokens.at("context.userId") == "PractitionerRole/role-9");
  BOOST_TEST(tokens.at("context.encounterId") == "enc.2");
  BOOST_TEST(tokens.at("userPractitionerRoleId") == "role-9");
  BOOST_TEST(tokens.count("userPractitionerId") == 0u);
}

struct UserCase {
  const char* user_id;
  const char* token;  // nullptr: no user token
  const char* value;
};
std::ostream& operator<<(std::ostream& out, const UserCase& c) { return out << c.user_id; }

const UserCase kUserCases[] = {
    {"Practitioner/abc", "userPractitionerId", "abc"},
    {"PractitionerRole/r1", "userPractitionerRoleId", "r1"},
    {"Patient/p9", "userPatientId", "p9"},
    {"RelatedPerson/rp", "userRelatedPersonId", "rp"},
    {"bare-id", "userPractitionerId", "bare-id"},  // checklist §11 item 18
    {"Device/d1", nullptr, nullptr},
};

BOOST_DATA_TEST_CASE(user_tokens_follow_user_id_type, data::make(kUserCases), c) {
  const std::string body = std::string(R"({"hook":"patient-view","hookInstance":"x",)") +
                           R"("context":{"patientId":"p1","userId":")" + c.user_id + "\"}}";
  Result<HookRequest> parsed = ParseHookRequest(body);
  BOOST_REQUIRE(parsed);
  int user_tokens = 0;
  for (const char* name :
       {"userPractitionerId", "userPractitionerRoleId", "userPatientId", "userRelatedPersonId"}) {
    user_tokens += static_cast<int>(parsed->tokens.count(name));
  }
  if (c.token == nullptr) {
    BOOST_TEST(user_tokens == 0);
  } else {
    BOOST_TEST(user_tokens == 1);
    BOOST_TEST(parsed->tokens.at(c.token) == c.value);
  }
  BOOST_TEST(parsed->tokens.count("context.encounterId") == 0u);
}

BOOST_AUTO_TEST_CASE(null_prefetch_and_null_optional_members_are_absent) {
  Result<HookRequest> parsed = ParseHookRequest(
      R"({"hook":"patient-view","hookInstance":"x","fhirServer":null,"fhirAuthorization":null,)"
      R"("prefetch":null,"context":{"patientId":"p1","userId":"Practitioner/a","encounterId":null}})");
  BOOST_REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().message));
  BOOST_TEST(parsed->prefetch.empty());
  BOOST_TEST(parsed->fhir_server.empty());
  BOOST_TEST(!parsed->fhir_authorization.has_value());
  BOOST_TEST(parsed->encounter_id.empty());
}

BOOST_AUTO_TEST_CASE(fhir_id_rules) {
  BOOST_TEST(IsFhirId("a"));
  BOOST_TEST(IsFhirId("A-z.0"));
  BOOST_TEST(IsFhirId(std::string(64, 'x')));
  BOOST_TEST(!IsFhirId(std::string(65, 'x')));
  BOOST_TEST(!IsFhirId(""));
  BOOST_TEST(!IsFhirId("a_b"));
  BOOST_TEST(!IsFhirId("a b"));
  BOOST_TEST(!IsFhirId("Patient/1"));
}

// Issue #18: a body read by the HTTP parser (by Content-Length, here in
// pieces) has room for the in-place parse's padding, so the hook request is
// parsed in the buffer the body was read into: its strings point into that
// buffer, not into a copy.
BOOST_AUTO_TEST_CASE(body_from_the_http_parser_is_parsed_where_it_was_read) {
  const std::string body = kFull;
  const std::string head =
      "POST /cds-services/magnesium-advisor HTTP/1.1\r\nHost: a\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  HttpRequestParser parser(HttpParserLimits{});
  BOOST_TEST_REQUIRE(parser.Feed(head) == head.size());
  for (std::size_t at = 0; at < body.size(); at += 100) {
    const std::string_view piece = std::string_view(body).substr(at, 100);
    BOOST_TEST_REQUIRE(parser.Feed(piece) == piece.size());
  }
  BOOST_TEST_REQUIRE((parser.state() == HttpRequestParser::State::kComplete));
  HttpRequestView request = parser.TakeRequest();
  BOOST_TEST(request.body == body);
  const char* const begin = request.body.data();
  const char* const end = begin + request.body.size();
  Result<HookRequest> parsed = ParseHookRequestInPlace(std::move(request.body));
  BOOST_TEST_REQUIRE(parsed.has_value());
  const char* const hook = json_internal::AsValue(parsed->document->root())["hook"].GetString();
  BOOST_TEST((hook >= begin && hook < end));
  BOOST_TEST(parsed->hook == "patient-view");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
