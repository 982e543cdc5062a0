#include "fhir/patient_facts.h"

namespace cds::fhir {

const CategoryState& CategoryStates::Of(std::string_view category_id) const {
  static const CategoryState kNotObtained;
  for (const auto& [category, state] : entries_) {
    if (category_id == category.id()) return state;
  }
  return kNotObtained;
}

CategoryState& CategoryStates::operator[](FactCategory category) {
  for (auto& [known, state] : entries_) {
    if (known == category) return state;
  }
  return entries_.emplace_back(category, CategoryState{}).second;
}

const char* RouteName(Route route) {
  switch (route) {
    case Route::kUnknown:
      return "unknown";
    case Route::kOral:
      return "oral";
    case Route::kIntravenous:
      return "intravenous";
    case Route::kIntramuscular:
      return "intramuscular";
    case Route::kSubcutaneous:
      return "subcutaneous";
    case Route::kTopical:
      return "topical";
    case Route::kRectal:
      return "rectal";
    case Route::kInhalation:
      return "inhalation";
    case Route::kOther:
      return "other";
  }
  return "unknown";
}

}  // namespace cds::fhir
