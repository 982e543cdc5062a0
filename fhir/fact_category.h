#pragma once

// Fact categories as data (issue #11 "hooks as data"). A category is an id;
// the facts of one category are obtained together, and rules that need the
// absence of something read its CategoryState (three-valued logic: absence
// counts only when the category is complete; not obtained means unknown).
//
// The built-in categories are the FHIR record categories a prefetch key or a
// FHIR query fills (patient, medications, conditions, observations) and
// draftOrders, which the order hooks build from their context. A hook
// definition (service/hooks/hook_definition.h) may define further categories
// and build them from its own context (CodedFact records, read by the rules'
// `fact` predicate); nothing in the engine or the HTTP layer names them.
//
// Thread-safety: DefineFactCategory takes a lock; define categories at
// start-up (or in a test) before requests are served.

#include <compare>
#include <cstring>
#include <string_view>

namespace cds::fhir {

class FactCategory {
 public:
  // `id` must outlive the category: a string literal, or an id returned by
  // DefineFactCategory (which keeps its own copy).
  constexpr explicit FactCategory(const char* id) : id_(id) {}

  constexpr const char* id() const { return id_; }

  friend bool operator==(FactCategory a, FactCategory b) {
    return std::string_view(a.id_) == std::string_view(b.id_);
  }
  friend std::strong_ordering operator<=>(FactCategory a, FactCategory b) {
    return std::string_view(a.id_) <=> std::string_view(b.id_);
  }

  static const FactCategory kPatient;
  static const FactCategory kMedications;
  static const FactCategory kConditions;
  static const FactCategory kObservations;
  static const FactCategory kDraftOrders;

 private:
  const char* id_;
};

inline constexpr FactCategory FactCategory::kPatient{"patient"};
inline constexpr FactCategory FactCategory::kMedications{"medications"};
inline constexpr FactCategory FactCategory::kConditions{"conditions"};
inline constexpr FactCategory FactCategory::kObservations{"observations"};
inline constexpr FactCategory FactCategory::kDraftOrders{"draftOrders"};

// The categories filled from FHIR records (prefetch keys, FHIR queries).
inline constexpr FactCategory kRecordCategories[] = {
    FactCategory::kPatient, FactCategory::kMedications, FactCategory::kConditions,
    FactCategory::kObservations};

const char* FactCategoryName(FactCategory category);  // its id: "patient", "medications", ...

// Defines (or finds) the category `id` and returns it; the registry keeps the
// id. Built-in ids return the built-in category.
FactCategory DefineFactCategory(std::string_view id);

// Whether `id` is a built-in or defined category (the rule loader rejects a
// `fact` predicate on any other: a typo must not make a rule silently unknown).
bool IsKnownFactCategory(std::string_view id);

}  // namespace cds::fhir
