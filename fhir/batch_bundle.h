#pragma once

// FHIR R4 batch (https://hl7.org/fhir/R4/http.html#transaction): several reads
// and searches in one POST of a Bundle of type "batch" to the server's base;
// the server answers a Bundle of type "batch-response" with one entry per
// request entry, in the same order, each with `response.status` ("200 OK")
// and, when it succeeded, the `resource` (the searchset Bundle or the read
// resource). Issue #18: one round trip per hook call instead of one per
// prefetch query. Internal to fhir/; the JSON work is in batch_bundle_json.cc.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/json_document.h"
#include "common/result.h"
#include "fhir/fhir_client.h"

namespace cds::fhir {

// The batch Bundle asking for `relative_urls` ("Condition?patient=123", as
// rendered from the prefetch templates, relative to the base), each a GET.
std::string BatchRequestBody(const std::vector<std::string>& relative_urls);

struct BatchEntryAnswer {
  int status = 0;    // the entry's HTTP status; 0 when it has none that reads
  JsonRef resource;  // the entry's resource; null JsonRef when absent
  bool has_resource = false;
};

struct BatchAnswer {
  std::shared_ptr<const JsonDocument> document;  // owns every entry's resource
  std::vector<BatchEntryAnswer> entries;         // in request order
};

// Reads the server's answer to a batch of `expected` entries. An error (no
// PHI) when the batch as a whole failed: no answer, a status other than 200,
// a body that is not JSON, not a Bundle of type batch-response, or a number of
// entries other than `expected`. A failed entry is not an error here: its
// status says so, and the caller judges it as it would a GET's answer.
// The body is parsed in place (JsonDocument::ParseOwned): no copy of it is made.
Result<BatchAnswer> ReadBatchResponse(FhirResponse response, std::size_t expected);

// Whether a CapabilityStatement (the answer to GET [base]/metadata) declares
// the batch interaction: rest[mode=server].interaction[code=batch].
bool CapabilityDeclaresBatch(const FhirResponse& metadata);

}  // namespace cds::fhir
