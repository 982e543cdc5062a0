#pragma once

// Medication helpers that need no JSON: route mapping and the §5.2 merge of
// requests and statements that report the same drug. Internal to cds_fhir;
// declared here so they can be unit-tested directly.

#include <string>
#include <string_view>
#include <vector>

#include "fhir/patient_facts.h"

namespace cds::fhir::internal {

// Route from a dosage route CodeableConcept: SNOMED CT and HL7 v3
// RouteOfAdministration codes, then the text/display. kUnknown when the concept
// is empty; kOther when it says something this service does not distinguish.
Route RouteFromConcept(const CodeableConcept& route);

// Route inferred from a drug name such as an RxNorm SCD ("... Oral Tablet",
// "... Injectable Solution", "Epsom salt bath"); kUnknown when nothing fits.
Route RouteFromName(std::string_view name);

// Lower-case, whitespace collapsed and trimmed: the key for "same drug by name".
std::string NormalizedName(std::string_view name);

// Merges current medications that report the same drug (a shared system+code,
// or the same normalised name) into one fact at the position of its first
// source: earliest start, first known route, the others' refs in merged_refs.
// Medications that are not current are returned unchanged.
std::vector<MedicationFact> MergeCurrentMedications(std::vector<MedicationFact> medications);

// §2.2: exposure runs back through completed predecessors in an unbroken chain
// — one the current order names as priorPrescription (at any depth), or a
// completed order/statement of the same drug that ended no more than
// `gap_days` before the current start. Moves each current fact's start back
// and records the predecessors in chained_refs.
void ExtendThroughCompletedChains(std::vector<MedicationFact>& medications, int gap_days);

}  // namespace cds::fhir::internal
