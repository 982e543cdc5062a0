// The DataGatherer's policy (fhir/data_gatherer.h) against FakeFhirClient:
// prefetch vs fetch, null = no data, partial, failed fetch with its reason,
// paging caps, Medication reads, the one deadline. No sockets, no clock, no
// sleeps; the same behaviour over real HTTP is covered by
// tests/service/fetch_integration_test.cc (Node FHIR servers), including a
// server that never answers (the deadline itself is enforced by the
// FhirClient, so it can only be shown with the real client).

#include "fhir/data_gatherer.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "fhir/fhir_client.h"
#include "fhir/normalize.h"
#include "tests/fhir/fhir_test_util.h"
#include "tests/fhir/gathering.h"
#include "tests/support/fake_fhir_client.h"

namespace cds::fhir {

namespace {

namespace bdata = boost::unit_test::data;
using namespace gathering;  // NOLINT(google-build-using-namespace): the fixture's vocabulary

BOOST_AUTO_TEST_SUITE(DataGathererPrefetch)

BOOST_AUTO_TEST_CASE(complete_prefetch_makes_no_query) {
  Gathering g;
  g.PrefetchAllBut({});
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST(result.queries == 0u);
  BOOST_TEST(!result.error.has_value());
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST_REQUIRE(result.keys.size() == 4u);
  for (const KeyReport& key : result.keys) {
    BOOST_TEST(key.source == KeySource::kHit, key.key);
  }
  for (FactCategory c : {FactCategory::kPatient, FactCategory::kMedications,
                         FactCategory::kConditions, FactCategory::kObservations}) {
    BOOST_TEST(g.State(c) == Availability::kComplete, FactCategoryName(c));
  }
  BOOST_TEST(MedicationRefs(g.Facts()) == std::set<std::string>{"MedicationRequest/r1"});
}

BOOST_AUTO_TEST_CASE(null_prefetch_is_no_data_and_never_fetched) {
  Gathering g;
  g.PrefetchAllBut({"medications"}).Prefetch("medications", "null");
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST(g.Key("medications").source == KeySource::kNull);
  // Obtained, and empty: "no medications" may be relied on.
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kComplete);
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST(g.Facts().medications.empty());
}

BOOST_AUTO_TEST_CASE(empty_searchset_is_no_data_and_never_fetched) {
  Gathering g;
  g.PrefetchAllBut({"conditions"}).Prefetch("conditions", kEmptySearchset);
  g.Run();
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST(g.State(FactCategory::kConditions) == Availability::kComplete);
  BOOST_TEST(g.Facts().conditions.empty());
}

// Checklist P-13 / P-18: what cannot be used counts as absent and is fetched.
BOOST_DATA_TEST_CASE(unusable_prefetch_is_fetched_from_fhir_server,
                     bdata::make({std::string("<absent>"), std::string(kOperationOutcome),
                                  Bundle({kOperationOutcome}), Condition("c9")}),
                     prefetched) {
  Gathering g;
  g.PrefetchAllBut({"medications"});
  if (prefetched != "<absent>") g.Prefetch("medications", prefetched);
  g.server().ServeJson(kMedicationsUrl, Bundle({MedicationRequest("r2")}));
  const GatherResult& result = g.Run();

  const std::vector<FhirGet> requests = g.server().requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  BOOST_TEST(requests[0].url == kMedicationsUrl);
  BOOST_TEST(requests[0].bearer_token == kToken);
  // Logs see the template, never the patient id.
  BOOST_TEST(requests[0].log_path ==
             "MedicationRequest?patient={{context.patientId}}&status=active");
  BOOST_TEST(result.queries == 1u);
  BOOST_TEST(g.Key("medications").source == KeySource::kFetched);
  BOOST_TEST(Contains(g.Key("medications").reason,
                      prefetched == "<absent>" ? "absent from prefetch" : "prefetch value is"));
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kComplete);
  // The fetched data replaces the unusable value.
  BOOST_TEST(MedicationRefs(g.Facts()) == std::set<std::string>{"MedicationRequest/r2"});
}

BOOST_AUTO_TEST_CASE(every_missing_key_is_fetched_and_joined_in_spec_order) {
  Gathering g;
  g.server().ServeJson(kPatientUrl, Patient());
  g.server().ServeJson(kMedicationsUrl, Bundle({MedicationRequest("r1")}));
  g.server().ServeJson(kConditionsUrl, Bundle({Condition("c1")}));
  g.server().ServeJson(kObservationsUrl, Bundle({Observation("o1")}));
  const GatherResult& result = g.Run();
  BOOST_TEST(result.queries == 4u);
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST_REQUIRE(result.inputs.size() == 4u);
  const FactCategory order[] = {FactCategory::kPatient, FactCategory::kMedications,
                                FactCategory::kConditions, FactCategory::kObservations};
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(result.inputs[i].category == order[i]);
  const PatientFacts facts = g.Facts();
  BOOST_TEST(facts.patient_id == "p1");
  BOOST_TEST(facts.conditions.size() == 1u);
  BOOST_TEST(facts.observations.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(DataGathererNotFetched)

struct NoFetchCase {
  std::string name;
  std::string fhir_server;
  std::string access_token;
  bool with_client;
  std::string reason;
};
std::ostream& operator<<(std::ostream& out, const NoFetchCase& c) { return out << c.name; }

const NoFetchCase kNoFetchCases[] = {
    {"no fhirServer", "", kToken, true, "no fhirServer in the request"},
    {"no token", kBase, "", true, "fhirServer present but no fhirAuthorization (access token)"},
    {"no client", kBase, kToken, false,
     "this service is not configured to fetch from FHIR servers"},
};

// Checklist P-15, F-1: a required key that is missing and cannot be fetched
// is named, with why, for the 412; no connection is attempted.
BOOST_DATA_TEST_CASE(missing_required_key_that_cannot_be_fetched_is_unavailable_with_why,
                     bdata::make(kNoFetchCases), c) {
  Gathering g;
  g.PrefetchAllBut({"medications", "conditions"});
  g.input().fhir_server = c.fhir_server;
  g.input().access_token = c.access_token;
  const GatherResult& result = g.Run(c.with_client);
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST(result.unavailable_required == (std::vector<std::string>{"medications", "conditions"}),
             boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(result.unavailable_details.size() == 2u);
  BOOST_TEST(result.unavailable_details[0].given == "absent from prefetch");
  BOOST_TEST(result.unavailable_details[0].not_fetched == c.reason);
  BOOST_TEST(g.Key("medications").source == KeySource::kMissing);
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kNotObtained);
  BOOST_TEST(g.State(FactCategory::kConditions) == Availability::kNotObtained);
  BOOST_TEST(g.State(FactCategory::kPatient) == Availability::kComplete);
  // Both keys share one clause of the 412 message.
  BOOST_TEST(UnavailableMessage(result) ==
             "required data could not be obtained: medications, "
             "conditions: absent from prefetch, and " +
                 c.reason);
}

BOOST_AUTO_TEST_CASE(fhir_server_off_the_allowlist_is_refused_without_any_query) {
  Gathering g;
  g.input().fhir_server = "https://elsewhere.example/fhir";
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST_REQUIRE(result.error.has_value());
  BOOST_TEST((result.error->code == ErrorCode::kInvalidRequest));
  BOOST_TEST(result.keys.empty());
}

BOOST_AUTO_TEST_CASE(missing_optional_key_leaves_its_category_not_obtained_without_412) {
  Gathering g;
  g.PrefetchAllBut({"magnesium"});
  g.input().fhir_server.clear();
  const GatherResult& result = g.Run();
  BOOST_TEST(result.unavailable_required.empty());
  // Three-valued logic: a rule on "no magnesium result" must not fire.
  BOOST_TEST(g.State(FactCategory::kObservations) == Availability::kNotObtained);
  BOOST_TEST(Contains(result.state(FactCategory::kObservations).note, "magnesium"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(DataGathererFailedFetch)

struct FailureCase {
  std::string name;
  std::function<void(FakeFhirClient&, const std::string&)> serve;
  std::string reason;  // UnavailableKey::fetch_error
};
std::ostream& operator<<(std::ostream& out, const FailureCase& c) { return out << c.name; }

const FailureCase kFailures[] = {
    {"http 503", [](FakeFhirClient& s, const std::string& url) { s.Serve(url, 503, ""); },
     "HTTP 503"},
    {"http 401", [](FakeFhirClient& s, const std::string& url) { s.Serve(url, 401, ""); },
     "HTTP 401"},
    {"unregistered url (404)", [](FakeFhirClient&, const std::string&) {}, "HTTP 404"},
    {"no answer",
     [](FakeFhirClient& s, const std::string& url) { s.Fail(url, "connection refused"); },
     "no answer (connection refused)"},
    // RestFhirClient's report at the deadline: the gatherer names its deadline.
    {"deadline", [](FakeFhirClient& s, const std::string& url) { s.TimeOut(url); },
     "timeout after 300 ms"},
    {"html",
     [](FakeFhirClient& s, const std::string& url) {
       s.Serve(url, 200, "<html></html>", "text/html");
     },
     "not FHIR JSON (Content-Type is not JSON)"},
    {"malformed json",
     [](FakeFhirClient& s, const std::string& url) { s.ServeJson(url, R"({"resourceType":)"); },
     "unreadable body"},
    {"operation outcome",
     [](FakeFhirClient& s, const std::string& url) { s.ServeJson(url, kOperationOutcome); },
     "the answer is an OperationOutcome"},
    {"wrong type (a bare resource for a search)",
     [](FakeFhirClient& s, const std::string& url) { s.ServeJson(url, Condition("c")); },
     "the answer is of type 'Condition'"},
    {"bundle holding an operation outcome",
     [](FakeFhirClient& s, const std::string& url) {
       s.ServeJson(url, Bundle({kOperationOutcome}));
     },
     "the answer is a Bundle holding an OperationOutcome"},
    {"not a resource", [](FakeFhirClient& s, const std::string& url) { s.ServeJson(url, "[]"); },
     "not a FHIR resource"},
};

BOOST_DATA_TEST_CASE(failed_query_of_required_key_is_unavailable_with_its_reason,
                     bdata::make(kFailures), c) {
  Gathering g;
  g.PrefetchAllBut({"medications"});
  c.serve(g.server(), kMedicationsUrl);
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().CountRequests(kMedicationsUrl) == 1u);
  BOOST_TEST(g.Key("medications").source == KeySource::kFailed);
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kNotObtained);
  BOOST_TEST_REQUIRE(result.unavailable_details.size() == 1u);
  const UnavailableKey& key = result.unavailable_details[0];
  BOOST_TEST(key.key == "medications");
  BOOST_TEST(!key.fetch_error.empty());
  BOOST_TEST(Contains(key.fetch_error, c.reason), key.fetch_error);
  const std::string message = UnavailableMessage(result);
  BOOST_TEST(Contains(message, "FHIR query for medications failed: " + key.fetch_error), message);
  // Never the token or the patient id (the URL's query values) in the why.
  BOOST_TEST(!Contains(message, kToken));
  BOOST_TEST(!Contains(message, "patient=p1"));
  // Failed data is never used, not even a wrong-type body.
  BOOST_TEST(g.Facts().medications.empty());
}

BOOST_DATA_TEST_CASE(failed_query_of_optional_key_gives_no_412_and_no_absence,
                     bdata::make(kFailures), c) {
  Gathering g;
  g.PrefetchAllBut({"magnesium"});
  c.serve(g.server(), kObservationsUrl);
  const GatherResult& result = g.Run();
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST(g.Key("magnesium").source == KeySource::kFailed);
  BOOST_TEST(g.State(FactCategory::kObservations) == Availability::kNotObtained);
  BOOST_TEST(Contains(result.state(FactCategory::kObservations).note, "fetch failed"));
}

// An optional key fails while another key of the same category had data: the
// category is partial (something is known, "none" is not).
BOOST_AUTO_TEST_CASE(failed_optional_key_beside_a_good_one_makes_the_category_partial) {
  Gathering g;
  g.input().specs.push_back(Spec("potassium",
                                 "Observation?patient={{context.patientId}}&code=2823-3",
                                 FactCategory::kObservations, "Observation", false));
  g.PrefetchAllBut({});
  const std::string potassium_url = std::string(kBase) + "/Observation?patient=p1&code=2823-3";
  g.server().Serve(potassium_url, 500, "");
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().CountRequests(potassium_url) == 1u);
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST(g.State(FactCategory::kObservations) == Availability::kPartial);
  BOOST_TEST(Contains(result.state(FactCategory::kObservations).note, "potassium"));
  BOOST_TEST(g.Facts().observations.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(DataGathererPaging)

const std::string kPage2 = std::string(kBase) + "/page?n=2";
const std::string kPage3 = std::string(kBase) + "/page?n=3";

BOOST_AUTO_TEST_CASE(prefetched_next_links_are_followed_and_pages_joined) {
  Gathering g;
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Page({MedicationRequest("r1")}, kPage2));
  g.server().ServeJson(kPage2, Page({MedicationRequest("r2")}, kPage3));
  g.server().ServeJson(kPage3, Page({MedicationRequest("r3")}, ""));
  const GatherResult& result = g.Run();
  BOOST_TEST(result.queries == 2u);
  BOOST_TEST(g.server().requests()[0].bearer_token == kToken);
  BOOST_TEST(g.server().requests()[0].log_path == "MedicationRequest next page");
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kComplete);
  BOOST_TEST(MedicationRefs(g.Facts()) ==
             (std::set<std::string>{"MedicationRequest/r1", "MedicationRequest/r2",
                                    "MedicationRequest/r3"}));
}

// Checklist P-17: without a way to page, the first page alone is partial.
BOOST_AUTO_TEST_CASE(paged_prefetch_without_fhir_server_is_partial) {
  Gathering g;
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Page({MedicationRequest("r1")}, kPage2));
  g.input().fhir_server.clear();
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kPartial);
  BOOST_TEST(Contains(g.Key("medications").reason, "prefetch has more pages; not fetched"));
  BOOST_TEST(MedicationRefs(g.Facts()) == std::set<std::string>{"MedicationRequest/r1"});
}

BOOST_AUTO_TEST_CASE(page_cap_fails_the_key_and_drops_the_pages_read) {
  Gathering g;
  g.options().max_pages = 2;
  g.PrefetchAllBut({"medications"});
  g.server().ServeJson(kMedicationsUrl, Page({MedicationRequest("r1")}, kPage2));
  g.server().ServeJson(kPage2, Page({MedicationRequest("r2")}, kPage3));
  g.server().ServeJson(kPage3, Page({MedicationRequest("r3")}, ""));
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().CountRequests(kPage3) == 0u);
  BOOST_TEST(result.queries == 2u);
  BOOST_TEST_REQUIRE(result.unavailable_details.size() == 1u);
  BOOST_TEST(result.unavailable_details[0].fetch_error == "page cap (2) reached");
  BOOST_TEST(g.Facts().medications.empty());
}

BOOST_AUTO_TEST_CASE(page_cap_counts_the_prefetched_page) {
  Gathering g;
  g.options().max_pages = 1;
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Page({MedicationRequest("r1")}, kPage2));
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST(g.Key("medications").source == KeySource::kFailed);
  BOOST_TEST_REQUIRE(result.unavailable_details.size() == 1u);
  BOOST_TEST(result.unavailable_details[0].fetch_error == "page cap (1) reached");
}

BOOST_AUTO_TEST_CASE(entry_cap_fails_the_key_on_the_last_page_too) {
  Gathering g;
  g.options().max_entries = 3;
  g.PrefetchAllBut({"medications"});
  g.server().ServeJson(kMedicationsUrl,
                       Page({MedicationRequest("r1"), MedicationRequest("r2")}, kPage2));
  g.server().ServeJson(kPage2, Page({MedicationRequest("r3"), MedicationRequest("r4")}, ""));
  const GatherResult& result = g.Run();
  BOOST_TEST(result.queries == 2u);
  BOOST_TEST_REQUIRE(result.unavailable_details.size() == 1u);
  BOOST_TEST(result.unavailable_details[0].fetch_error == "entry cap (3) reached");
  BOOST_TEST(g.Facts().medications.empty());
}

BOOST_AUTO_TEST_CASE(entry_cap_reached_before_a_next_link_stops_paging) {
  Gathering g;
  g.options().max_entries = 2;
  g.PrefetchAllBut({"medications"});
  g.server().ServeJson(kMedicationsUrl,
                       Page({MedicationRequest("r1"), MedicationRequest("r2")}, kPage2));
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().CountRequests(kPage2) == 0u);
  BOOST_TEST_REQUIRE(result.unavailable_details.size() == 1u);
  BOOST_TEST(result.unavailable_details[0].fetch_error == "entry cap (2) reached");
}

BOOST_AUTO_TEST_CASE(next_link_to_another_origin_is_not_followed) {
  Gathering g;
  const std::string elsewhere = "https://elsewhere.example/fhir/page?n=2";
  g.PrefetchAllBut({"medications"});
  g.server().ServeJson(kMedicationsUrl, Page({MedicationRequest("r1")}, elsewhere));
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().CountRequests(elsewhere) == 0u);
  BOOST_TEST_REQUIRE(result.unavailable_details.size() == 1u);
  BOOST_TEST(result.unavailable_details[0].fetch_error ==
             "next link points away from fhirServer; not followed");
}

BOOST_AUTO_TEST_CASE(failed_second_page_drops_the_first) {
  Gathering g;
  g.PrefetchAllBut({"magnesium"});
  g.server().ServeJson(kObservationsUrl, Page({Observation("o1")}, kPage2));
  g.server().Serve(kPage2, 500, "");
  const GatherResult& result = g.Run();
  BOOST_TEST(result.queries == 2u);
  BOOST_TEST(g.Key("magnesium").source == KeySource::kFailed);
  // Page 1 alone is never taken as all results: not obtained, not "none low".
  BOOST_TEST(g.State(FactCategory::kObservations) == Availability::kNotObtained);
  BOOST_TEST(g.Facts().observations.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(DataGathererMedicationReads)

const std::string kMedicationM1 = std::string(kBase) + "/Medication/m1";

BOOST_AUTO_TEST_CASE(unresolved_reference_is_read_once_every_key_is_settled) {
  Gathering g;
  g.PrefetchAllBut({"medications", "conditions"});
  g.server().ServeJson(kMedicationsUrl,
                       Bundle({ReferencedMedicationRequest("r1", "Medication/m1")}));
  g.server().ServeJson(kConditionsUrl, Bundle({Condition("c1")}));
  g.server().ServeJson(kMedicationM1, Medication("m1"));
  g.server().Hold(kConditionsUrl);
  g.Start();
  // The conditions query is still out: no Medication read yet, nothing done.
  BOOST_TEST(!g.done());
  BOOST_TEST(g.server().CountRequests(kMedicationM1) == 0u);
  BOOST_TEST(g.server().Release(kConditionsUrl) == 1u);
  const GatherResult& result = g.Result();
  BOOST_TEST(g.server().CountRequests(kMedicationM1) == 1u);
  BOOST_TEST(result.queries == 3u);
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kComplete);
  const PatientFacts facts = g.Facts();
  BOOST_TEST_REQUIRE(facts.medications.size() == 1u);
  BOOST_TEST_REQUIRE(facts.medications[0].code.codings.size() == 1u);
  BOOST_TEST(facts.medications[0].code.codings[0].code == "198051");
}

BOOST_AUTO_TEST_CASE(reference_resolved_in_a_bundle_is_not_read) {
  Gathering g;
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications",
                Bundle({ReferencedMedicationRequest("r1", "Medication/m1"), Medication("m1")}));
  g.Run();
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kComplete);
}

BOOST_AUTO_TEST_CASE(failed_medication_read_leaves_medications_partial) {
  Gathering g;
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Bundle({ReferencedMedicationRequest("r1", "Medication/m1")}));
  g.server().Serve(kMedicationM1, 500, "");
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().CountRequests(kMedicationM1) == 1u);
  // Not a 412 (the orders are known), but "no such drug" can no longer be trusted.
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kPartial);
  BOOST_TEST(Contains(result.state(FactCategory::kMedications).note,
                      "a Medication read failed: HTTP 500"));
}

BOOST_AUTO_TEST_CASE(medication_reads_stop_at_the_cap) {
  Gathering g;
  g.options().max_medication_reads = 1;
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Bundle({ReferencedMedicationRequest("r1", "Medication/m1"),
                                       ReferencedMedicationRequest("r2", "Medication/m2")}));
  g.server().ServeJson(kMedicationM1, Medication("m1"));
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().size() == 1u);
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kPartial);
  BOOST_TEST(
      Contains(result.state(FactCategory::kMedications).note, "Medication read cap (1) reached"));
}

BOOST_AUTO_TEST_CASE(reference_outside_fhir_server_is_not_followed) {
  Gathering g;
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Bundle({ReferencedMedicationRequest(
                                   "r1", "https://elsewhere.example/fhir/Medication/m1")}));
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().empty());
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kPartial);
  BOOST_TEST(Contains(result.state(FactCategory::kMedications).note,
                      "points outside fhirServer; not followed"));
}

BOOST_AUTO_TEST_CASE(references_are_not_read_without_a_fhir_server) {
  Gathering g;
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Bundle({ReferencedMedicationRequest("r1", "Medication/m1")}));
  g.input().fhir_server.clear();
  g.Run();
  BOOST_TEST(g.server().requests().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(DataGathererOrderingAndDeadline)

// Every query of one request, next pages and Medication reads included, is
// bounded by the same deadline, counted from the call to Gather.
BOOST_AUTO_TEST_CASE(every_query_shares_one_deadline_from_the_gather_call) {
  Gathering g;
  g.options().deadline = std::chrono::milliseconds(250);
  g.PrefetchAllBut({"medications", "conditions"});
  const std::string page2 = std::string(kBase) + "/page?n=2";
  g.server().ServeJson(kMedicationsUrl,
                       Page({ReferencedMedicationRequest("r1", "Medication/m1")}, page2));
  g.server().ServeJson(page2, Page({MedicationRequest("r2")}, ""));
  g.server().ServeJson(kConditionsUrl, Bundle({Condition("c1")}));
  g.server().ServeJson(std::string(kBase) + "/Medication/m1", Medication("m1"));
  const auto before = std::chrono::steady_clock::now();
  g.Run();
  const auto after = std::chrono::steady_clock::now();
  const std::vector<FhirGet> requests = g.server().requests();
  BOOST_TEST_REQUIRE(requests.size() == 4u);
  for (const FhirGet& request : requests) {
    BOOST_TEST((request.deadline == requests[0].deadline), request.url);
  }
  // Monotonic bounds only: no timing assertion.
  BOOST_TEST((requests[0].deadline >= before + std::chrono::milliseconds(250)));
  BOOST_TEST((requests[0].deadline <= after + std::chrono::milliseconds(250)));
}

// Answers may come back in any order (queries run in parallel); the result
// does not depend on it.
BOOST_AUTO_TEST_CASE(answers_in_any_order_give_the_same_result) {
  const std::vector<std::string> urls = {kPatientUrl, kMedicationsUrl, kConditionsUrl,
                                         kObservationsUrl};
  auto gather = [&](const std::vector<std::string>& release_order) {
    auto g = std::make_unique<Gathering>();
    g->server().ServeJson(kPatientUrl, Patient());
    g->server().ServeJson(kMedicationsUrl, Bundle({MedicationRequest("r1")}));
    g->server().ServeJson(kConditionsUrl, Bundle({Condition("c1")}));
    g->server().Serve(kObservationsUrl, 503, "");
    for (const std::string& url : urls) g->server().Hold(url);
    g->Start();
    // All four run at once: none waits for another.
    BOOST_TEST(g->server().held() == 4u);
    for (const std::string& url : release_order) {
      BOOST_TEST(!g->done());
      BOOST_TEST(g->server().Release(url) == 1u);
    }
    BOOST_TEST(g->done());
    return g;
  };
  const auto in_order = gather(urls);
  const auto reversed = gather({urls.rbegin(), urls.rend()});
  const GatherResult& a = in_order->Result();
  const GatherResult& b = reversed->Result();
  BOOST_TEST_REQUIRE(a.keys.size() == b.keys.size());
  for (std::size_t i = 0; i < a.keys.size(); ++i) {
    BOOST_TEST(a.keys[i].key == b.keys[i].key);
    BOOST_TEST((a.keys[i].source == b.keys[i].source), a.keys[i].key);
    BOOST_TEST(a.keys[i].reason == b.keys[i].reason);
  }
  BOOST_TEST_REQUIRE(a.inputs.size() == b.inputs.size());
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    BOOST_TEST((a.inputs[i].category == b.inputs[i].category));
  }
  BOOST_TEST(a.notes == b.notes, boost::test_tools::per_element());
  BOOST_TEST(in_order->State(FactCategory::kObservations) == Availability::kNotObtained);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
