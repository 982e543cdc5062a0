// Issue #18: the DataGatherer sends a request's queries as one FHIR batch to a
// server that takes batches (GatherOptions::batch), against FakeFhirClient's
// batch server. What must hold: the same facts as the GETs would give, each
// key judged by its own entry (a failed entry fails that key only), a batch
// that fails as a whole retried as GETs, a timed-out one not retried, and the
// server's CapabilityStatement read once, without the token, in the
// background (BatchCapability). Over real HTTP: tests/service/fetch_integration_test.cc.

#include <rapidjson/document.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "common/json_internal.h"
#include "fhir/batch_capability.h"
#include "fhir/data_gatherer.h"
#include "fhir/fhir_client.h"
#include "tests/fhir/gathering.h"

namespace cds::fhir {
namespace {

using namespace gathering;  // NOLINT(google-build-using-namespace): the fixture's vocabulary
using cds::testing::FakeFhirClient;

const std::string kMetadataUrl = std::string(kBase) + "/metadata";

std::string CapabilityStatement(bool batch) {
  return std::string(
             R"({"resourceType":"CapabilityStatement","status":"active","kind":"instance",)") +
         R"("fhirVersion":"4.0.1","format":["json"],"rest":[{"mode":"server","interaction":[)" +
         (batch ? R"({"code":"batch"},)" : "") + R"({"code":"search-system"}]}]})";
}

// A gathering with nothing prefetched, every key served, and a batch server.
struct BatchGathering : Gathering {
  explicit BatchGathering(std::shared_ptr<BatchCapability> capability) {
    options().batch = std::move(capability);
    server().ServeJson(kPatientUrl, Patient());
    server().ServeJson(kMedicationsUrl, Bundle({MedicationRequest("r1")}));
    server().ServeJson(kConditionsUrl, Bundle({Condition("c1")}));
    server().ServeJson(kObservationsUrl, Bundle({Observation("o1")}));
    server().ServeBatches(kBase);
  }
};

std::shared_ptr<BatchCapability> KnownBatchServer() {
  auto capability = std::make_shared<BatchCapability>(nullptr);
  BOOST_TEST((capability->Check(kBase) == BatchCapability::Verdict::kProbe));
  capability->Learn(kBase, true);
  return capability;
}

// The entries' request urls of a POSTed batch Bundle.
std::vector<std::string> EntryUrls(const FhirPost& post) {
  rapidjson::Document bundle;
  bundle.Parse(post.body.c_str(), post.body.size());
  BOOST_TEST_REQUIRE(!bundle.HasParseError());
  BOOST_TEST(bundle["resourceType"].GetString() == std::string("Bundle"));
  BOOST_TEST(bundle["type"].GetString() == std::string("batch"));
  std::vector<std::string> urls;
  for (const auto& entry : bundle["entry"].GetArray()) {
    BOOST_TEST(entry["request"]["method"].GetString() == std::string("GET"));
    urls.emplace_back(entry["request"]["url"].GetString());
  }
  return urls;
}

std::string ResourceType(JsonRef value) {
  const rapidjson::Value& v = json_internal::AsValue(value);
  return v.IsObject() && v.HasMember("resourceType") ? v["resourceType"].GetString() : "";
}

BOOST_AUTO_TEST_SUITE(DataGathererBatch)

BOOST_AUTO_TEST_CASE(a_server_that_takes_batches_gets_one_post_for_all_missing_keys) {
  BatchGathering g(KnownBatchServer());
  const GatherResult& result = g.Run();

  BOOST_TEST(g.server().requests().empty());
  const std::vector<FhirPost> posts = g.server().posts();
  BOOST_TEST_REQUIRE(posts.size() == 1u);
  BOOST_TEST(posts[0].url == kBase);
  BOOST_TEST(posts[0].bearer_token == kToken);
  BOOST_TEST(posts[0].content_type == "application/fhir+json");
  // Logs see the number of queries, never the patient id.
  BOOST_TEST(posts[0].log_path == "batch (4 queries)");
  const std::vector<std::string> urls = EntryUrls(posts[0]);
  const std::vector<std::string> expected = {
      "Patient/p1", "MedicationRequest?patient=p1&status=active", "Condition?patient=p1",
      "Observation?patient=p1&code=http://loinc.org%7C19123-9"};
  BOOST_TEST(urls == expected, boost::test_tools::per_element());
  BOOST_TEST(result.queries == 1u);
  BOOST_TEST(result.unavailable_required.empty());

  // Each key's input is its own entry's resource, not the batch-response.
  BOOST_TEST_REQUIRE(result.inputs.size() == 4u);
  BOOST_TEST(ResourceType(result.inputs[0].value) == "Patient");
  for (std::size_t i = 1; i < 4; ++i) BOOST_TEST(ResourceType(result.inputs[i].value) == "Bundle");
  for (const char* key : {"patient", "medications", "conditions", "magnesium"}) {
    BOOST_TEST(g.Key(key).source == KeySource::kFetched, key);
  }
  const PatientFacts facts = g.Facts();
  BOOST_TEST(facts.patient_id == "p1");
  BOOST_TEST(MedicationRefs(facts) == std::set<std::string>{"MedicationRequest/r1"});
  BOOST_TEST(facts.conditions.size() == 1u);
  BOOST_TEST(facts.observations.size() == 1u);
}

BOOST_AUTO_TEST_CASE(batch_and_gets_give_the_same_facts) {
  BatchGathering batched(KnownBatchServer());
  batched.Run();
  BatchGathering plain(nullptr);
  plain.Run();
  BOOST_TEST(plain.server().posts().empty());
  BOOST_TEST(plain.server().requests().size() == 4u);
  const PatientFacts a = batched.Facts();
  const PatientFacts b = plain.Facts();
  BOOST_TEST(a.patient_id == b.patient_id);
  BOOST_TEST(MedicationRefs(a) == MedicationRefs(b));
  BOOST_TEST(a.conditions.size() == b.conditions.size());
  BOOST_TEST(a.observations.size() == b.observations.size());
  for (FactCategory c : {FactCategory::kPatient, FactCategory::kMedications,
                         FactCategory::kConditions, FactCategory::kObservations}) {
    BOOST_TEST(batched.State(c) == plain.State(c));
  }
}

BOOST_AUTO_TEST_CASE(a_failed_entry_fails_only_its_key_as_the_get_would) {
  BatchGathering g(KnownBatchServer());
  g.server().Serve(kConditionsUrl, 500, kOperationOutcome);
  g.server().ServeJson(kObservationsUrl, kOperationOutcome);  // 200 with an OperationOutcome
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().posts().size() == 1u);
  BOOST_TEST(g.server().requests().empty());  // not retried as a GET: it would fail the same way
  BOOST_TEST(result.unavailable_required == std::vector<std::string>{"conditions"},
             boost::test_tools::per_element());
  BOOST_TEST(g.Key("conditions").source == KeySource::kFailed);
  BOOST_TEST(Contains(g.Key("conditions").reason, "HTTP 500"));
  BOOST_TEST(Contains(UnavailableMessage(result), "FHIR query for conditions failed: HTTP 500"));
  // The optional key's OperationOutcome is judged as a GET's would be.
  BOOST_TEST(g.Key("magnesium").source == KeySource::kFailed);
  BOOST_TEST(Contains(g.Key("magnesium").reason, "OperationOutcome"));
  BOOST_TEST(g.State(FactCategory::kObservations) == Availability::kNotObtained);
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kComplete);
}

BOOST_AUTO_TEST_CASE(a_batch_that_fails_as_a_whole_is_retried_as_gets_and_not_sent_again) {
  auto capability = KnownBatchServer();
  BatchGathering g(capability);
  FhirResponse refused;
  refused.status = 500;
  refused.content_type = "application/fhir+json";
  refused.body = kOperationOutcome;
  g.server().AnswerPosts(refused);
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().posts().size() == 1u);
  BOOST_TEST(g.server().requests().size() == 4u);
  BOOST_TEST(result.queries == 5u);
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST(MedicationRefs(g.Facts()) == std::set<std::string>{"MedicationRequest/r1"});
  BOOST_TEST((capability->Check(kBase) == BatchCapability::Verdict::kDontUse));

  BatchGathering next(capability);
  next.Run();
  BOOST_TEST(next.server().posts().empty());
  BOOST_TEST(next.server().requests().size() == 4u);
}

// An overload or outage answer says nothing about batch support: GETs for
// this call and the next minute, then the CapabilityStatement is read again.
// Any other whole-batch failure keeps batches off for the hour.
BOOST_AUTO_TEST_CASE(a_transient_batch_failure_pauses_batching_for_minutes_not_the_hour) {
  using std::chrono::minutes;
  struct Case {
    int status;
    bool transient;
  };
  for (const Case c : {Case{503, true}, Case{502, true}, Case{504, true}, Case{429, true},
                       Case{0, true}, Case{500, false}, Case{400, false}, Case{405, false}}) {
    auto capability = KnownBatchServer();
    BatchGathering g(capability);
    FhirResponse failed;
    failed.status = c.status;
    if (c.status == 0) failed.error = "connection reset";
    failed.content_type = "application/fhir+json";
    failed.body = kOperationOutcome;
    g.server().AnswerPosts(failed);
    const auto before = BatchCapability::Clock::now();
    const GatherResult& result = g.Run();
    BOOST_TEST(result.unavailable_required.empty(), "status " << c.status);
    BOOST_TEST(g.server().requests().size() == 4u, "status " << c.status);
    BOOST_TEST((capability->Check(kBase, before + std::chrono::seconds(30)) ==
                BatchCapability::Verdict::kDontUse),
               "status " << c.status);
    const auto later = capability->Check(kBase, before + minutes(2));
    BOOST_TEST(((later == BatchCapability::Verdict::kProbe) == c.transient), "status " << c.status);
  }
}

BOOST_AUTO_TEST_CASE(an_answer_that_is_not_a_batch_response_is_retried_as_gets) {
  BatchGathering g(KnownBatchServer());
  FhirResponse odd;
  odd.status = 200;
  odd.content_type = "application/fhir+json";
  odd.body = Bundle({Condition("c1")});  // a searchset, not a batch-response
  g.server().AnswerPosts(odd);
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().size() == 4u);
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST(g.Facts().conditions.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_batch_that_times_out_fails_its_keys_and_the_next_calls_use_gets) {
  auto capability = KnownBatchServer();
  BatchGathering g(capability);
  FhirResponse late;
  late.error = "timed out";
  late.timed_out = true;
  g.server().AnswerPosts(late);
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().requests().empty());
  const std::vector<std::string> failed = {"patient", "medications", "conditions"};
  BOOST_TEST(result.unavailable_required == failed, boost::test_tools::per_element());
  BOOST_TEST(Contains(g.Key("medications").reason, "timeout after"));
  BOOST_TEST(g.State(FactCategory::kObservations) == Availability::kNotObtained);
  // A server that hangs on batches then loses only a hung query's key per call.
  BatchGathering next(capability);
  next.server().TimeOut(kObservationsUrl);
  const GatherResult& later = next.Run();
  BOOST_TEST(next.server().posts().empty());
  BOOST_TEST(later.unavailable_required.empty());
  BOOST_TEST(next.State(FactCategory::kObservations) == Availability::kNotObtained);
  BOOST_TEST(next.State(FactCategory::kMedications) == Availability::kComplete);
}

BOOST_AUTO_TEST_CASE(the_first_call_reads_the_capability_statement_and_uses_gets) {
  FakeFhirClient metadata_server;
  metadata_server.ServeJson(kMetadataUrl, CapabilityStatement(true));
  metadata_server.Hold(kMetadataUrl);
  auto capability = std::make_shared<BatchCapability>(&metadata_server);
  BatchGathering first(capability);
  const GatherResult& result = first.Run();  // does not wait for the CapabilityStatement
  BOOST_TEST(result.unavailable_required.empty());
  BOOST_TEST(first.server().posts().empty());
  BOOST_TEST(first.server().requests().size() == 4u);
  BOOST_TEST(result.queries == 4u);  // the probe is not part of the call
  BOOST_TEST_REQUIRE(metadata_server.requests().size() == 1u);
  // The CapabilityStatement is public: the patient's token is not sent for it.
  BOOST_TEST(metadata_server.requests()[0].bearer_token.empty());

  BatchGathering meanwhile(capability);  // the answer is not in yet: GETs, no second probe
  meanwhile.Run();
  BOOST_TEST(meanwhile.server().posts().empty());
  BOOST_TEST(metadata_server.requests().size() == 1u);

  BOOST_TEST(metadata_server.Release(kMetadataUrl) == 1u);
  BatchGathering second(capability);
  second.Run();
  BOOST_TEST(second.server().posts().size() == 1u);
  BOOST_TEST(second.server().requests().empty());
}

BOOST_AUTO_TEST_CASE(a_server_that_does_not_declare_batch_gets_gets) {
  for (const std::string& metadata :
       {CapabilityStatement(false), std::string(kOperationOutcome), std::string("not json")}) {
    FakeFhirClient metadata_server;
    metadata_server.ServeJson(kMetadataUrl, metadata);
    auto capability = std::make_shared<BatchCapability>(&metadata_server);
    BatchGathering first(capability);
    first.Run();
    BatchGathering second(capability);
    second.Run();
    BOOST_TEST(metadata_server.requests().size() == 1u, metadata);
    BOOST_TEST(second.server().posts().empty(), metadata);
    BOOST_TEST(second.server().requests().size() == 4u, metadata);
  }
}

BOOST_AUTO_TEST_CASE(one_query_is_a_get) {
  BatchGathering g(KnownBatchServer());
  g.PrefetchAllBut({"conditions"});
  g.Run();
  BOOST_TEST(g.server().posts().empty());
  BOOST_TEST(g.server().requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_next_link_in_an_entry_is_followed_with_a_get) {
  BatchGathering g(KnownBatchServer());
  const std::string page2 = std::string(kBase) + "/MedicationRequest?patient=p1&page=2";
  g.server().ServeJson(kMedicationsUrl, Page({MedicationRequest("r1")}, page2));
  g.server().ServeJson(page2, Bundle({MedicationRequest("r2")}));
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().posts().size() == 1u);
  BOOST_TEST(g.server().CountRequests(page2) == 1u);
  BOOST_TEST(result.queries == 2u);
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kComplete);
  BOOST_TEST(MedicationRefs(g.Facts()) ==
             (std::set<std::string>{"MedicationRequest/r1", "MedicationRequest/r2"}));
}

BOOST_AUTO_TEST_CASE(medication_reads_go_as_one_batch) {
  BatchGathering g(KnownBatchServer());
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Bundle({ReferencedMedicationRequest("r1", "Medication/m1"),
                                       ReferencedMedicationRequest("r2", "Medication/m2")}));
  g.server().ServeJson(std::string(kBase) + "/Medication/m1", Medication("m1"));
  g.server().Serve(std::string(kBase) + "/Medication/m2", 404, kOperationOutcome);
  const GatherResult& result = g.Run();
  const std::vector<FhirPost> posts = g.server().posts();
  BOOST_TEST_REQUIRE(posts.size() == 1u);
  BOOST_TEST(EntryUrls(posts[0]) == (std::vector<std::string>{"Medication/m1", "Medication/m2"}),
             boost::test_tools::per_element());
  BOOST_TEST(g.server().requests().empty());
  // m1 resolved from its entry; m2's 404 leaves the category partial, as a GET's would.
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kPartial);
  BOOST_TEST(Contains(result.state(FactCategory::kMedications).note,
                      "a Medication read failed: HTTP 404"));
  // The drug of r1 is m1's code, read from its entry.
  bool resolved = false;
  for (const MedicationFact& m : g.Facts().medications) {
    for (const auto& coding : m.code.codings) resolved = resolved || coding.code == "198051";
  }
  BOOST_TEST(resolved);
}

BOOST_AUTO_TEST_CASE(a_failed_medication_batch_is_retried_as_gets) {
  BatchGathering g(KnownBatchServer());
  g.PrefetchAllBut({"medications"})
      .Prefetch("medications", Bundle({ReferencedMedicationRequest("r1", "Medication/m1"),
                                       ReferencedMedicationRequest("r2", "Medication/m2")}));
  const std::string m1 = std::string(kBase) + "/Medication/m1";
  const std::string m2 = std::string(kBase) + "/Medication/m2";
  g.server().ServeJson(m1, Medication("m1"));
  g.server().ServeJson(m2, Medication("m2"));
  FhirResponse refused;
  refused.status = 503;
  g.server().AnswerPosts(refused);
  const GatherResult& result = g.Run();
  BOOST_TEST(g.server().posts().size() == 1u);
  BOOST_TEST(g.server().CountRequests(m1) == 1u);
  BOOST_TEST(g.server().CountRequests(m2) == 1u);
  BOOST_TEST(result.queries == 3u);
  BOOST_TEST(g.State(FactCategory::kMedications) == Availability::kComplete);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(BatchCapabilityVerdicts)

using Verdict = BatchCapability::Verdict;
using std::chrono::seconds;

BOOST_AUTO_TEST_CASE(one_caller_probes_the_others_wait_for_its_verdict) {
  BatchCapability capability(nullptr, seconds(3600), seconds(60));
  const auto t0 = BatchCapability::Clock::now();
  BOOST_TEST((capability.Check("b", t0) == Verdict::kProbe));
  BOOST_TEST((capability.Check("b", t0) == Verdict::kDontUse));
  BOOST_TEST((capability.Check("other", t0) == Verdict::kProbe));  // per base
  capability.Learn("b", true, t0);
  BOOST_TEST((capability.Check("b", t0 + seconds(3599)) == Verdict::kUse));
  // A stale verdict is probed again (and not trusted meanwhile).
  BOOST_TEST((capability.Check("b", t0 + seconds(3601)) == Verdict::kProbe));
  BOOST_TEST((capability.Check("b", t0 + seconds(3601)) == Verdict::kDontUse));
  capability.Learn("b", false, t0 + seconds(3601));
  BOOST_TEST((capability.Check("b", t0 + seconds(7000)) == Verdict::kDontUse));
}

BOOST_AUTO_TEST_CASE(a_transient_failure_holds_for_the_short_wait_then_probes_again) {
  BatchCapability capability(nullptr, seconds(3600), seconds(60));
  const auto t0 = BatchCapability::Clock::now();
  BOOST_TEST((capability.Check("b", t0) == Verdict::kProbe));
  capability.Learn("b", true, t0);
  capability.BatchFailed("b", 503, false, t0 + seconds(10));
  BOOST_TEST((capability.Check("b", t0 + seconds(69)) == Verdict::kDontUse));
  BOOST_TEST((capability.Check("b", t0 + seconds(71)) == Verdict::kProbe));
  capability.Learn("b", true, t0 + seconds(72));
  BOOST_TEST((capability.Check("b", t0 + seconds(73)) == Verdict::kUse));
  // A timeout (even with a transient-looking status) or a refusal: the hour.
  for (const auto& [status, timed_out] : {std::pair{503, true}, std::pair{500, false}}) {
    const auto t = t0 + seconds(100);
    capability.Learn("b", true, t);
    capability.BatchFailed("b", status, timed_out, t);
    BOOST_TEST((capability.Check("b", t + seconds(120)) == Verdict::kDontUse), status);
    BOOST_TEST((capability.Check("b", t + seconds(3601)) == Verdict::kProbe), status);
  }
}

BOOST_AUTO_TEST_CASE(a_probe_without_an_answer_is_retried_after_the_short_wait) {
  BatchCapability capability(nullptr, seconds(3600), seconds(60));
  const auto t0 = BatchCapability::Clock::now();
  BOOST_TEST((capability.Check("b", t0) == Verdict::kProbe));
  capability.ProbeFailed("b", t0);
  BOOST_TEST((capability.Check("b", t0 + seconds(59)) == Verdict::kDontUse));
  BOOST_TEST((capability.Check("b", t0 + seconds(61)) == Verdict::kProbe));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
