// Reads ruleset.json and valuesets.json into a RuleSet, checking everything an
// admin can get wrong and naming file, line, rule and field for each problem.

//
// Stages: read and parse both files (with line numbers), check their shape
// against the shipped JSON Schemas, read valuesets.json (value_sets_json.cc),
// then ruleset.json (loader_definitions_json.cc, predicate_json.cc,
// rule_json.cc), which ends in the JSON-free compile step (rule_compile.h).

#include <rapidjson/document.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "rules/loader.h"
#include "rules/loader_json_internal.h"
#include "rules/schema_internal.h"

namespace cds::rules {
namespace {

using internal::LinedDocument;

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

std::string DirOf(const std::string& path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

bool IsDirectory(const std::string& path) {
  std::ifstream probe(path + "/ruleset.json");
  return static_cast<bool>(probe);
}

}  // namespace

std::string RuleIssue::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ":";
  if (!rule_id.empty()) out += " rule " + rule_id + ":";
  if (!field.empty()) out += " " + field + ":";
  return out + " " + message;
}

LoadReport LoadRuleSetReport(const std::string& path) {
  LoadReport report;
  std::string dir = IsDirectory(path) ? path : DirOf(path);
  std::string rules_file = IsDirectory(path) ? dir + "/ruleset.json" : path;
  std::string sets_file = dir + "/valuesets.json";

  auto load = [&](const std::string& file, LinedDocument& doc) {
    std::string text;
    if (!ReadFile(file, text)) {
      report.errors.push_back({file, 0, "", "", "cannot read file"});
      return false;
    }
    internal::ParseWithLines(text, doc);
    if (!doc.parse_error.empty()) {
      report.errors.push_back(
          {file, doc.parse_error_line, "", "", "invalid JSON: " + doc.parse_error});
      return false;
    }
    return true;
  };
  LinedDocument sets_doc, rules_doc;
  bool sets_ok = load(sets_file, sets_doc);
  bool rules_ok = load(rules_file, rules_doc);
  if (!sets_ok || !rules_ok) return report;

  // Structure first, against the shipped JSON Schemas; semantics only once the
  // shape is right, so one mistake gives one message.
  auto schema = [&](internal::SchemaKind kind, const std::string& file, const LinedDocument& doc) {
    auto violation = internal::CheckSchema(kind, doc.doc);
    if (!violation) return true;
    std::string rule_id;
    if (kind == internal::SchemaKind::kRuleSet && violation->path.rfind("rules[", 0) == 0) {
      std::size_t close = violation->path.find(']');
      std::size_t index = std::stoul(violation->path.substr(6, close - 6));
      const auto& rules = doc.doc["rules"];
      if (index < rules.Size() && rules[static_cast<rapidjson::SizeType>(index)].IsObject() &&
          rules[static_cast<rapidjson::SizeType>(index)].HasMember("id") &&
          rules[static_cast<rapidjson::SizeType>(index)]["id"].IsString()) {
        rule_id = rules[static_cast<rapidjson::SizeType>(index)]["id"].GetString();
      }
    }
    report.errors.push_back(
        {file, doc.LineOf(violation->path), rule_id, violation->path, violation->message});
    return false;
  };
  bool sets_shape = schema(internal::SchemaKind::kValueSets, sets_file, sets_doc);
  bool rules_shape = schema(internal::SchemaKind::kRuleSet, rules_file, rules_doc);
  if (!sets_shape || !rules_shape) return report;

  auto rule_set = std::make_shared<RuleSet>();
  rule_set->path = dir;
  std::map<std::string, int> value_set_ids;
  {
    internal::Reporter reporter(sets_file, sets_doc, report.errors);
    rule_set->value_sets =
        internal::ReadValueSets(sets_doc.doc, reporter, report.warnings, value_set_ids);
    rule_set->value_set_index = ValueSetIndex::Build(rule_set->value_sets);
  }
  internal::Reporter reporter(rules_file, rules_doc, report.errors);
  internal::RuleSetBuilder builder(rules_doc, reporter, *rule_set, std::move(value_set_ids));
  builder.Build();
  if (report.errors.empty()) report.rule_set = std::move(rule_set);
  return report;
}

Result<std::shared_ptr<const RuleSet>> LoadRuleSet(const std::string& path) {
  LoadReport report = LoadRuleSetReport(path);
  if (!report.errors.empty()) {
    std::string message;
    for (const RuleIssue& issue : report.errors) message += issue.ToString() + "\n";
    return Error{ErrorCode::kRuleConfig, message};
  }
  return report.rule_set;
}

}  // namespace cds::rules
