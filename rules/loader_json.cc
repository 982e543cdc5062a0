// Reads ruleset.json and valuesets.json into a RuleSet, checking everything an
// admin can get wrong and naming file, line, rule and field for each problem.

//
// Stages: read and parse both files (with line numbers), check their shape
// against the shipped JSON Schemas, read valuesets.json (value_sets_json.cc),
// then ruleset.json (loader_definitions_json.cc, predicate_json.cc,
// rule_json.cc), which ends in the JSON-free compile step (rule_compile.h).

#include <rapidjson/document.h>

#include <charconv>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
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

// Reads `file` into `text`; false (with the issue in `errors`) if it cannot.
bool ReadOrReport(const std::string& file, std::string& text, std::vector<RuleIssue>& errors) {
  if (ReadFile(file, text)) return true;
  errors.push_back({file, 0, "", "", "cannot read file"});
  return false;
}

bool Parse(const std::string& file, std::string text, LinedDocument& doc,
           std::vector<RuleIssue>& errors) {
  internal::ParseWithLines(std::move(text), doc);
  if (doc.parse_error.empty()) return true;
  errors.push_back({file, doc.parse_error_line, "", "", "invalid JSON: " + doc.parse_error});
  return false;
}

// The id of the rule a violation's path is inside ("rules[3].when..." -> the
// id of rules[3]), or "". Paths are built from member names, so "rules[" may
// also begin an unknown member's name ("rules[eDate", found by the
// fuzz_rule_loader campaign): only digits and ']' make an index.
std::string RuleIdAt(const rapidjson::Document& doc, const std::string& path) {
  constexpr std::string_view kPrefix = "rules[";
  if (path.rfind(kPrefix, 0) != 0) return "";
  const char* first = path.data() + kPrefix.size();
  const char* last = path.data() + path.size();
  std::size_t index = 0;
  const auto [end, error] = std::from_chars(first, last, index);
  if (error != std::errc() || end == first || end == last || *end != ']') return "";
  const auto rules = doc.FindMember("rules");
  if (rules == doc.MemberEnd() || !rules->value.IsArray() || index >= rules->value.Size())
    return "";
  const auto& rule = rules->value[static_cast<rapidjson::SizeType>(index)];
  if (!rule.IsObject()) return "";
  const auto id = rule.FindMember("id");
  return id != rule.MemberEnd() && id->value.IsString() ? id->value.GetString() : "";
}

// Structure first, against the shipped JSON Schemas; semantics only once the
// shape is right, so one mistake gives one message.
bool CheckShape(internal::SchemaKind kind, const std::string& file, const LinedDocument& doc,
                std::vector<RuleIssue>& errors) {
  auto violation = internal::CheckSchema(kind, doc.doc);
  if (!violation) return true;
  std::string rule_id;
  if (kind == internal::SchemaKind::kRuleSet) rule_id = RuleIdAt(doc.doc, violation->path);
  errors.push_back(
      {file, doc.LineOf(violation->path), rule_id, violation->path, violation->message});
  return false;
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

ValueSetsFile LoadValueSetsFile(const std::string& path) {
  ValueSetsFile out;
  LinedDocument doc;
  std::string text;
  if (!ReadOrReport(path, text, out.errors) || !Parse(path, std::move(text), doc, out.errors)) {
    out.failed = ValueSetsFile::Failed::kRead;
    return out;
  }
  if (!CheckShape(internal::SchemaKind::kValueSets, path, doc, out.errors)) {
    out.failed = ValueSetsFile::Failed::kShape;
    return out;
  }
  internal::Reporter reporter(path, doc, out.errors);
  out.value_sets = internal::ReadValueSets(doc.doc, reporter, out.warnings, out.ids);
  out.index = ValueSetIndex::Build(out.value_sets);
  if (!out.errors.empty()) out.failed = ValueSetsFile::Failed::kContent;
  return out;
}

LoadReport LoadRuleSetText(const std::string& rules_file, std::string text,
                           const ValueSetsFile& sets) {
  using Failed = ValueSetsFile::Failed;
  LoadReport report;
  report.errors = sets.errors;
  report.warnings = sets.warnings;
  // The stages of both files run side by side and stop together: parse both,
  // then (only if both parsed) check both shapes, then (only if both are well
  // shaped) read the contents; so one mistake gives one message.
  LinedDocument rules_doc;
  const bool parsed = Parse(rules_file, std::move(text), rules_doc, report.errors);
  if (!parsed || sets.failed == Failed::kRead) return report;
  const bool shaped =
      CheckShape(internal::SchemaKind::kRuleSet, rules_file, rules_doc, report.errors);
  if (!shaped || sets.failed == Failed::kShape) return report;

  auto rule_set = std::make_shared<RuleSet>();
  rule_set->path = DirOf(rules_file);
  rule_set->value_sets = sets.value_sets;
  rule_set->value_set_index = sets.index;
  internal::Reporter reporter(rules_file, rules_doc, report.errors);
  internal::RuleSetBuilder builder(rules_doc, reporter, *rule_set, sets.ids);
  builder.Build();
  if (report.errors.empty()) report.rule_set = std::move(rule_set);
  return report;
}

LoadReport LoadRuleSetReport(const std::string& path) {
  const bool directory = IsDirectory(path);
  const std::string dir = directory ? path : DirOf(path);
  const std::string rules_file = directory ? dir + "/ruleset.json" : path;
  const ValueSetsFile sets = LoadValueSetsFile(dir + "/valuesets.json");
  std::string text;
  LoadReport unreadable;
  if (!ReadOrReport(rules_file, text, unreadable.errors)) {
    unreadable.errors.insert(unreadable.errors.begin(), sets.errors.begin(), sets.errors.end());
    return unreadable;
  }
  return LoadRuleSetText(rules_file, std::move(text), sets);
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
