#pragma once

// Internal to rules/: validation of rule files against the JSON Schemas shipped
// in rules/schema/ (embedded into the binary at build time, so an installed
// service needs no schema files beside it). Only *_json.cc files include this.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <vector>

#include "rules/schema_pattern.h"

namespace cds::rules::internal {

enum class SchemaKind { kRuleSet, kValueSets };

struct SchemaViolation {
  std::string path;     // "rules[2].indicator.default" (loader field style)
  std::string message;  // what the schema expects there
};

// The first violation (RapidJSON's validator stops at the first), or nullopt.
std::optional<SchemaViolation> CheckSchema(SchemaKind kind, const rapidjson::Value& document);

// The target of one "#/definitions/NAME" reference in `schema_root`, or
// nullptr for any other (another document, a deeper pointer, a name a JSON
// pointer would escape or a URI would decode) or a missing definition.
const rapidjson::Value* SchemaDefinition(const rapidjson::Value& schema_root,
                                         const rapidjson::Value& ref);

// `schema` after its "$ref"s (SchemaDefinition, up to 16 hops); nullptr for a
// reference SchemaDefinition does not follow. A "$ref" that is not a string
// is no reference.
const rapidjson::Value* ResolveSchemaRefs(const rapidjson::Value& schema_root,
                                          const rapidjson::Value* schema);

// A schema node's pattern (if SchemaPattern compiles it), minLength and
// maxLength; nullopt when one of them is something else.
std::optional<StringKeywords> ReadStringKeywords(const rapidjson::Value& schema);

// A JSON Schema compiled for the keywords the shipped schemas use (issue #18;
// rules/schema_subset_json.cc): type, required, properties,
// additionalProperties, items (one schema), minItems, maxItems,
// minProperties, minimum with draft-04's boolean exclusiveMinimum, enum of
// strings, booleans and null, pattern/minLength/maxLength as StringKeywords
// reads them, oneOf, anyOf, not, and "#/definitions/NAME" references with
// nothing beside them. A schema with anything else does not compile.
class SchemaSubset {
 public:
  static std::optional<SchemaSubset> Compile(const rapidjson::Value& schema_root);
  // True when `instance` is valid against the schema, with draft-04's meaning
  // as RapidJSON's validator reads it (an "integer" is a number without a
  // fraction or exponent in the text).
  bool Valid(const rapidjson::Value& instance) const;

  SchemaSubset(SchemaSubset&&) noexcept;
  SchemaSubset& operator=(SchemaSubset&&) noexcept;
  ~SchemaSubset();

 private:
  struct Node;
  class Compiler;
  SchemaSubset();
  bool Valid(int node_index, const rapidjson::Value& v, int depth) const;
  bool ValidObject(const Node& node, const rapidjson::Value& v, int depth) const;
  static bool MeetsMinimum(const Node& node, const rapidjson::Value& v);

  std::vector<Node> nodes_;
  int root_ = -1;
};

// The schema texts, generated from rules/schema/*.schema.json.
extern const char* const kRuleSetSchemaText;
extern const char* const kValueSetsSchemaText;

}  // namespace cds::rules::internal
