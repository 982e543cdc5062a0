#include "fhir/json_internal.h"
#include "fhir/prefetch_value.h"

namespace cds::fhir {
namespace {

std::string TypeOf(const rapidjson::Value& v) {
  const rapidjson::Value* type = internal::Find(v, "resourceType");
  return type != nullptr && type->IsString() ? std::string(type->GetString()) : std::string();
}

}  // namespace

bool IsSearchQuery(const std::string& query) {
  std::size_t q = query.find('?');
  std::size_t slash = query.find('/');
  return q != std::string::npos && (slash == std::string::npos || slash > q);
}

PrefetchVerdict ClassifyPrefetch(const PrefetchSpec& spec, JsonRef ref) {
  PrefetchVerdict verdict;
  const rapidjson::Value& v = internal::AsValue(ref);
  if (v.IsNull()) {
    verdict.use = PrefetchUse::kNoData;
    return verdict;
  }
  if (!v.IsObject()) {
    verdict.reason = "not a FHIR resource";
    return verdict;
  }
  std::string type = TypeOf(v);
  if (type == "OperationOutcome") {
    verdict.reason = "an OperationOutcome (the client could not prefetch it)";
    return verdict;
  }
  bool search = IsSearchQuery(spec.query);
  if (type == "Bundle") {
    if (!search) {
      verdict.reason = "a Bundle where a " + spec.resource_type + " was expected";
      return verdict;
    }
    const rapidjson::Value* entries = internal::Find(v, "entry");
    bool has_entries = false;
    if (entries != nullptr && entries->IsArray()) {
      for (const auto& entry : entries->GetArray()) {
        const rapidjson::Value* resource = internal::Find(entry, "resource");
        if (resource == nullptr) continue;
        if (TypeOf(*resource) == "OperationOutcome") {
          verdict.reason = "a Bundle holding an OperationOutcome";
          return verdict;
        }
        has_entries = true;
      }
    } else if (entries != nullptr && !entries->IsNull()) {
      verdict.reason = "a Bundle whose entry is not an array";
      return verdict;
    }
    const rapidjson::Value* links = internal::Find(v, "link");
    if (links != nullptr && links->IsArray()) {
      for (const auto& link : links->GetArray()) {
        const rapidjson::Value* relation = internal::Find(link, "relation");
        const rapidjson::Value* url = internal::Find(link, "url");
        if (relation != nullptr && relation->IsString() &&
            std::string(relation->GetString()) == "next" && url != nullptr && url->IsString() &&
            url->GetStringLength() > 0) {
          verdict.use = PrefetchUse::kPaged;
          verdict.next_url = url->GetString();
          return verdict;
        }
      }
    }
    verdict.use = has_entries ? PrefetchUse::kUsable : PrefetchUse::kNoData;
    return verdict;
  }
  if (search || type != spec.resource_type) {
    verdict.reason = "of type '" + (type.empty() ? std::string("none") : type) + "', expected " +
                     (search ? std::string("a Bundle") : spec.resource_type);
    return verdict;
  }
  verdict.use = PrefetchUse::kUsable;
  return verdict;
}

}  // namespace cds::fhir
