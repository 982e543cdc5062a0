#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <string>

#include "rules/schema_internal.h"

namespace cds::rules::internal {
namespace {

const rapidjson::SchemaDocument& Schema(SchemaKind kind) {
  static const std::unique_ptr<rapidjson::SchemaDocument> kRuleSet = [] {
    rapidjson::Document d;
    d.Parse(kRuleSetSchemaText);
    return std::make_unique<rapidjson::SchemaDocument>(d);
  }();
  static const std::unique_ptr<rapidjson::SchemaDocument> kValueSets = [] {
    rapidjson::Document d;
    d.Parse(kValueSetsSchemaText);
    return std::make_unique<rapidjson::SchemaDocument>(d);
  }();
  return kind == SchemaKind::kRuleSet ? *kRuleSet : *kValueSets;
}

const rapidjson::Document& SchemaJson(SchemaKind kind) {
  static const rapidjson::Document kRuleSet = [] {
    rapidjson::Document d;
    d.Parse(kRuleSetSchemaText);
    return d;
  }();
  static const rapidjson::Document kValueSets = [] {
    rapidjson::Document d;
    d.Parse(kValueSetsSchemaText);
    return d;
  }();
  return kind == SchemaKind::kRuleSet ? kRuleSet : kValueSets;
}

// "/rules/2/indicator/default" -> "rules[2].indicator.default", walking the
// instance to tell array indices from member names.
std::string ToFieldPath(const rapidjson::Pointer& pointer, const rapidjson::Value& root) {
  std::string out;
  const rapidjson::Value* node = &root;
  for (std::size_t i = 0; i < pointer.GetTokenCount(); ++i) {
    const auto& token = pointer.GetTokens()[i];
    std::string name(token.name, token.length);
    if (node != nullptr && node->IsArray()) {
      out += "[" + name + "]";
      node = token.index < node->Size() ? &(*node)[token.index] : nullptr;
    } else {
      out += (out.empty() ? "" : ".") + name;
      if (node != nullptr && node->IsObject()) {
        auto it = node->FindMember(name.c_str());
        node = it == node->MemberEnd() ? nullptr : &it->value;
      } else {
        node = nullptr;
      }
    }
  }
  return out;
}

std::string Compact(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return buffer.GetString();
}

// Says what the violated keyword wanted, using the schema node and the instance.
std::string Explain(const std::string& keyword, const rapidjson::Value* rule,
                    const rapidjson::Value* instance, const std::string& last_token) {
  auto member = [&](const char* name) -> const rapidjson::Value* {
    if (rule == nullptr || !rule->IsObject()) return nullptr;
    auto it = rule->FindMember(name);
    return it == rule->MemberEnd() ? nullptr : &it->value;
  };
  if (keyword == "required") {
    std::string missing;
    if (const rapidjson::Value* req = member("required"); req != nullptr && req->IsArray()) {
      for (const auto& r : req->GetArray()) {
        if (instance == nullptr || !instance->IsObject() || !instance->HasMember(r)) {
          missing += std::string(missing.empty() ? "" : ", ") + "'" + r.GetString() + "'";
        }
      }
    }
    return "missing required field " + missing;
  }
  if (keyword == "additionalProperties") {
    // The validator points at the offending member itself.
    std::string allowed;
    if (const rapidjson::Value* props = member("properties");
        props != nullptr && props->IsObject()) {
      for (auto it = props->MemberBegin(); it != props->MemberEnd(); ++it) {
        allowed += std::string(allowed.empty() ? "" : ", ") + it->name.GetString();
      }
    }
    return "unknown field '" + last_token + "'" +
           (allowed.empty() ? "" : "; expected one of " + allowed);
  }
  if (keyword == "enum") {
    const rapidjson::Value* values = member("enum");
    return "expected one of " +
           (values != nullptr ? Compact(*values) : std::string("the allowed values"));
  }
  if (keyword == "type") {
    const rapidjson::Value* type = member("type");
    return "expected type " + (type != nullptr ? Compact(*type) : std::string("?"));
  }
  if (keyword == "pattern") {
    const rapidjson::Value* p = member("pattern");
    return "does not match the expected form " + (p != nullptr ? Compact(*p) : std::string());
  }
  if (keyword == "minItems") return "must not be empty";
  if (keyword == "minLength") return "must be a non-empty string";
  if (keyword == "oneOf") {
    return "expected exactly one of the allowed shapes (e.g. a predicate has exactly one of all, "
           "any, not, ref, "
           "medication, condition, lab, noLab, ruleFires; a value-set component is system+codes, "
           "system+prefixes, text or valueSet)";
  }
  return "violates the schema keyword '" + keyword + "'";
}

}  // namespace

std::optional<SchemaViolation> CheckSchema(SchemaKind kind, const rapidjson::Value& document) {
  rapidjson::SchemaValidator validator(Schema(kind));
  if (document.Accept(validator)) return std::nullopt;
  rapidjson::Pointer instance_ptr = validator.GetInvalidDocumentPointer();
  rapidjson::Pointer schema_ptr = validator.GetInvalidSchemaPointer();
  std::string keyword = validator.GetInvalidSchemaKeyword();
  const rapidjson::Value* instance = instance_ptr.Get(document);
  const rapidjson::Value* rule = schema_ptr.Get(SchemaJson(kind));
  SchemaViolation v;
  v.path = ToFieldPath(instance_ptr, document);
  std::string last;
  if (std::size_t n = instance_ptr.GetTokenCount(); n > 0) {
    last.assign(instance_ptr.GetTokens()[n - 1].name, instance_ptr.GetTokens()[n - 1].length);
  }
  v.message = "schema: " + Explain(keyword, rule, instance, last);
  return v;
}

}  // namespace cds::rules::internal
