#pragma once

// What the data gatherer reads from a FHIR server's answer, and which
// medicationReference targets its inputs leave unresolved. Internal to fhir/;
// the JSON work is in fetched_page_json.cc.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/json_document.h"
#include "fhir/fhir_client.h"
#include "fhir/normalize.h"
#include "fhir/prefetch_spec.h"
#include "fhir/prefetch_value.h"

namespace cds::fhir {

struct FetchedPage {
  // kUsable / kNoData / kPaged as for a prefetched value; kNotGiven means the
  // query failed and `reason` says why (no PHI).
  PrefetchUse use = PrefetchUse::kNotGiven;
  std::string reason;
  std::string next_url;  // for kPaged
  std::size_t entries = 0;
  std::shared_ptr<const JsonDocument> document;  // for every use but kNotGiven
};

// Judges one answer to `spec`'s query (or to a page of it): no answer,
// a status other than 200, a non-JSON content type, a body that is not JSON,
// not an object, an OperationOutcome, a Bundle holding one, or a resource of
// the wrong type all fail the query (checklist P-13, P-18; issue #4).
FetchedPage ReadFetchedPage(const PrefetchSpec& spec, const FhirResponse& response);

// Entries in a Bundle value (0 for anything else).
std::size_t CountBundleEntries(JsonRef value);

// medicationReference.reference values of the MedicationRequests and
// MedicationStatements in `inputs` that are neither contained ("#id") nor
// found among the Medication resources of any input. Unique, in input order.
std::vector<std::string> UnresolvedMedicationReferences(const std::vector<FhirInput>& inputs);

}  // namespace cds::fhir
