// NormalizeDraftOrders: the order hooks' `context.draftOrders` (R29) as
// proposed medications and draft orders. The Bundle's shape was checked by the
// hook's context validation; entries are still read defensively.

#include <algorithm>
#include <string>
#include <vector>

#include "fhir/json_internal.h"
#include "fhir/normalize.h"

namespace cds::fhir {
namespace {

using internal::Find;
using internal::ReadProblems;

std::string StringOrEmpty(const rapidjson::Value* v) {
  return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                       : std::string();
}

void ReadDraftMedication(const rapidjson::Value& resource, const std::string& ref,
                         const internal::MedicationIndex& index, EpochSeconds as_of,
                         const NormalizeOptions& options, PatientFacts& facts) {
  ReadProblems problems;
  MedicationFact fact;
  if (!internal::ReadMedicationRequest(resource, ref, index, as_of, options, fact, problems)) {
    facts.warnings.push_back(ref + ": " + problems.fatal + "; skipped");
    return;
  }
  for (const std::string& note : problems.notes) facts.warnings.push_back(ref + ": " + note);
  // A draft is proposed whatever its intent (sandbox drafts carry "order" or
  // "plan"); it is never a current medication.
  fact.current = false;
  fact.proposed = true;
  fact.excluded_reason = "proposed (draft order)";
  fact.chained_refs.clear();
  if (const rapidjson::Value* dispense = Find(resource, "dispenseRequest");
      dispense != nullptr && dispense->IsObject()) {
    if (const auto end = internal::SupplyEndFrom(*dispense, 0)) {
      fact.intended_days = static_cast<double>(*end) / static_cast<double>(kSecondsPerDay);
    }
  }
  facts.medications.push_back(std::move(fact));
}

void ReadDraftOrder(const rapidjson::Value& resource, const std::string& ref, PatientFacts& facts) {
  ReadProblems problems;
  DraftOrderFact order;
  order.ref = ref;
  order.code = internal::ReadCodeableConcept(resource, "code", "code", problems);
  if (problems.failed()) {
    facts.warnings.push_back(ref + ": " + problems.fatal + "; skipped");
    return;
  }
  order.name = internal::ConceptName(order.code);
  facts.draft_orders.push_back(std::move(order));
}

}  // namespace

void NormalizeDraftOrders(JsonRef draft_orders, const std::vector<std::string>* selected,
                          EpochSeconds as_of, const NormalizeOptions& options,
                          PatientFacts& facts) {
  CategoryState& state = facts.state(FactCategory::kDraftOrders);
  state.availability = Availability::kComplete;
  const rapidjson::Value& bundle = internal::AsValue(draft_orders);
  const rapidjson::Value* entries = Find(bundle, "entry");
  if (entries == nullptr || !entries->IsArray()) return;  // an empty Bundle: nothing drafted

  std::vector<const rapidjson::Value*> resources;
  internal::MedicationIndex index;
  for (const rapidjson::Value& entry : entries->GetArray()) {
    const rapidjson::Value* resource = Find(entry, "resource");
    if (resource == nullptr || !resource->IsObject()) continue;
    resources.push_back(resource);
    if (StringOrEmpty(Find(*resource, "resourceType")) == "Medication") {
      index.Add(*resource, StringOrEmpty(Find(entry, "fullUrl")));
    }
  }
  for (const rapidjson::Value* resource : resources) {
    const std::string type = StringOrEmpty(Find(*resource, "resourceType"));
    const std::string id = StringOrEmpty(Find(*resource, "id"));
    const std::string ref = type + "/" + (id.empty() ? "(no id)" : id);
    if (type == "MedicationRequest") {
      if (selected != nullptr &&
          std::find(selected->begin(), selected->end(), ref) == selected->end()) {
        continue;  // order-select: an unselected draft is context only (R29)
      }
      ReadDraftMedication(*resource, ref, index, as_of, options, facts);
    } else if (type == "ServiceRequest") {
      ReadDraftOrder(*resource, ref, facts);
    }
    // Other types (NutritionOrder, VisionPrescription, ...) are ignored (R29).
  }
}

}  // namespace cds::fhir
