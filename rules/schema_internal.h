#pragma once

// Internal to rules/: validation of rule files against the JSON Schemas shipped
// in rules/schema/ (embedded into the binary at build time, so an installed
// service needs no schema files beside it). Only *_json.cc files include this.

#include <rapidjson/document.h>

#include <optional>
#include <string>

namespace cds::rules::internal {

enum class SchemaKind { kRuleSet, kValueSets };

struct SchemaViolation {
  std::string path;     // "rules[2].indicator.default" (loader field style)
  std::string message;  // what the schema expects there
};

// The first violation (RapidJSON's validator stops at the first), or nullopt.
std::optional<SchemaViolation> CheckSchema(SchemaKind kind, const rapidjson::Value& document);

// The schema texts, generated from rules/schema/*.schema.json.
extern const char* const kRuleSetSchemaText;
extern const char* const kValueSetsSchemaText;

}  // namespace cds::rules::internal
