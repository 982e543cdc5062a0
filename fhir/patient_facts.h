#pragma once

// PatientFacts: one patient's medications, conditions and observations after the
// data-quality rules of clinical-reference §5 have been applied, as plain values.
// Produced by fhir/normalize, consumed by rules/engine. Nothing here knows about
// JSON, HTTP or value sets: class membership (is this a PPI?) is the rules' job.
//
// Every record that was read but does not count keeps its reason in
// `excluded_reason`, so the explain mode can say why a resource did not decide a
// rule. Records are kept in input order; the engine never relies on that order.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/fact_category.h"
#include "fhir/fhir_time.h"

namespace cds::fhir {

struct Coding {
  std::string system;
  std::string code;
  std::string display;
};

struct CodeableConcept {
  std::vector<Coding> codings;
  std::string text;
};

// The data each category of facts (fhir/fact_category.h) comes from, and how
// much of it we have:
// - kComplete: every query for it ran and answered (an empty answer is complete
//   and empty: `null` prefetch means "no data");
// - kPartial: some of it was read, but an optional source was missing or a
//   page/entry cap was reached, so "not found" cannot be trusted;
// - kNotObtained: absent and not fetchable, or the fetch failed, or no one
//   builds it for this hook.
// Rules that need the absence of something evaluate to unknown unless the
// category is complete; a match found in partial data still counts.
// draftOrders (issue #15, R29) is built from the hook context
// (`context.draftOrders`), not from prefetch: the order hooks' proposed
// medications and draft ServiceRequests. Hooks that have no draft orders leave
// it not obtained, and only rules that ask for proposed orders read it.
enum class Availability { kNotObtained, kPartial, kComplete };

struct CategoryState {
  Availability availability = Availability::kNotObtained;
  std::string note;  // why not complete (no PHI), e.g. "observations: fetch timed out"

  bool obtained() const { return availability != Availability::kNotObtained; }
  bool complete() const { return availability == Availability::kComplete; }
};

// The state of each category of one call. A category nobody set is not
// obtained: there is no fixed list of categories.
class CategoryStates {
 public:
  const CategoryState& operator[](FactCategory category) const { return Of(category.id()); }
  const CategoryState& Of(std::string_view category_id) const;
  // Adds the category (not obtained) on first use.
  CategoryState& operator[](FactCategory category);

  // (category, state) in the order the categories were first set.
  const std::vector<std::pair<FactCategory, CategoryState>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<FactCategory, CategoryState>> entries_;
};

enum class Route {
  kUnknown,
  kOral,
  kIntravenous,
  kIntramuscular,
  kSubcutaneous,
  kTopical,
  kRectal,
  kInhalation,
  kOther,
};
const char* RouteName(Route route);  // "unknown", "oral", "intravenous", ...

// One medication, after merging the request(s) and statement(s) that report the
// same drug (same coding, or same normalised name). §5.2.
struct MedicationFact {
  std::string ref;                       // first source, e.g. "MedicationRequest/abc"
  std::vector<std::string> merged_refs;  // further sources merged into this one
  CodeableConcept code;                  // medication code (resolved reference, or fallback text)
  std::vector<CodeableConcept> ingredients;  // Medication.ingredient[].itemCodeableConcept
  std::string name;                          // best display name ("omeprazole 20 MG ...")
  Route route = Route::kUnknown;
  // Every dosage instruction is "as needed" (asNeededBoolean/asNeededCodeableConcept,
  // or "PRN"/"as needed" in its text): intake unknown, never long-term (R13).
  bool as_needed = false;
  std::optional<FhirInstant> start;  // exposure start (earliest of the merged sources)
  bool current = false;              // counts as an active medication (§5.2)
  // R29: a draft MedicationRequest of the hook's draftOrders (for order-select,
  // a selected one). Never current; only predicates that ask for proposed
  // medications see it (category kDraftOrders).
  bool proposed = false;
  // Proposed only: the order's intended duration in days, from
  // dispenseRequest (repeats + 1) x expectedSupplyDuration (R30 MG-21).
  std::optional<double> intended_days;
  std::string excluded_reason;  // why not current, e.g. "status stopped"
  // For exposure chains (§2.2: "earliest active-or-completed order in an
  // unbroken chain"): status as sent, the latest end of the validity/effective
  // period, the priorPrescription references of every source, and the
  // completed predecessors whose start now counts.
  std::string status;
  std::optional<EpochSeconds> end;
  std::vector<std::string> prior_refs;
  std::vector<std::string> chained_refs;
};

// One condition. §5.3. `current` conditions are clinically active and not
// refuted/entered-in-error; `unconfirmed` marks unconfirmed/differential ones,
// which count only where a rule asks for them (red-flag suppression).
struct ConditionFact {
  std::string ref;
  CodeableConcept code;
  std::string name;
  std::optional<FhirInstant> onset;
  std::optional<FhirInstant> recorded;  // recordedDate
  bool current = false;
  bool unconfirmed = false;
  std::string excluded_reason;
};

// One Observation as reported, before any analyte-specific checks (those need
// the analyte's codes and units and live in fhir/lab_results.h).
struct ObservationFact {
  std::string ref;
  CodeableConcept code;
  std::string status;                    // as sent ("final", "amended", ...)
  std::optional<double> value;           // valueQuantity.value, if numeric
  std::string comparator;                // valueQuantity.comparator ("<", ">=", ...) or ""
  std::string unit;                      // valueQuantity.code, else .unit, trimmed; "" if none
  std::string value_text;                // value as written ("1.1"), for display
  std::string value_string;              // valueString as sent (never graded; explain only)
  std::string component_of;              // "Observation/{id}" when read from a component
  std::optional<FhirInstant> effective;  // effectiveDateTime / effectivePeriod.end / issued
  std::optional<FhirInstant> issued;
  std::string excluded_reason;  // set when the resource cannot be used at all
};

// A draft order of another kind (R29: a ServiceRequest for serum magnesium
// means magnesium is already being ordered). Category kDraftOrders.
struct DraftOrderFact {
  std::string ref;  // "ServiceRequest/{id}"
  CodeableConcept code;
  std::string name;
};

// A coded record of a category a hook defines from its own context (issue
// #11: hooks as data), e.g. the lab a toy hook's context names. Rules match it
// with the `fact` predicate: {"fact": {"category": ID, "valueSet": ...}}.
struct CodedFact {
  std::string ref;  // where it came from, e.g. "context.labCode" (no PHI)
  CodeableConcept code;
  std::string name;  // what card text shows
};

struct PatientFacts {
  CategoryStates categories;
  std::string patient_id;
  std::optional<FhirInstant> birth_date;
  // The last instant the birthDate text can mean ("2008" -> 2008-12-31T23:59:59Z):
  // ages are computed from it, so a partial date gives the youngest possible age.
  std::optional<EpochSeconds> birth_date_latest;
  std::string gender;
  // Patient.deceasedBoolean true or deceasedDateTime present. nullopt: no Patient read.
  std::optional<bool> deceased;
  std::vector<MedicationFact> medications;
  std::vector<ConditionFact> conditions;
  std::vector<ObservationFact> observations;
  std::vector<DraftOrderFact> draft_orders;  // non-medication drafts (R29)
  // Records of hook-defined categories, by category id (their states are in
  // `categories` like any other).
  std::map<std::string, std::vector<CodedFact>, std::less<>> coded;
  // Malformed individual resources that were skipped (ids and reasons only, no PHI).
  std::vector<std::string> warnings;
  // Issue #12: resources whose subject is another patient than `patient_id`
  // ("Observation/o-1"), dropped by Normalize and never used as facts.
  std::vector<std::string> foreign_resources;

  const CategoryState& state(FactCategory c) const { return categories[c]; }
  CategoryState& state(FactCategory c) { return categories[c]; }
};

}  // namespace cds::fhir
