#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fhir/fetched_page.h"

namespace cds::fhir {
namespace {

PrefetchSpec SearchSpec() {
  PrefetchSpec spec;
  spec.key = "conditions";
  spec.query = "Condition?patient={{context.patientId}}";
  spec.category = FactCategory::kConditions;
  spec.resource_type = "Condition";
  return spec;
}

FhirResponse Ok(std::string body, std::string type = "application/fhir+json") {
  FhirResponse response;
  response.status = 200;
  response.body = std::move(body);
  response.content_type = std::move(type);
  return response;
}

const char* kOneCondition =
    R"({"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Condition","id":"c1"}}]})";

BOOST_AUTO_TEST_SUITE(FetchedPageRead)

BOOST_AUTO_TEST_CASE(searchset_with_entries_is_usable) {
  const FetchedPage page = ReadFetchedPage(SearchSpec(), Ok(kOneCondition));
  BOOST_TEST((page.use == PrefetchUse::kUsable));
  BOOST_TEST(page.entries == 1u);
  BOOST_TEST(page.document != nullptr);
}

BOOST_AUTO_TEST_CASE(empty_searchset_is_no_data) {
  const FetchedPage page =
      ReadFetchedPage(SearchSpec(), Ok(R"({"resourceType":"Bundle","type":"searchset"})"));
  BOOST_TEST((page.use == PrefetchUse::kNoData));
}

BOOST_AUTO_TEST_CASE(next_link_makes_a_paged_answer) {
  const FetchedPage page = ReadFetchedPage(
      SearchSpec(),
      Ok(R"({"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"https://x/Condition?page=2"}],
             "entry":[{"resource":{"resourceType":"Condition","id":"c1"}}]})",
         "application/json; charset=utf-8"));
  BOOST_TEST((page.use == PrefetchUse::kPaged));
  BOOST_TEST(page.next_url == "https://x/Condition?page=2");
}

BOOST_AUTO_TEST_CASE(every_kind_of_bad_answer_fails_the_query) {
  FhirResponse none;
  none.error = "connect failed";
  FhirResponse timeout;
  timeout.timed_out = true;
  FhirResponse server_error = Ok(kOneCondition);
  server_error.status = 500;
  const std::vector<FhirResponse> bad{
      none,
      timeout,
      server_error,
      Ok(kOneCondition, "text/html"),
      Ok("<<< not json"),
      Ok(R"({"hello":"world"})"),
      Ok("[1,2]"),
      Ok(R"({"resourceType":"OperationOutcome","issue":[]})"),
      Ok(R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"OperationOutcome"}}]})"),
      Ok(R"({"resourceType":"Patient","id":"p"})"),
  };
  for (const FhirResponse& response : bad) {
    const FetchedPage page = ReadFetchedPage(SearchSpec(), response);
    BOOST_TEST((page.use == PrefetchUse::kNotGiven), response.body);
    BOOST_TEST(!page.reason.empty());
    BOOST_TEST(page.document == nullptr);
  }
}

BOOST_AUTO_TEST_CASE(unresolved_medication_references_are_listed_once) {
  auto doc = JsonDocument::Parse(R"({"resourceType":"Bundle","entry":[
    {"fullUrl":"https://x/Medication/m2","resource":{"resourceType":"Medication","id":"m2"}},
    {"resource":{"resourceType":"MedicationRequest","id":"a","medicationReference":{"reference":"Medication/m1"}}},
    {"resource":{"resourceType":"MedicationRequest","id":"b","medicationReference":{"reference":"Medication/m1"}}},
    {"resource":{"resourceType":"MedicationStatement","id":"c","medicationReference":{"reference":"Medication/m2"}}},
    {"resource":{"resourceType":"MedicationRequest","id":"d","contained":[{"resourceType":"Medication","id":"x"}],
                 "medicationReference":{"reference":"#x"}}},
    {"resource":{"resourceType":"MedicationRequest","id":"e","medicationCodeableConcept":{"text":"t"}}},
    {"resource":{"resourceType":"MedicationStatement","id":"f","medicationReference":{"reference":"https://y/Medication/m3"}}}
  ]})");
  BOOST_TEST_REQUIRE(doc.has_value());
  const std::vector<FhirInput> inputs{{FactCategory::kMedications, (*doc)->root()}};
  const std::vector<std::string> unresolved = UnresolvedMedicationReferences(inputs);
  BOOST_TEST(unresolved == (std::vector<std::string>{"Medication/m1", "https://y/Medication/m3"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
