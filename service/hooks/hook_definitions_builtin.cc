// The hooks magcds serves out of the box: patient-view (CDS Hooks
// patient-view), order-select and order-sign (clinical-reference-1.1 §11, R29;
// CDS Hooks order-select / order-sign context: draftOrders, selections).

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "service/hooks/hook_definition.h"

namespace cds::service {
namespace {

using fhir::FactCategory;

const std::vector<FactCategory> kRecordCategories = {
    FactCategory::kPatient, FactCategory::kMedications, FactCategory::kConditions,
    FactCategory::kObservations};

HookDefinition PatientView() {
  HookDefinition hook;
  hook.name = "patient-view";
  hook.categories = kRecordCategories;
  return hook;
}

std::vector<FactCategory> WithDraftOrders() {
  std::vector<FactCategory> categories = kRecordCategories;
  categories.push_back(FactCategory::kDraftOrders);
  return categories;
}

void BuildDraftOrders(const HookContext& context, const std::vector<std::string>* selected,
                      fhir::EpochSeconds now, const fhir::NormalizeOptions& options,
                      fhir::PatientFacts& facts) {
  const auto bundle = context.bundles.find("draftOrders");
  fhir::NormalizeDraftOrders(bundle == context.bundles.end() ? JsonRef() : bundle->second, selected,
                             now, options, facts);
}

HookDefinition OrderSign() {
  HookDefinition hook;
  hook.name = "order-sign";
  hook.context = {{"draftOrders", ContextField::Kind::kBundle, true}};
  hook.categories = WithDraftOrders();
  // R29: every draft MedicationRequest of order-sign is proposed.
  hook.build_facts = [](const HookContext& context, fhir::EpochSeconds now,
                        const fhir::NormalizeOptions& options, fhir::PatientFacts& facts) {
    BuildDraftOrders(context, nullptr, now, options, facts);
  };
  return hook;
}

HookDefinition OrderSelect() {
  HookDefinition hook;
  hook.name = "order-select";
  hook.context = {{"selections", ContextField::Kind::kStringArray, true},
                  {"draftOrders", ContextField::Kind::kBundle, true}};
  hook.categories = WithDraftOrders();
  // CDS Hooks order-select: selections are "Type/id" of resources in draftOrders.
  hook.validate = [](const HookContext& context) -> std::optional<Error> {
    const auto& refs = context.bundle_refs.at("draftOrders");
    for (const std::string& selection : context.string_arrays.at("selections")) {
      if (std::find(refs.begin(), refs.end(), selection) == refs.end()) {
        return Error{ErrorCode::kInvalidRequest,
                     "'context.selections' names a resource that is not in "
                     "'context.draftOrders' (expected \"Type/id\" of a draft order)"};
      }
    }
    return std::nullopt;
  };
  // R29: only the selected MedicationRequests are proposed.
  hook.build_facts = [](const HookContext& context, fhir::EpochSeconds now,
                        const fhir::NormalizeOptions& options, fhir::PatientFacts& facts) {
    BuildDraftOrders(context, &context.string_arrays.at("selections"), now, options, facts);
  };
  return hook;
}

struct Registry {
  std::mutex mutex;  // guards registration only; lookups happen after start-up
  std::map<std::string, HookDefinition, std::less<>> hooks;
  Registry() {
    for (HookDefinition hook : {PatientView(), OrderSelect(), OrderSign()}) {
      std::string name = hook.name;
      hooks.emplace(std::move(name), std::move(hook));
    }
  }
};

Registry& TheRegistry() {
  static Registry registry;
  return registry;
}

}  // namespace

const HookDefinition* FindHook(std::string_view hook) {
  const Registry& registry = TheRegistry();
  const auto it = registry.hooks.find(hook);
  return it == registry.hooks.end() ? nullptr : &it->second;
}

void RegisterHook(HookDefinition definition) {
  Registry& registry = TheRegistry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  std::string name = definition.name;
  registry.hooks.insert_or_assign(std::move(name), std::move(definition));
}

std::vector<std::string> HookNames() {
  std::vector<std::string> names;
  for (const auto& [name, hook] : TheRegistry().hooks) names.push_back(name);
  return names;
}

}  // namespace cds::service
