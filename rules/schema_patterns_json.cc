// Which string keywords of a schema (pattern, minLength, maxLength) the loader
// checks itself (schema_pattern.h) instead of RapidJSON's validator (#18), and
// how the loader's schema walks follow "$ref"s.

#include <rapidjson/document.h>
#include <rapidjson/internal/regex.h>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/json_internal.h"
#include "rules/schema_internal.h"
#include "rules/schema_pattern.h"

namespace cds::rules::internal {
namespace {

using rapidjson::Value;
using NodeSet = std::unordered_set<const Value*>;

constexpr std::string_view kStringKeywords[] = {"pattern", "minLength", "maxLength"};

// Calls visit(subschema, walked) for each subschema of `schema`: walked is
// true where the loader's own walk (MemberChoiceChecker) follows the same
// instance values to it as the validator does — properties,
// additionalProperties, items given as one schema — and false under every
// other keyword (combinators, patternProperties, items as a list, ...).
template <typename Visit>
void ForEachSubschema(const Value& schema, Visit visit) {
  for (const auto& member : schema.GetObject()) {
    const std::string_view keyword(member.name.GetString(), member.name.GetStringLength());
    const Value& value = member.value;
    if (keyword == "properties" || keyword == "patternProperties" || keyword == "dependencies") {
      if (!value.IsObject()) continue;
      for (const auto& sub : value.GetObject()) {
        if (sub.value.IsObject()) visit(sub.value, keyword == "properties");
      }
    } else if (keyword == "additionalProperties" || keyword == "items") {
      if (value.IsObject()) visit(value, true);
      if (value.IsArray()) {
        for (const auto& sub : value.GetArray()) visit(sub, false);
      }
    } else if (keyword == "allOf" || keyword == "anyOf" || keyword == "oneOf") {
      if (!value.IsArray()) continue;
      for (const auto& sub : value.GetArray()) visit(sub, false);
    } else if (keyword == "not" || keyword == "if" || keyword == "then" || keyword == "else" ||
               keyword == "additionalItems" || keyword == "contains" ||
               keyword == "propertyNames") {
      visit(value, false);
    }
  }
}

class StringNodes {
 public:
  explicit StringNodes(const Value& root) : root_(root) {}

  NodeSet Find() {
    if (!RefsAllLocal(root_)) return {};  // another kind of $ref: all to RapidJSON
    Walk(&root_, true);
    NodeSet out;
    for (const Value* node : walked_) {
      if (unwalked_.count(node) != 0) continue;  // also reached in a way the loader does not follow
      const bool has_any =
          std::any_of(std::begin(kStringKeywords), std::end(kStringKeywords),
                      [&](std::string_view k) { return json_internal::Find(*node, k); });
      if (has_any && ReadStringKeywords(*node)) out.insert(node);
    }
    return out;
  }

 private:
  bool RefsAllLocal(const Value& v) const {
    if (v.IsObject()) {
      for (const auto& member : v.GetObject()) {
        // A "$ref" ResolveSchemaRefs would not follow (another document,
        // a JSON pointer, not a string): the validator may reach nodes the
        // loader's walk does not.
        if (std::string_view(member.name.GetString(), member.name.GetStringLength()) == "$ref" &&
            (!member.value.IsString() || ResolveSchemaRefs(root_, &v) == nullptr)) {
          return false;
        }
        if (!RefsAllLocal(member.value)) return false;
      }
    } else if (v.IsArray()) {
      for (const auto& item : v.GetArray()) {
        if (!RefsAllLocal(item)) return false;
      }
    }
    return true;
  }

  // Marks `schema` (after its $ref) as reached by the loader's walk or not,
  // and goes on below it; a node once reached outside the walk passes that on
  // to everything under it.
  void Walk(const Value* schema, bool walked) {
    schema = ResolveSchemaRefs(root_, schema);
    if (schema == nullptr || !schema->IsObject()) return;
    NodeSet& seen = walked ? walked_ : unwalked_;
    if (!seen.insert(schema).second) return;
    ForEachSubschema(*schema,
                     [&](const Value& sub, bool follows) { Walk(&sub, walked && follows); });
  }

  const Value& root_;
  NodeSet walked_;
  NodeSet unwalked_;
};

}  // namespace

const Value* ResolveSchemaRefs(const Value& schema_root, const Value* schema) {
  constexpr std::string_view kPrefix = "#/definitions/";
  const Value* definitions = json_internal::Find(schema_root, "definitions");
  for (int hops = 0; schema != nullptr && schema->IsObject() && hops < 16; ++hops) {
    const Value* ref = json_internal::Find(*schema, "$ref");
    if (ref == nullptr || !ref->IsString()) return schema;
    std::string_view target(ref->GetString(), ref->GetStringLength());
    if (definitions == nullptr || !definitions->IsObject() ||
        target.substr(0, kPrefix.size()) != kPrefix) {
      return nullptr;
    }
    schema = json_internal::Find(*definitions, target.substr(kPrefix.size()));
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

NodeSet LoaderCheckedStrings(const Value& schema_root) { return StringNodes(schema_root).Find(); }

void RemoveLoaderCheckedStrings(Value& schema_root) {
  for (const Value* node : LoaderCheckedStrings(schema_root)) {
    // The set holds nodes of this very document, so they may be changed.
    for (std::string_view keyword : kStringKeywords) {
      const_cast<Value*>(node)->RemoveMember(
          Value(rapidjson::StringRef(keyword.data(), keyword.size())));
    }
  }
}

}  // namespace cds::rules::internal
