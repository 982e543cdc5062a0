// Issue #13: a 412 says why. One case per cause, against the real `magcds
// serve` (and the real fault-injecting FHIR server, tests/fhir_server) over
// loopback: the response's message names the keys and the cause, and the log
// line "prefetch_unavailable" carries the same message, never the patient id
// or the access token.

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tests/support/magcds_serve.h"
#include "tests/support/node_server.h"

namespace cds::service {
namespace {

using cds::testing::HttpTestResponse;
using cds::testing::MagcdsServe;
using cds::testing::NodeServer;

constexpr char kPatientId[] = "pt-412-secret-5521";
constexpr char kToken[] = "tok-412-secret-c0ffee";
constexpr int kDeadlineMs = 300;
const std::vector<std::string> kModes = {"delay-3000", "status-503", "garbage",
                                         "html",       "oo",         "reset"};

NodeServer& Faults() {
  static NodeServer server("fault_server.mjs");
  return server;
}

// Fetching allowed from every fault mode's base, with a 300 ms deadline.
MagcdsServe& Fetching() {
  static MagcdsServe serve = [] {
    std::string bases;
    for (const std::string& mode : kModes) {
      bases += (bases.empty() ? "\"" : ",\"") + Faults().Url("/" + mode) + "\"";
    }
    return MagcdsServe(CDS_MAGCDS_BINARY, "\"fhir\":{\"allowHttpLoopback\":true,\"deadlineMs\":" +
                                              std::to_string(kDeadlineMs) +
                                              ",\"allowedServers\":[" + bases + "]}");
  }();
  return serve;
}

// A patient-view call with only the Patient prefetched (unless `prefetch`
// says otherwise); fhirServer and fhirAuthorization only when given.
std::string Request(const std::string& fhir_server, bool with_token,
                    const std::string& prefetch = "") {
  std::string json =
      R"({"hook":"patient-view","hookInstance":"4d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d",)";
  json +=
      R"("context":{"patientId":")" + std::string(kPatientId) + R"(","userId":"Practitioner/u1"})";
  if (!fhir_server.empty()) json += R"(,"fhirServer":")" + fhir_server + "\"";
  if (with_token) {
    json +=
        R"(,"fhirAuthorization":{"access_token":")" + std::string(kToken) +
        R"(","token_type":"Bearer","expires_in":300,"scope":"patient/*.read","subject":"magcds"})";
  }
  json += R"(,"prefetch":{)" +
          (prefetch.empty()
               ? R"("patient":{"resourceType":"Patient","id":")" + std::string(kPatientId) + R"("})"
               : prefetch) +
          "}}";
  return json;
}

std::string Message(const HttpTestResponse& response) {
  rapidjson::Document doc;
  doc.Parse(response.body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("message")) return "";
  return doc["message"].GetString();
}

// Sends the call, checks the 412 and its message, and that the log line says
// the same without PHI or token. Returns the message.
std::string Expect412(MagcdsServe& serve, const std::string& body, const std::string& expected) {
  const std::size_t log_before = serve.Log().size();
  const HttpTestResponse response =
      serve.Send("POST", "/cds-services/magnesium-advisor", body,
                 {{"Content-Type", "application/json"}}, std::chrono::seconds(10));
  BOOST_TEST(response.status == 412, response.status << " " << response.body);
  const std::string message = Message(response);
  BOOST_TEST(message.find(expected) != std::string::npos, message);
  BOOST_TEST(message.find(kPatientId) == std::string::npos);
  BOOST_TEST(message.find(kToken) == std::string::npos);
  // The same text in the log ('"' is escaped there: compare a quote-free part).
  const std::string logged = expected.substr(0, expected.find('"'));
  BOOST_TEST(serve.WaitForLog("\"event\":\"prefetch_unavailable\"", log_before));
  BOOST_TEST(serve.WaitForLog(logged, log_before), "log lacks: " << logged);
  const std::string log = serve.Log();
  BOOST_TEST(log.find(kPatientId) == std::string::npos, "patient id in the log");
  BOOST_TEST(log.find(kToken) == std::string::npos, "token in the log");
  return message;
}

BOOST_AUTO_TEST_SUITE(Why412)

BOOST_AUTO_TEST_CASE(no_fhir_server_in_the_request) {
  Expect412(Fetching(), Request("", false),
            "required data could not be obtained: medications, conditions, observations: absent "
            "from prefetch, and no fhirServer in the request");
}

BOOST_AUTO_TEST_CASE(fhir_server_without_an_access_token) {
  MagcdsServe& serve = Fetching();  // started before the counters are reset
  BOOST_REQUIRE(
      cds::testing::SendRaw(Faults().port(), cds::testing::FormatRequest("POST", "/_test/reset"))
          .status == 200);
  Expect412(serve, Request(Faults().Url("/status-503"), false),
            "medications, conditions, observations: absent from prefetch, and fhirServer present "
            "but no fhirAuthorization (access token)");
  // Checklist F-1: nothing is asked of the server without a token.
  const HttpTestResponse stats =
      cds::testing::SendRaw(Faults().port(), cds::testing::FormatRequest("GET", "/_test/stats"));
  BOOST_TEST(stats.body.find("\"requests\":0") != std::string::npos, stats.body);
}

BOOST_AUTO_TEST_CASE(service_not_configured_to_fetch) {
  MagcdsServe prefetch_only(CDS_MAGCDS_BINARY,
                            "\"audit\":{\"path\":\"@DIR@/audit.jsonl\","
                            "\"hashKeyFile\":\"@DIR@/hash.key\"}");
  Expect412(prefetch_only, Request("https://ehr.example/fhir", true),
            "absent from prefetch, and this service is not configured to fetch from FHIR servers");
}

BOOST_AUTO_TEST_CASE(fhir_query_timeout) {
  Expect412(Fetching(), Request(Faults().Url("/delay-3000"), true),
            "FHIR query for medications failed: timeout after 300 ms");
}

BOOST_AUTO_TEST_CASE(fhir_query_http_status) {
  const std::string message = Expect412(Fetching(), Request(Faults().Url("/status-503"), true),
                                        "FHIR query for medications failed: HTTP 503");
  BOOST_TEST(message.find("FHIR query for conditions failed: HTTP 503") != std::string::npos);
  BOOST_TEST(message.find("FHIR query for observations failed: HTTP 503") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(fhir_query_unreadable_body) {
  Expect412(Fetching(), Request(Faults().Url("/garbage"), true),
            "FHIR query for medications failed: unreadable body (");
}

BOOST_AUTO_TEST_CASE(fhir_query_answer_not_json) {
  Expect412(Fetching(), Request(Faults().Url("/html"), true),
            "FHIR query for medications failed: not FHIR JSON (Content-Type is not JSON)");
}

BOOST_AUTO_TEST_CASE(fhir_query_answer_is_an_operation_outcome) {
  const std::string message = Expect412(Fetching(), Request(Faults().Url("/oo"), true),
                                        "FHIR query for medications failed: the answer is an "
                                        "OperationOutcome");
  BOOST_TEST(message.find("could not prefetch") == std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(fhir_query_without_an_answer) {
  Expect412(Fetching(), Request(Faults().Url("/reset"), true),
            "FHIR query for medications failed: no answer (");
}

BOOST_AUTO_TEST_CASE(prefetched_operation_outcome_and_nothing_to_fetch_with) {
  const std::string outcome =
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"timeout"}]})";
  Expect412(Fetching(),
            Request("", false,
                    R"("patient":null,"medications":)" + outcome +
                        R"(,"conditions":null,"observations":null)"),
            "medications: prefetch value is an OperationOutcome (the client could not prefetch "
            "it), and no fhirServer in the request");
}

// Issue #13 "demo data is honest": on the embedded defaults a patient who is
// not a demo patient gets 412, not an empty 200 that reads as "nothing to say".
BOOST_AUTO_TEST_CASE(embedded_defaults_patient_is_not_a_demo_patient) {
  MagcdsServe embedded(CDS_MAGCDS_BINARY, std::nullopt);
  Expect412(embedded, Request("", false),
            "no fhirServer in the request, and the patient is not one of the embedded demo "
            "patients (");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
