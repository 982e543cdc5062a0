#pragma once

// FHIR R4 JSON -> PatientFacts, applying the data-quality rules of
// clinical-reference §5.2 (medications) and §5.3 (conditions) and the generic
// part of §5.1 (what an Observation says; the analyte-specific checks are in
// lab_results.h). A malformed individual resource is skipped and noted in
// PatientFacts::warnings; Normalize itself never fails.

#include <string>
#include <vector>

#include "common/json_document.h"
#include "fhir/fhir_time.h"
#include "fhir/patient_facts.h"

namespace cds::fhir {

// Site choices that §5.2 leaves open.
struct NormalizeOptions {
  bool count_proposal_intent = false;      // MedicationRequest intent=proposal counts
  bool count_intended_statements = false;  // MedicationStatement status=intended counts
  bool count_on_hold_statements = false;   // MedicationStatement status=on-hold counts
  // A completed order or statement of the same drug that ended at most this
  // many days before a current one started continues its exposure (renewals).
  int chain_gap_days = 30;
};

// One piece of input: a Bundle (searchset/collection/...) or a single resource,
// with the category it was requested for. Resources of other types inside a
// Bundle are still read where they are useful (e.g. Medication targets of
// medicationReference, or an included Patient).
struct FhirInput {
  FactCategory category = FactCategory::kPatient;
  JsonRef value;
};

// Reads all inputs into facts. `as_of` is the evaluation "now" (end dates and
// abatement dates in the past make a record not current). The category states
// are left as the caller set them in `facts`, with one exception: a current
// medication that cannot be identified at all (unresolvable reference, no
// display) turns a complete medications category into a partial one.
void Normalize(const std::vector<FhirInput>& inputs, EpochSeconds as_of,
               const NormalizeOptions& options, PatientFacts& facts);

// R29: reads the hook's `context.draftOrders` Bundle into the kDraftOrders
// category: draft MedicationRequests become proposed medications (resolved
// like current ones: codes, text, contained or bundled Medication, route) and
// other drafts with a code (ServiceRequest) become DraftOrderFacts. With
// `selected` (order-select), only MedicationRequests whose
// "MedicationRequest/{id}" is listed are proposed; the others are context only.
// Unknown resource types are ignored. Marks kDraftOrders complete.
void NormalizeDraftOrders(JsonRef draft_orders, const std::vector<std::string>* selected,
                          EpochSeconds as_of, const NormalizeOptions& options, PatientFacts& facts);

}  // namespace cds::fhir
