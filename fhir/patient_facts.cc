#include "fhir/patient_facts.h"

namespace cds::fhir {

const char* FactCategoryName(FactCategory category) {
  switch (category) {
    case FactCategory::kPatient:
      return "patient";
    case FactCategory::kMedications:
      return "medications";
    case FactCategory::kConditions:
      return "conditions";
    case FactCategory::kObservations:
      return "observations";
    case FactCategory::kDraftOrders:
      return "draftOrders";
  }
  return "unknown";
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
