// The FHIR batch Bundle (fhir/batch_bundle.h, issue #18): what is sent, how
// an answer is read, and when a CapabilityStatement declares batch.

#include <rapidjson/document.h>

#include <ostream>
#include <string>
#include <vector>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "common/json_internal.h"
#include "fhir/batch_bundle.h"
#include "fhir/fhir_client.h"

namespace cds::fhir {

// For data-driven failure messages (found by ADL).
std::ostream& operator<<(std::ostream& out, const FhirResponse& response) {
  return out << "HTTP " << response.status << ": " << response.body;
}

namespace {

namespace bdata = boost::unit_test::data;

FhirResponse Answer(std::string body, int status = 200) {
  FhirResponse response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = "application/fhir+json";
  return response;
}

std::string BatchResponse(const std::string& entries) {
  return R"({"resourceType":"Bundle","type":"batch-response","entry":[)" + entries + "]}";
}

BOOST_AUTO_TEST_SUITE(BatchBundle)

BOOST_AUTO_TEST_CASE(the_request_is_a_batch_of_gets_in_order) {
  const std::string body =
      BatchRequestBody({"Patient/p1", "Condition?patient=p1&code=a%7Cb", "Observation?x=\"q\""});
  rapidjson::Document bundle;
  bundle.Parse(body.c_str(), body.size());
  BOOST_TEST_REQUIRE(!bundle.HasParseError());
  BOOST_TEST(bundle["resourceType"].GetString() == std::string("Bundle"));
  BOOST_TEST(bundle["type"].GetString() == std::string("batch"));
  BOOST_TEST_REQUIRE(bundle["entry"].Size() == 3u);
  BOOST_TEST(bundle["entry"][1]["request"]["method"].GetString() == std::string("GET"));
  BOOST_TEST(bundle["entry"][1]["request"]["url"].GetString() ==
             std::string("Condition?patient=p1&code=a%7Cb"));
  // Escaped as JSON, not pasted.
  BOOST_TEST(bundle["entry"][2]["request"]["url"].GetString() ==
             std::string("Observation?x=\"q\""));
}

BOOST_AUTO_TEST_CASE(entries_carry_their_status_and_their_own_resource) {
  const auto answer = ReadBatchResponse(
      Answer(BatchResponse(
          R"({"resource":{"resourceType":"Patient","id":"p1"},"response":{"status":"200 OK"}},)"
          R"({"response":{"status":"404 Not Found","outcome":{"resourceType":"OperationOutcome"}}},)"
          R"({"resource":{"resourceType":"Bundle","type":"searchset"},"response":{"status":"200"}})")),
      3);
  BOOST_TEST_REQUIRE(answer.has_value());
  BOOST_TEST_REQUIRE(answer->entries.size() == 3u);
  BOOST_TEST(answer->entries[0].status == 200);
  BOOST_TEST_REQUIRE(answer->entries[0].has_resource);
  const rapidjson::Value& patient = json_internal::AsValue(answer->entries[0].resource);
  BOOST_TEST(patient["resourceType"].GetString() == std::string("Patient"));
  BOOST_TEST(answer->entries[1].status == 404);
  BOOST_TEST(!answer->entries[1].has_resource);
  BOOST_TEST(answer->entries[2].status == 200);
  const rapidjson::Value& bundle = json_internal::AsValue(answer->entries[2].resource);
  BOOST_TEST(bundle["type"].GetString() == std::string("searchset"));
}

BOOST_DATA_TEST_CASE(a_status_that_does_not_start_with_a_code_reads_as_none,
                     bdata::make({std::string("OK"), std::string(""), std::string("2000"),
                                  std::string("99 x"), std::string("200OK")}),
                     status) {
  const auto answer = ReadBatchResponse(
      Answer(BatchResponse(R"({"resource":{"resourceType":"Patient"},"response":{"status":")" +
                           status + R"("}})")),
      1);
  BOOST_TEST_REQUIRE(answer.has_value());
  BOOST_TEST(answer->entries[0].status == 0);
}

BOOST_DATA_TEST_CASE(
    a_batch_that_failed_as_a_whole_is_an_error,
    bdata::make({Answer("{}", 500), Answer("not json"),
                 Answer(R"({"resourceType":"Bundle","type":"searchset","entry":[{}]})"),
                 Answer(R"({"resourceType":"OperationOutcome"})"),
                 Answer(BatchResponse(R"({"response":{"status":"200"}},{})")),
                 Answer(R"({"resourceType":"Bundle","type":"batch-response"})")}),
    response) {
  const auto answer = ReadBatchResponse(response, 1);
  BOOST_TEST(!answer.has_value());
}

BOOST_AUTO_TEST_CASE(no_answer_is_an_error_that_says_so) {
  FhirResponse none;
  none.error = "connection refused";
  const auto answer = ReadBatchResponse(none, 2);
  BOOST_TEST_REQUIRE(!answer.has_value());
  BOOST_TEST(answer.error().message == "no answer (connection refused)");
}

BOOST_AUTO_TEST_CASE(the_capability_statement_declares_batch_for_the_server_only) {
  auto statement = [](const std::string& rest) {
    return Answer(R"({"resourceType":"CapabilityStatement","rest":[)" + rest + "]}");
  };
  BOOST_TEST(CapabilityDeclaresBatch(
      statement(R"({"mode":"server","interaction":[{"code":"transaction"},{"code":"batch"}]})")));
  BOOST_TEST(!CapabilityDeclaresBatch(
      statement(R"({"mode":"server","interaction":[{"code":"transaction"}]})")));
  BOOST_TEST(
      !CapabilityDeclaresBatch(statement(R"({"mode":"client","interaction":[{"code":"batch"}]})")));
  BOOST_TEST(!CapabilityDeclaresBatch(statement(R"({"mode":"server"})")));
  FhirResponse refused = statement(R"({"mode":"server","interaction":[{"code":"batch"}]})");
  refused.status = 401;
  BOOST_TEST(!CapabilityDeclaresBatch(refused));
  BOOST_TEST(!CapabilityDeclaresBatch(Answer(R"({"resourceType":"Patient"})")));
  BOOST_TEST(!CapabilityDeclaresBatch(Answer("[1,2]")));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
