#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/schema_internal.h"

namespace cds::rules::internal {
namespace {

// A "oneOf" whose alternatives only name required members ("a predicate has
// exactly one of all, any, not, ..."). RapidJSON validates a oneOf by feeding
// the object's whole subtree to one validator per alternative, at every level
// of nesting: for the predicate trees of 1,300 rules that was ~40 % of a
// reload (issue #18). The loader's validator leaves these out and
// MemberChoiceChecker checks them with the same meaning.
bool IsMemberChoice(const rapidjson::Value& one_of) {
  if (!one_of.IsArray() || one_of.Empty()) return false;
  for (const auto& alternative : one_of.GetArray()) {
    if (!alternative.IsObject() || alternative.MemberCount() != 1) return false;
    auto required = alternative.FindMember("required");
    if (required == alternative.MemberEnd() || !required->value.IsArray()) return false;
    for (const auto& name : required->value.GetArray()) {
      if (!name.IsString()) return false;
    }
  }
  return true;
}

void RemoveMemberChoices(rapidjson::Value& node) {
  if (node.IsObject()) {
    // Lookups through a const view: C++20 finds comparing RapidJSON's mutable
    // member iterators ambiguous.
    const rapidjson::Value& view = node;
    if (auto it = view.FindMember("oneOf"); it != view.MemberEnd() && IsMemberChoice(it->value)) {
      node.RemoveMember("oneOf");
    }
    for (rapidjson::SizeType i = 0; i < node.MemberCount(); ++i) {
      RemoveMemberChoices((node.MemberBegin() + i)->value);
    }
  } else if (node.IsArray()) {
    for (auto& item : node.GetArray()) RemoveMemberChoices(item);
  }
}

const rapidjson::SchemaDocument& Schema(SchemaKind kind) {
  auto compile = [](const char* text) {
    rapidjson::Document d;
    d.Parse(text);
    RemoveMemberChoices(d);
    return std::make_unique<rapidjson::SchemaDocument>(d);
  };
  static const std::unique_ptr<rapidjson::SchemaDocument> kRuleSet = compile(kRuleSetSchemaText);
  static const std::unique_ptr<rapidjson::SchemaDocument> kValueSets =
      compile(kValueSetsSchemaText);
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

// The member choices left out of Schema(): follows a document that passed the
// rest of the schema through it (properties, additionalProperties, items and
// local "$ref"s; the shipped schemas place no choice under a combinator) and
// finds the first object (innermost first, in document order, as RapidJSON
// reports) that has not exactly one alternative's members. The path is kept
// as a stack of tokens and spelled out only for a violation.
class MemberChoiceChecker {
 public:
  explicit MemberChoiceChecker(const rapidjson::Value& root_schema)
      : definitions_(root_schema.HasMember("definitions") ? &root_schema["definitions"] : nullptr) {
  }

  // The loader-style path of the first violation, or nullopt.
  std::optional<std::string> Check(const rapidjson::Value& schema,
                                   const rapidjson::Value& instance) {
    path_.clear();
    if (!Visit(&schema, instance)) return std::nullopt;
    std::string out;
    for (const Token& token : path_) {
      if (token.name != nullptr) {
        if (!out.empty()) out += '.';
        out.append(token.name->GetString(), token.name->GetStringLength());
      } else {
        out += "[" + std::to_string(token.index) + "]";
      }
    }
    return out;
  }

 private:
  struct Token {
    const rapidjson::Value* name = nullptr;  // a member name, or null for an array index
    rapidjson::SizeType index = 0;
  };

  // Local references only ("#/definitions/NAME"), as in the shipped schemas.
  const rapidjson::Value* Resolve(const rapidjson::Value* schema) const {
    constexpr std::string_view kPrefix = "#/definitions/";
    for (int hops = 0; schema != nullptr && schema->IsObject() && hops < 16; ++hops) {
      auto ref = schema->FindMember("$ref");
      if (ref == schema->MemberEnd() || !ref->value.IsString()) return schema;
      std::string_view target(ref->value.GetString(), ref->value.GetStringLength());
      if (definitions_ == nullptr || !definitions_->IsObject() ||
          target.substr(0, kPrefix.size()) != kPrefix) {
        return nullptr;
      }
      target.remove_prefix(kPrefix.size());
      schema = nullptr;
      for (const auto& definition : definitions_->GetObject()) {
        if (std::string_view(definition.name.GetString(), definition.name.GetStringLength()) ==
            target) {
          schema = &definition.value;
          break;
        }
      }
    }
    return schema;
  }

  // True (path_ left at the object) when a violation is found below or at `instance`.
  bool Visit(const rapidjson::Value* schema, const rapidjson::Value& instance) {
    schema = Resolve(schema);
    // The depth guard only stops a runaway on a malformed schema: a document's
    // nesting is limited by the parser.
    if (schema == nullptr || !schema->IsObject() || path_.size() > 512) return false;
    auto sub = [schema](const char* keyword) -> const rapidjson::Value* {
      auto it = schema->FindMember(keyword);
      return it != schema->MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
    };
    if (instance.IsObject()) {
      const rapidjson::Value* properties = sub("properties");
      const rapidjson::Value* additional = sub("additionalProperties");
      for (const auto& member : instance.GetObject()) {
        const rapidjson::Value* member_schema = additional;
        if (properties != nullptr) {
          if (auto it = properties->FindMember(member.name); it != properties->MemberEnd()) {
            member_schema = &it->value;
          }
        }
        if (member_schema == nullptr) continue;
        path_.push_back({&member.name, 0});
        if (Visit(member_schema, member.value)) return true;
        path_.pop_back();
      }
      if (auto one_of = schema->FindMember("oneOf");
          one_of != schema->MemberEnd() && IsMemberChoice(one_of->value)) {
        int satisfied = 0;
        for (const auto& alternative : one_of->value.GetArray()) {
          const auto& required = alternative["required"].GetArray();
          satisfied +=
              std::all_of(required.begin(), required.end(),
                          [&](const rapidjson::Value& name) { return instance.HasMember(name); })
                  ? 1
                  : 0;
        }
        if (satisfied != 1) return true;
      }
    } else if (instance.IsArray()) {
      if (const rapidjson::Value* items = sub("items")) {
        for (rapidjson::SizeType i = 0; i < instance.Size(); ++i) {
          path_.push_back({nullptr, i});
          if (Visit(items, instance[i])) return true;
          path_.pop_back();
        }
      }
    }
    return false;
  }

  const rapidjson::Value* definitions_;
  std::vector<Token> path_;
};

}  // namespace

std::optional<SchemaViolation> CheckSchema(SchemaKind kind, const rapidjson::Value& document) {
  rapidjson::SchemaValidator validator(Schema(kind));
  if (document.Accept(validator)) {
    const rapidjson::Value& schema = SchemaJson(kind);
    auto path = MemberChoiceChecker(schema).Check(schema, document);
    if (!path) return std::nullopt;
    return SchemaViolation{*path, "schema: " + Explain("oneOf", nullptr, nullptr, "")};
  }
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
