#pragma once

// The DataGatherer tests' fixture (data_gatherer_test.cc,
// data_gatherer_batch_test.cc): a magnesium-shaped service's prefetch specs,
// FHIR resource builders, and Gathering — one Gather against a
// FakeFhirClient, with what came out.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fhir/data_gatherer.h"
#include "fhir/fhir_client.h"
#include "fhir/normalize.h"
#include "tests/fhir/fhir_test_util.h"
#include "tests/support/fake_fhir_client.h"

namespace cds::fhir {

// Printers for failure messages (found by ADL, so outside the anonymous namespace).
inline std::ostream& operator<<(std::ostream& out, KeySource source) {
  return out << KeySourceName(source);
}
inline std::ostream& operator<<(std::ostream& out, FactCategory category) {
  return out << FactCategoryName(category);
}
inline std::ostream& operator<<(std::ostream& out, Availability availability) {
  switch (availability) {
    case Availability::kNotObtained:
      return out << "not obtained";
    case Availability::kPartial:
      return out << "partial";
    case Availability::kComplete:
      return out << "complete";
  }
  return out << "?";
}

namespace gathering {

using cds::testing::FakeFhirClient;
using testing::AsOf;
using testing::Bundle;
using testing::ParseOrFail;

inline constexpr const char* kBase = "https://ehr.example/fhir";
inline constexpr const char* kPatientId = "p1";
inline constexpr const char* kToken = "secret-token";
inline constexpr const char* kMedicationsUrl =
    "https://ehr.example/fhir/MedicationRequest?patient=p1&status=active";
inline constexpr const char* kConditionsUrl = "https://ehr.example/fhir/Condition?patient=p1";
inline constexpr const char* kObservationsUrl =
    "https://ehr.example/fhir/Observation?patient=p1&code=http://loinc.org%7C19123-9";
inline constexpr const char* kPatientUrl = "https://ehr.example/fhir/Patient/p1";

inline PrefetchSpec Spec(std::string key, std::string query, FactCategory category,
                         std::string resource_type, bool required) {
  return {std::move(key), std::move(query), category, std::move(resource_type), required};
}

// A service shaped like the magnesium one: three required keys and an
// optional observation key.
inline std::vector<PrefetchSpec> Specs() {
  return {
      Spec("patient", "Patient/{{context.patientId}}", FactCategory::kPatient, "Patient", true),
      Spec("medications", "MedicationRequest?patient={{context.patientId}}&status=active",
           FactCategory::kMedications, "MedicationRequest", true),
      Spec("conditions", "Condition?patient={{context.patientId}}", FactCategory::kConditions,
           "Condition", true),
      Spec("magnesium", "Observation?patient={{context.patientId}}&code=http://loinc.org%7C19123-9",
           FactCategory::kObservations, "Observation", false),
  };
}

inline std::string Patient() { return R"({"resourceType":"Patient","id":"p1","gender":"female"})"; }

inline std::string MedicationRequest(
    const std::string& id,
    const std::string& medication =
        R"("medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"198051"}],"text":"omeprazole"})") {
  return R"({"resourceType":"MedicationRequest","id":")" + id +
         R"(","status":"active","intent":"order","authoredOn":"2024-01-10",)" + medication + "}";
}

inline std::string ReferencedMedicationRequest(const std::string& id,
                                               const std::string& reference) {
  return MedicationRequest(
      id, R"("medicationReference":{"reference":")" + reference + R"(","display":"a drug"})");
}

inline std::string Medication(const std::string& id) {
  return R"({"resourceType":"Medication","id":")" + id +
         R"(","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"198051"}]}})";
}

inline std::string Condition(const std::string& id) {
  return R"({"resourceType":"Condition","id":")" + id +
         R"(","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},)"
         R"("code":{"coding":[{"system":"http://snomed.info/sct","code":"221360009"}]}})";
}

inline std::string Observation(const std::string& id) {
  return R"({"resourceType":"Observation","id":")" + id +
         R"(","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"19123-9"}]},)"
         R"("effectiveDateTime":"2026-11-01","valueQuantity":{"value":0.8,"unit":"mmol/L","code":"mmol/L"}})";
}

// A searchset page with a `next` link (or none when `next` is empty).
inline std::string Page(const std::vector<std::string>& resources, const std::string& next) {
  std::string bundle = Bundle(resources);
  if (next.empty()) return bundle;
  bundle.pop_back();  // the closing brace
  return bundle + R"(,"link":[{"relation":"next","url":")" + next + R"("}]})";
}

inline constexpr const char* kEmptySearchset =
    R"({"resourceType":"Bundle","type":"searchset","total":0})";
inline constexpr const char* kOperationOutcome =
    R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"too-costly"}]})";

// One gathering: its input, options and fake server, and what came out.
class Gathering {
 public:
  Gathering() {
    input_.specs = Specs();
    input_.tokens = {{"context.patientId", kPatientId}};
    input_.fhir_server = kBase;
    input_.access_token = kToken;
    auto policy = FhirServerPolicy::Create({kBase}, false);
    BOOST_TEST_REQUIRE(policy.has_value());
    options_.servers = *policy;
  }

  // Puts `json` (any JSON text, "null" included) in the request's prefetch.
  Gathering& Prefetch(const std::string& key, const std::string& json) {
    documents_.push_back(ParseOrFail(json));
    PrefetchValue value;
    value.is_null = json == "null";
    if (!value.is_null) value.value = documents_.back()->root();
    input_.prefetch[key] = value;
    return *this;
  }
  // Every key but `except` prefetched with usable data.
  Gathering& PrefetchAllBut(const std::set<std::string>& except) {
    const std::map<std::string, std::string> all = {
        {"patient", Patient()},
        {"medications", Bundle({MedicationRequest("r1")})},
        {"conditions", Bundle({Condition("c1")})},
        {"magnesium", Bundle({Observation("o1")})},
    };
    for (const auto& [key, json] : all) {
      if (except.count(key) == 0) Prefetch(key, json);
    }
    return *this;
  }

  GatherInput& input() { return input_; }
  GatherOptions& options() { return options_; }
  FakeFhirClient& server() { return server_; }

  // Starts Gather; the fake answers synchronously unless a URL is held.
  void Start(bool with_client = true) {
    DataGatherer gatherer(with_client ? &server_ : nullptr, options_);
    gatherer.Gather(std::move(input_), [this](GatherResult result) {
      BOOST_TEST(!result_.has_value(), "done called twice");
      result_ = std::move(result);
    });
  }
  // Starts Gather and requires it to have completed.
  const GatherResult& Run(bool with_client = true) {
    Start(with_client);
    return Result();
  }
  bool done() const { return result_.has_value(); }
  const GatherResult& Result() const {
    BOOST_TEST_REQUIRE(result_.has_value(), "Gather has not completed");
    return *result_;
  }

  const KeyReport& Key(const std::string& key) const {
    for (const KeyReport& report : Result().keys) {
      if (report.key == key) return report;
    }
    BOOST_FAIL("no key report for " << key);
    throw;  // unreachable
  }
  Availability State(FactCategory category) const { return Result().state(category).availability; }
  // The gathered inputs, normalised.
  PatientFacts Facts() const {
    PatientFacts facts;
    Normalize(Result().inputs, AsOf(), {}, facts);
    return facts;
  }

 private:
  GatherInput input_;
  GatherOptions options_;
  FakeFhirClient server_;
  std::vector<std::shared_ptr<const JsonDocument>> documents_;
  std::optional<GatherResult> result_;
};

inline std::set<std::string> MedicationRefs(const PatientFacts& facts) {
  std::set<std::string> refs;
  for (const MedicationFact& m : facts.medications) {
    refs.insert(m.ref);
    refs.insert(m.merged_refs.begin(), m.merged_refs.end());
  }
  return refs;
}

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace gathering
}  // namespace cds::fhir
