#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/json_internal.h"
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

// The schema for RapidJSON's validator, without the member choices (which
// MemberChoiceChecker checks). Only a document SchemaSubset rejects (or every
// document, if the schema does not compile as one) comes here, so its first
// violation is the one RapidJSON reports, as before (issue #18).
const rapidjson::SchemaDocument& Schema(SchemaKind kind) {
  auto compile = [](const char* text) {
    rapidjson::Document d;
    d.Parse(text);
    RemoveMemberChoices(d);
    return std::make_unique<rapidjson::SchemaDocument>(d);
  };
  static const auto kRuleSet = compile(kRuleSetSchemaText);
  static const auto kValueSets = compile(kValueSetsSchemaText);
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

// The member choices left out of Schema(), as MemberChoiceChecker walks them:
// each schema node with its properties, additionalProperties, items and
// member choices, local "$ref"s ("#/definitions/NAME", as in the shipped
// schemas) resolved. Compiled once per schema; used only for a document that
// SchemaSubset rejected (naming the first violated choice).
class ChoiceSchema {
 public:
  struct Node {
    // Member name -> node; -1: nothing to check below that member.
    std::vector<std::pair<std::string, int>> properties;
    int additional = -1;  // node for members not in `properties`, or -1
    int items = -1;       // node for array items, or -1
    // Each alternative's required member names; empty: the node has no choice.
    std::vector<std::vector<std::string>> choices;
  };

  explicit ChoiceSchema(const rapidjson::Value& root) : schema_root_(root), root_(Compile(&root)) {}

  int root() const { return root_; }
  const Node& node(int i) const { return nodes_[static_cast<std::size_t>(i)]; }

 private:
  // The node of `schema` (compiled once: recursive definitions refer back),
  // or -1 when it is not a schema object.
  int Compile(const rapidjson::Value* schema) {
    schema = ResolveSchemaRefs(schema_root_, schema);
    if (schema == nullptr || !schema->IsObject()) return -1;
    if (auto known = compiled_.find(schema); known != compiled_.end()) return known->second;
    const int index = static_cast<int>(nodes_.size());
    compiled_.emplace(schema, index);
    nodes_.emplace_back();
    auto sub = [schema](std::string_view keyword) -> const rapidjson::Value* {
      const rapidjson::Value* v = json_internal::Find(*schema, keyword);
      return v != nullptr && v->IsObject() ? v : nullptr;
    };
    Node node;  // filled here: Compile below may grow nodes_
    if (const rapidjson::Value* properties = sub("properties")) {
      for (const auto& member : properties->GetObject()) {
        node.properties.emplace_back(
            std::string(member.name.GetString(), member.name.GetStringLength()), -1);
        node.properties.back().second = Compile(&member.value);
      }
    }
    if (const rapidjson::Value* additional = sub("additionalProperties"))
      node.additional = Compile(additional);
    if (const rapidjson::Value* items = sub("items")) node.items = Compile(items);
    if (const rapidjson::Value* one_of = json_internal::Find(*schema, "oneOf");
        one_of != nullptr && IsMemberChoice(*one_of)) {
      for (const auto& alternative : one_of->GetArray()) {
        std::vector<std::string>& names = node.choices.emplace_back();
        for (const auto& name : alternative["required"].GetArray())
          names.emplace_back(name.GetString(), name.GetStringLength());
      }
    }
    nodes_[static_cast<std::size_t>(index)] = std::move(node);
    return index;
  }

  const rapidjson::Value& schema_root_;
  std::vector<Node> nodes_;
  std::unordered_map<const rapidjson::Value*, int> compiled_;
  int root_;  // declared last: compiled after the members above exist
};

const ChoiceSchema& ChoicesOf(SchemaKind kind) {
  static const ChoiceSchema kRuleSet(SchemaJson(SchemaKind::kRuleSet));
  static const ChoiceSchema kValueSets(SchemaJson(SchemaKind::kValueSets));
  return kind == SchemaKind::kRuleSet ? kRuleSet : kValueSets;
}

// Follows a document that passed the rest of the schema through its
// ChoiceSchema (the shipped schemas place no choice under a combinator) and
// finds the first object (innermost first, in document order, as RapidJSON
// reports) that has not exactly one alternative's members. The path is kept
// as a stack of tokens and spelled out only for a violation.
class MemberChoiceChecker {
 public:
  explicit MemberChoiceChecker(const ChoiceSchema& schema) : schema_(schema) {}

  // The loader-style path of the first violation, or nullopt.
  std::optional<std::string> Check(const rapidjson::Value& instance) {
    path_.clear();
    if (!Visit(schema_.root(), instance)) return std::nullopt;
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

  // True (path_ left at the object) when a violation is found below or at `instance`.
  bool Visit(int node_index, const rapidjson::Value& instance) {
    // The depth guard only stops a runaway on a malformed schema: a document's
    // nesting is limited by the parser.
    if (node_index < 0 || path_.size() > 512) return false;
    const ChoiceSchema::Node& node = schema_.node(node_index);
    if (instance.IsObject()) {
      for (const auto& member : instance.GetObject()) {
        const std::string_view name(member.name.GetString(), member.name.GetStringLength());
        int child = node.additional;
        for (const auto& [property, property_node] : node.properties) {
          if (property == name) {
            child = property_node;
            break;
          }
        }
        if (child < 0) continue;
        path_.push_back({&member.name, 0});
        if (Visit(child, member.value)) return true;
        path_.pop_back();
      }
      if (!node.choices.empty()) {
        int satisfied = 0;
        for (const std::vector<std::string>& required : node.choices) {
          satisfied += std::all_of(required.begin(), required.end(),
                                   [&](const std::string& name) {
                                     return json_internal::Find(instance, name) != nullptr;
                                   })
                           ? 1
                           : 0;
        }
        if (satisfied != 1) return true;
      }
    } else if (instance.IsArray() && node.items >= 0) {
      for (rapidjson::SizeType i = 0; i < instance.Size(); ++i) {
        path_.push_back({nullptr, i});
        if (Visit(node.items, instance[i])) return true;
        path_.pop_back();
      }
    }
    return false;
  }

  const ChoiceSchema& schema_;
  std::vector<Token> path_;
};

const std::optional<SchemaSubset>& SubsetOf(SchemaKind kind) {
  static const std::optional<SchemaSubset> kRuleSet =
      SchemaSubset::Compile(SchemaJson(SchemaKind::kRuleSet));
  static const std::optional<SchemaSubset> kValueSets =
      SchemaSubset::Compile(SchemaJson(SchemaKind::kValueSets));
  return kind == SchemaKind::kRuleSet ? kRuleSet : kValueSets;
}

}  // namespace

std::optional<SchemaViolation> CheckSchema(SchemaKind kind, const rapidjson::Value& document) {
  if (const std::optional<SchemaSubset>& subset = SubsetOf(kind);
      subset && subset->Valid(document)) {
    return std::nullopt;
  }
  rapidjson::SchemaValidator validator(Schema(kind));
  if (document.Accept(validator)) {
    auto path = MemberChoiceChecker(ChoicesOf(kind)).Check(document);
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
