#pragma once

// Internal to rules/: validation of rule files against the JSON Schemas shipped
// in rules/schema/ (embedded into the binary at build time, so an installed
// service needs no schema files beside it). Only *_json.cc files include this.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <unordered_set>

#include "rules/schema_pattern.h"

namespace cds::rules::internal {

enum class SchemaKind { kRuleSet, kValueSets };

struct SchemaViolation {
  std::string path;     // "rules[2].indicator.default" (loader field style)
  std::string message;  // what the schema expects there
};

// The first violation (RapidJSON's validator stops at the first), or nullopt.
std::optional<SchemaViolation> CheckSchema(SchemaKind kind, const rapidjson::Value& document);

// `schema` after its "$ref"s ("#/definitions/NAME" in `schema_root`, up to 16
// hops); nullptr for any other reference or a missing definition. A "$ref"
// that is not a string is no reference.
const rapidjson::Value* ResolveSchemaRefs(const rapidjson::Value& schema_root,
                                          const rapidjson::Value* schema);

// The schema nodes whose string keywords (pattern, minLength, maxLength) the
// loader checks itself (schema_pattern.h, issue #18): nodes that instance
// values reach only through properties, additionalProperties and items (as
// the loader's own walk does), whose string keywords ReadStringKeywords can
// read, in a schema whose $refs are all "#/definitions/NAME".
// RemoveLoaderCheckedStrings takes those keywords out of a schema document
// meant for RapidJSON's validator.
std::unordered_set<const rapidjson::Value*> LoaderCheckedStrings(
    const rapidjson::Value& schema_root);
void RemoveLoaderCheckedStrings(rapidjson::Value& schema_root);
// A schema node's pattern (if SchemaPattern compiles it), minLength and
// maxLength; nullopt when one of them is something else.
std::optional<StringKeywords> ReadStringKeywords(const rapidjson::Value& schema);

// The schema texts, generated from rules/schema/*.schema.json.
extern const char* const kRuleSetSchemaText;
extern const char* const kValueSetsSchemaText;

}  // namespace cds::rules::internal
