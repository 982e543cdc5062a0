// A schema node's string keywords (pattern, minLength, maxLength) as the
// loader's own validator checks them (schema_pattern.h, issue #18), and how
// the error path's schema walk follows "$ref"s.

#include <rapidjson/document.h>
#include <rapidjson/internal/regex.h>

#include <optional>
#include <string_view>

#include "common/json_internal.h"
#include "rules/schema_internal.h"
#include "rules/schema_pattern.h"

namespace cds::rules::internal {

using rapidjson::Value;

const Value* SchemaDefinition(const Value& schema_root, const Value& ref) {
  constexpr std::string_view kPrefix = "#/definitions/";
  if (!ref.IsString()) return nullptr;
  const std::string_view target(ref.GetString(), ref.GetStringLength());
  if (target.substr(0, kPrefix.size()) != kPrefix) return nullptr;
  const std::string_view name = target.substr(kPrefix.size());
  if (name.find_first_of("/~%") != std::string_view::npos) return nullptr;
  const Value* definitions = json_internal::Find(schema_root, "definitions");
  if (definitions == nullptr || !definitions->IsObject()) return nullptr;
  return json_internal::Find(*definitions, name);
}

const Value* ResolveSchemaRefs(const Value& schema_root, const Value* schema) {
  for (int hops = 0; schema != nullptr && schema->IsObject() && hops < 16; ++hops) {
    const Value* ref = json_internal::Find(*schema, "$ref");
    if (ref == nullptr || !ref->IsString()) return schema;
    schema = SchemaDefinition(schema_root, *ref);
  }
  return schema;
}

std::optional<StringKeywords> ReadStringKeywords(const Value& schema) {
  StringKeywords out;
  if (const Value* pattern = json_internal::Find(schema, "pattern")) {
    if (!pattern->IsString()) return std::nullopt;
    out.pattern = SchemaPattern::Compile({pattern->GetString(), pattern->GetStringLength()});
    // RapidJSON's validator ignores a pattern its regex cannot read ("^$"):
    // such a pattern is not checked here either.
    if (!out.pattern || !rapidjson::internal::Regex(pattern->GetString()).IsValid()) {
      return std::nullopt;
    }
  }
  if (const Value* min = json_internal::Find(schema, "minLength")) {
    if (!min->IsUint64()) return std::nullopt;
    out.min_length = static_cast<std::size_t>(min->GetUint64());
  }
  if (const Value* max = json_internal::Find(schema, "maxLength")) {
    if (!max->IsUint64()) return std::nullopt;
    out.max_length = static_cast<std::size_t>(max->GetUint64());
  }
  return out;
}

}  // namespace cds::rules::internal
