// Which string keywords of a schema (pattern, minLength, maxLength) the loader
// checks itself (schema_pattern.h) instead of RapidJSON's validator (#18).

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

constexpr std::string_view kDefinitionsPrefix = "#/definitions/";
constexpr std::string_view kStringKeywords[] = {"pattern", "minLength", "maxLength"};

const Value* Member(const Value& object, std::string_view name) {
  return json_internal::Find(object, name);
}

// A "$ref"'s target, or nullptr when `ref` is not "#/definitions/NAME" or
// names nothing.
const Value* Target(const Value& root, const Value& ref) {
  if (!ref.IsString()) return nullptr;
  std::string_view target(ref.GetString(), ref.GetStringLength());
  if (target.substr(0, kDefinitionsPrefix.size()) != kDefinitionsPrefix) return nullptr;
  const Value* definitions = Member(root, "definitions");
  if (definitions == nullptr || !definitions->IsObject()) return nullptr;
  return Member(*definitions, target.substr(kDefinitionsPrefix.size()));
}

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
      const bool has_any = std::any_of(std::begin(kStringKeywords), std::end(kStringKeywords),
                                       [&](std::string_view k) { return Member(*node, k); });
      if (has_any && ReadStringKeywords(*node)) out.insert(node);
    }
    return out;
  }

 private:
  bool RefsAllLocal(const Value& v) const {
    if (v.IsObject()) {
      for (const auto& member : v.GetObject()) {
        if (std::string_view(member.name.GetString(), member.name.GetStringLength()) == "$ref" &&
            Target(root_, member.value) == nullptr) {
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
    for (int hops = 0; schema != nullptr && schema->IsObject() && hops < 16; ++hops) {
      const Value* ref = Member(*schema, "$ref");
      if (ref == nullptr) break;
      schema = Target(root_, *ref);
    }
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

std::optional<StringKeywords> ReadStringKeywords(const Value& schema) {
  StringKeywords out;
  if (const Value* pattern = Member(schema, "pattern")) {
    if (!pattern->IsString()) return std::nullopt;
    out.pattern = SchemaPattern::Compile({pattern->GetString(), pattern->GetStringLength()});
    // RapidJSON's validator ignores a pattern its regex cannot read ("^$"):
    // such a pattern is not checked here either.
    if (!out.pattern || !rapidjson::internal::Regex(pattern->GetString()).IsValid()) {
      return std::nullopt;
    }
  }
  if (const Value* min = Member(schema, "minLength")) {
    if (!min->IsUint64()) return std::nullopt;
    out.min_length = static_cast<std::size_t>(min->GetUint64());
  }
  if (const Value* max = Member(schema, "maxLength")) {
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
