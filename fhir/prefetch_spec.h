#pragma once

// What a CDS service asks the EHR to prefetch, as declared in the rule file:
// one entry per prefetch key. Shared by discovery (service/), the data gatherer
// (fhir/) and the loader (rules/).

#include <string>

#include "fhir/patient_facts.h"

namespace cds::fhir {

struct PrefetchSpec {
  std::string key;    // "medications"
  std::string query;  // template: "MedicationRequest?patient={{context.patientId}}&..."
  FactCategory category = FactCategory::kPatient;
  std::string resource_type;  // "MedicationRequest": what a prefetched value may hold
  // Required keys that cannot be had make the request fail with 412; an
  // optional key that cannot be had leaves its category partial.
  bool required = true;
};

}  // namespace cds::fhir
