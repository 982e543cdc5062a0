#pragma once

// What the data gatherer reads from a FHIR server's answer, and which
// medicationReference targets its inputs leave unresolved. Internal to fhir/;
// the JSON work is in fetched_page_json.cc.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/json_document.h"
#include "fhir/batch_bundle.h"
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
  // The resource answered, inside `document`: its root for a GET's answer, an
  // entry's resource for a batch answer.
  JsonRef resource;
};

// Judges one answer to `spec`'s query (or to a page of it): no answer,
// a status other than 200, a non-JSON content type, a body that is not JSON,
// not an object, an OperationOutcome, a Bundle holding one, or a resource of
// the wrong type all fail the query (checklist P-13, P-18; issue #4). The
// body is parsed in place: the page's document keeps it.
FetchedPage ReadFetchedPage(const PrefetchSpec& spec, FhirResponse response);

// Judges entry `i` of a batch answer as ReadFetchedPage judges a GET's
// answer: a status other than 200, no resource, an OperationOutcome or a
// resource of the wrong type fail it. The page shares the batch's document.
FetchedPage ReadBatchEntry(const PrefetchSpec& spec, const BatchAnswer& answer, std::size_t i);

// Entries in a Bundle value (0 for anything else).
std::size_t CountBundleEntries(JsonRef value);

// medicationReference.reference values of the MedicationRequests and
// MedicationStatements in `inputs` that are neither contained ("#id") nor
// found among the Medication resources of any input. Unique, in input order.
std::vector<std::string> UnresolvedMedicationReferences(const std::vector<FhirInput>& inputs);

}  // namespace cds::fhir
