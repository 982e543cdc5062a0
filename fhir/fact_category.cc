#include "fhir/fact_category.h"

#include <mutex>
#include <set>
#include <string>

namespace cds::fhir {
namespace {

constexpr FactCategory kBuiltin[] = {FactCategory::kPatient, FactCategory::kMedications,
                                     FactCategory::kConditions, FactCategory::kObservations,
                                     FactCategory::kDraftOrders};

struct Registry {
  std::mutex mutex;
  std::set<std::string, std::less<>> ids;  // nodes never move: their c_str() is stable
};

Registry& TheRegistry() {
  static Registry registry;
  return registry;
}

}  // namespace

const char* FactCategoryName(FactCategory category) { return category.id(); }

FactCategory DefineFactCategory(std::string_view id) {
  for (const FactCategory builtin : kBuiltin) {
    if (id == builtin.id()) return builtin;
  }
  Registry& registry = TheRegistry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  return FactCategory(registry.ids.emplace(id).first->c_str());
}

bool IsKnownFactCategory(std::string_view id) {
  for (const FactCategory builtin : kBuiltin) {
    if (id == builtin.id()) return true;
  }
  Registry& registry = TheRegistry();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  return registry.ids.count(id) != 0;
}

}  // namespace cds::fhir
