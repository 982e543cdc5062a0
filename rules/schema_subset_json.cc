// The loader's own JSON Schema validator for the keywords the shipped schemas
// use (issue #18): RapidJSON's validator keeps a context, a hasher and a
// stack of schema frames for every value of the document, and was a quarter
// of a reload of 1,300 rules even with the member choices and string
// keywords taken out of its schema. This one is compiled once per schema into
// a table of nodes and walks the document tree with plain lookups. It only
// says valid or not: a document it rejects is validated again by RapidJSON,
// whose first violation is what the loader reports (schema_check_json.cc).

#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/json_internal.h"
#include "rules/schema_internal.h"
#include "rules/schema_pattern.h"

namespace cds::rules::internal {
namespace {

using rapidjson::Value;

// Keywords that do not constrain an instance (draft-04 annotations and the
// definitions container, reached only through "$ref").
constexpr std::string_view kAnnotations[] = {"$schema", "title",    "description", "definitions",
                                             "default", "$comment", "examples"};
// Keywords SchemaSubset checks with draft-04's meaning, as RapidJSON reads it.
constexpr std::string_view kChecked[] = {"type",       "required",
                                         "properties", "additionalProperties",
                                         "items",      "minItems",
                                         "maxItems",   "minProperties",
                                         "minimum",    "exclusiveMinimum",
                                         "enum",       "pattern",
                                         "minLength",  "maxLength",
                                         "oneOf",      "anyOf",
                                         "not",        "$ref"};

bool IsOneOf(std::string_view keyword, const auto& list) {
  return std::find(std::begin(list), std::end(list), keyword) != std::end(list);
}

// Type bits, as RapidJSON's validator tells them apart: an "integer" is a
// number parsed without a fraction or exponent (1.0 is not one).
enum TypeBit : unsigned {
  kNull = 1U << 0U,
  kBoolean = 1U << 1U,
  kObject = 1U << 2U,
  kArray = 1U << 3U,
  kString = 1U << 4U,
  kInteger = 1U << 5U,
  kNumber = 1U << 6U,
};

std::optional<unsigned> TypeBitOf(std::string_view name) {
  if (name == "null") return kNull;
  if (name == "boolean") return kBoolean;
  if (name == "object") return kObject;
  if (name == "array") return kArray;
  if (name == "string") return kString;
  if (name == "integer") return kInteger;
  if (name == "number") return kNumber | kInteger;
  return std::nullopt;
}

unsigned TypeOf(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return kNull;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return kBoolean;
    case rapidjson::kObjectType:
      return kObject;
    case rapidjson::kArrayType:
      return kArray;
    case rapidjson::kStringType:
      return kString;
    case rapidjson::kNumberType:
      return v.IsDouble() ? kNumber : kInteger;
  }
  return 0;
}

// An enum member: strings, booleans and null are compiled (RapidJSON compares
// numbers by a hash of their form), and compared by kind and content.
struct EnumValue {
  rapidjson::Type type;
  std::string text;  // a string's content
  bool Matches(const Value& v) const {
    return v.GetType() == type && (type != rapidjson::kStringType ||
                                   std::string_view(v.GetString(), v.GetStringLength()) == text);
  }
};

}  // namespace

struct SchemaSubset::Node {
  unsigned types = 0;  // TypeBit set; 0: any type
  std::vector<std::string> required;
  std::vector<std::pair<std::string, int>> properties;  // name -> node
  int additional = -1;                                  // node for other members, or -1
  bool no_additional = false;                           // "additionalProperties": false
  int items = -1;                                       // node for every array item, or -1
  std::optional<std::size_t> min_items;
  std::optional<std::size_t> max_items;
  std::optional<std::size_t> min_properties;
  std::optional<double> minimum_double;         // "minimum" written as a fraction
  std::optional<std::int64_t> minimum_integer;  // "minimum" written as an integer
  bool exclusive_minimum = false;
  std::vector<EnumValue> enum_values;     // empty: no enum
  std::optional<StringKeywords> strings;  // pattern, minLength, maxLength
  std::vector<int> one_of;
  std::vector<int> any_of;
  int not_node = -1;
};

// Compiles one schema document; `ok` turns false at the first keyword or
// form outside the subset.
class SchemaSubset::Compiler {
 public:
  Compiler(const Value& root, SchemaSubset& out) : root_(root), out_(out) {}

  bool Run() {
    out_.root_ = Compile(&root_);
    return ok_ && out_.root_ >= 0;
  }

 private:
  int Compile(const Value* schema, int hops = 0) {
    if (!ok_) return -1;
    if (schema == nullptr || !schema->IsObject()) return Fail();
    if (const Value* ref = json_internal::Find(*schema, "$ref")) {
      // draft-04: a "$ref" replaces its object. Keywords beside it would be
      // read differently by different validators, so none are compiled.
      for (const auto& member : schema->GetObject()) {
        const std::string_view keyword(member.name.GetString(), member.name.GetStringLength());
        if (keyword != "$ref" && !IsOneOf(keyword, kAnnotations)) return Fail();
      }
      const Value* target = SchemaDefinition(root_, *ref);
      if (target == nullptr || hops >= 16) return Fail();
      return Compile(target, hops + 1);  // one hop at a time: each is checked as above
    }
    if (auto known = compiled_.find(schema); known != compiled_.end()) return known->second;
    const int index = static_cast<int>(out_.nodes_.size());
    compiled_.emplace(schema, index);
    out_.nodes_.emplace_back();
    Node node;  // filled here: Compile below may grow nodes_
    for (const auto& member : schema->GetObject()) {
      const std::string_view keyword(member.name.GetString(), member.name.GetStringLength());
      if (!IsOneOf(keyword, kChecked) && !IsOneOf(keyword, kAnnotations)) return Fail();
      if (!Keyword(keyword, member.value, *schema, node)) return Fail();
    }
    // RapidJSON's validator counts a required member among the properties
    // (with no schema of its own), so "additionalProperties": false allows it.
    for (const std::string& name : node.required) {
      if (std::none_of(node.properties.begin(), node.properties.end(),
                       [&](const auto& property) { return property.first == name; })) {
        node.properties.emplace_back(name, -1);
      }
    }
    if (std::any_of(std::begin(kStringKeywordNames), std::end(kStringKeywordNames),
                    [&](std::string_view k) { return json_internal::Find(*schema, k); })) {
      node.strings = ReadStringKeywords(*schema);
      if (!node.strings) return Fail();
    }
    out_.nodes_[static_cast<std::size_t>(index)] = std::move(node);
    return ok_ ? index : -1;
  }

  static constexpr std::string_view kStringKeywordNames[] = {"pattern", "minLength", "maxLength"};

  bool Keyword(std::string_view keyword, const Value& value, const Value& schema, Node& node) {
    if (keyword == "type") return Types(value, node.types);
    if (keyword == "required") return Names(value, node.required);
    if (keyword == "properties") {
      if (!value.IsObject()) return false;
      for (const auto& member : value.GetObject()) {
        const int child = Compile(&member.value);
        if (child < 0) return false;
        node.properties.emplace_back(
            std::string(member.name.GetString(), member.name.GetStringLength()), child);
      }
      return true;
    }
    if (keyword == "additionalProperties") {
      if (value.IsBool()) {
        node.no_additional = !value.GetBool();
        return true;
      }
      node.additional = Compile(&value);
      return node.additional >= 0;
    }
    if (keyword == "items") {
      node.items = Compile(&value);  // a list of schemas (tuples) is not in the subset
      return node.items >= 0;
    }
    if (keyword == "minItems") return Count(value, node.min_items);
    if (keyword == "maxItems") return Count(value, node.max_items);
    if (keyword == "minProperties") return Count(value, node.min_properties);
    if (keyword == "minimum") {
      if (value.IsDouble()) {
        node.minimum_double = value.GetDouble();
      } else if (value.IsInt64()) {
        node.minimum_integer = value.GetInt64();
      } else {
        return false;
      }
      return true;
    }
    if (keyword == "exclusiveMinimum") {
      // draft-04's boolean, and only beside "minimum".
      if (!value.IsBool() || json_internal::Find(schema, "minimum") == nullptr) return false;
      node.exclusive_minimum = value.GetBool();
      return true;
    }
    if (keyword == "enum") {
      if (!value.IsArray() || value.Empty()) return false;
      for (const Value& v : value.GetArray()) {
        if (!v.IsString() && !v.IsBool() && !v.IsNull()) return false;
        node.enum_values.push_back(
            {v.GetType(), v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : ""});
      }
      return true;
    }
    if (keyword == "oneOf") return Alternatives(value, node.one_of);
    if (keyword == "anyOf") return Alternatives(value, node.any_of);
    if (keyword == "not") {
      node.not_node = Compile(&value);
      return node.not_node >= 0;
    }
    return true;  // the string keywords (read together above) and annotations
  }

  static bool Types(const Value& value, unsigned& types) {
    auto add = [&types](const Value& name) {
      if (!name.IsString()) return false;
      const auto bit = TypeBitOf({name.GetString(), name.GetStringLength()});
      if (!bit) return false;
      types |= *bit;
      return true;
    };
    if (value.IsString()) return add(value);
    if (!value.IsArray() || value.Empty()) return false;
    return std::all_of(value.Begin(), value.End(), add);
  }

  static bool Names(const Value& value, std::vector<std::string>& names) {
    if (!value.IsArray()) return false;
    for (const Value& name : value.GetArray()) {
      if (!name.IsString()) return false;
      names.emplace_back(name.GetString(), name.GetStringLength());
    }
    return true;
  }

  static bool Count(const Value& value, std::optional<std::size_t>& out) {
    if (!value.IsUint64()) return false;
    out = static_cast<std::size_t>(value.GetUint64());
    return true;
  }

  bool Alternatives(const Value& value, std::vector<int>& out) {
    if (!value.IsArray() || value.Empty()) return false;
    for (const Value& alternative : value.GetArray()) {
      const int child = Compile(&alternative);
      if (child < 0) return false;
      out.push_back(child);
    }
    return true;
  }

  int Fail() {
    ok_ = false;
    return -1;
  }

  const Value& root_;
  SchemaSubset& out_;
  std::unordered_map<const Value*, int> compiled_;  // recursive definitions refer back
  bool ok_ = true;
};

SchemaSubset::SchemaSubset() = default;
SchemaSubset::~SchemaSubset() = default;
SchemaSubset::SchemaSubset(SchemaSubset&&) noexcept = default;
SchemaSubset& SchemaSubset::operator=(SchemaSubset&&) noexcept = default;

std::optional<SchemaSubset> SchemaSubset::Compile(const Value& schema_root) {
  SchemaSubset out;
  if (!Compiler(schema_root, out).Run()) return std::nullopt;
  return out;
}

bool SchemaSubset::Valid(const Value& instance) const { return Valid(root_, instance, 0); }

bool SchemaSubset::Valid(int node_index, const Value& v, int depth) const {
  // Only a schema that recurses without consuming the instance ("not" of
  // itself) could go deeper than the document; stopping says "not valid",
  // and RapidJSON then decides.
  if (depth > 1024) return false;
  const Node& node = nodes_[static_cast<std::size_t>(node_index)];
  const unsigned type = TypeOf(v);
  if (node.types != 0 && (node.types & type) == 0) return false;
  if (!node.enum_values.empty() && std::none_of(node.enum_values.begin(), node.enum_values.end(),
                                                [&](const EnumValue& e) { return e.Matches(v); })) {
    return false;
  }
  switch (type) {
    case kString:
      if (node.strings && !node.strings->Accepts({v.GetString(), v.GetStringLength()})) {
        return false;
      }
      break;
    case kInteger:
    case kNumber:
      if (!MeetsMinimum(node, v)) return false;
      break;
    case kArray:
      if (node.min_items && v.Size() < *node.min_items) return false;
      if (node.max_items && v.Size() > *node.max_items) return false;
      if (node.items >= 0) {
        for (const Value& item : v.GetArray()) {
          if (!Valid(node.items, item, depth + 1)) return false;
        }
      }
      break;
    case kObject:
      if (!ValidObject(node, v, depth)) return false;
      break;
    default:
      break;
  }
  if (!node.any_of.empty() && std::none_of(node.any_of.begin(), node.any_of.end(),
                                           [&](int a) { return Valid(a, v, depth + 1); })) {
    return false;
  }
  if (!node.one_of.empty()) {
    int matched = 0;
    for (const int alternative : node.one_of) {
      if (Valid(alternative, v, depth + 1) && ++matched > 1) return false;
    }
    if (matched != 1) return false;
  }
  return node.not_node < 0 || !Valid(node.not_node, v, depth + 1);
}

bool SchemaSubset::MeetsMinimum(const Node& node, const Value& v) {
  if (node.minimum_double) {
    const double m = *node.minimum_double;
    const double d = v.GetDouble();
    return node.exclusive_minimum ? d > m : d >= m;
  }
  if (node.minimum_integer) {
    const std::int64_t m = *node.minimum_integer;
    if (v.IsDouble()) {
      const double d = v.GetDouble();
      const auto dm = static_cast<double>(m);
      return node.exclusive_minimum ? d > dm : d >= dm;
    }
    if (!v.IsInt64()) return true;  // above every int64
    return node.exclusive_minimum ? v.GetInt64() > m : v.GetInt64() >= m;
  }
  return true;
}

bool SchemaSubset::ValidObject(const Node& node, const Value& v, int depth) const {
  if (node.min_properties && v.MemberCount() < *node.min_properties) return false;
  for (const std::string& name : node.required) {
    if (json_internal::Find(v, name) == nullptr) return false;
  }
  for (const auto& member : v.GetObject()) {
    const std::string_view name(member.name.GetString(), member.name.GetStringLength());
    int child = -1;
    bool listed = false;
    for (const auto& [property, property_node] : node.properties) {
      if (property == name) {
        child = property_node;
        listed = true;
        break;
      }
    }
    if (!listed) {
      if (node.no_additional) return false;
      child = node.additional;
    }
    if (child >= 0 && !Valid(child, member.value, depth + 1)) return false;
  }
  return true;
}

}  // namespace cds::rules::internal
