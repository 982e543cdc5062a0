#pragma once

// DataGatherer: turns a hook request's prefetch (and, where a key is missing,
// the EHR's FHIR server) into FHIR inputs plus a state per fact category.
// CDS Hooks 2.0 §Prefetch: a key that is absent, an OperationOutcome, a Bundle
// holding one, or a value of the wrong type is "not provided" and is fetched
// from fhirServer when a client and a token are available; `null` and an empty
// searchset Bundle mean "no data" and are never re-queried.
//
// Gather never blocks: it completes through `done`, possibly on another thread
// (FHIR I/O), and always exactly once, by the deadline at the latest.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fhir/json_document.h"
#include "fhir/normalize.h"
#include "fhir/patient_facts.h"
#include "fhir/prefetch_spec.h"

namespace cds::fhir {

class FhirClient;  // fhir/fhir_client.h (FHIR fetching; may be null: prefetch only)

struct PrefetchValue {
  bool is_null = false;  // the key was present with JSON null
  JsonRef value;         // the value, when not null
};

struct GatherInput {
  std::vector<PrefetchSpec> specs;                  // the called service's keys
  std::map<std::string, PrefetchValue> prefetch;    // keys present in the request
  std::shared_ptr<const JsonDocument> request_document;  // owns `prefetch` values
  // Prefetch token values: "context.patientId" -> "123", "userPractitionerId" -> "abc".
  std::map<std::string, std::string> tokens;
  std::string fhir_server;   // "" if the request named none
  std::string access_token;  // "" if the request carried no fhirAuthorization
};

struct GatherResult {
  CategoryState states[kFactCategoryCount];
  std::vector<FhirInput> inputs;                            // what to normalise
  std::vector<std::shared_ptr<const JsonDocument>> documents;  // keeps inputs alive
  std::vector<std::string> unavailable_required;  // required keys that could not be had
  std::vector<std::string> notes;                 // per key: why not used (no PHI)

  const CategoryState& state(FactCategory c) const { return states[static_cast<int>(c)]; }
};

class DataGatherer {
 public:
  using Done = std::function<void(GatherResult)>;
  explicit DataGatherer(FhirClient* client = nullptr) : client_(client) {}
  void Gather(GatherInput input, Done done) const;

 private:
  FhirClient* client_;
};

}  // namespace cds::fhir
