#pragma once

// Internal to rules/: the JSON reading half of the loader, shared by its
// *_json.cc files (loader_json.cc orchestrates; value_sets_json.cc,
// loader_definitions_json.cc, predicate_json.cc and rule_json.cc read the
// sections of the files). What does not depend on JSON — template
// compilation, leaf sharing, rule order — is in rules/rule_compile.h.
// Only *_json.cc files include this.

#include <rapidjson/document.h>

#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rules/json_lines.h"
#include "rules/loader.h"
#include "rules/rule_compile.h"
#include "rules/ruleset.h"

namespace cds::rules::internal {

using rapidjson::Value;

// Collects issues for one file, each with the line of its field.
class Reporter {
 public:
  Reporter(std::string file, const LinedDocument& doc, std::vector<RuleIssue>& errors)
      : file_(std::move(file)), doc_(doc), errors_(errors) {}

  void Fail(const std::string& field, const std::string& message) {
    errors_.push_back({file_, doc_.LineOf(field), rule_id, field, message});
  }
  std::string rule_id;

 private:
  std::string file_;
  const LinedDocument& doc_;
  std::vector<RuleIssue>& errors_;
};

std::string Join(const std::string& path, const std::string& key);
std::string Index(const std::string& path, std::size_t i);
// The member `name` of `object`, or nullptr (also when `object` is not an
// object). Takes the name's length from the caller: RapidJSON's
// FindMember(const char*) measures it on every probe, and the loader probes
// each predicate for a dozen optional keys (issue #18: 8 % of a reload).
const Value* Member(const Value& object, std::string_view name);
// Reads a required/optional string member.
bool GetString(const Value& object, const char* name, const std::string& path, Reporter& r,
               std::string& out, bool required = true);
bool IsSemVer(const std::string& s);
bool IsDate(const std::string& s);
bool IsId(const std::string& s);
std::string CompactJson(const Value& v);
JsonDigest DigestJson(const Value& v);
bool ParseRoute(const std::string& name, fhir::Route& out);
bool IndicatorFromName(const std::string& name, Indicator& out);

// valuesets.json: the compiled sets in file order, and `ids` (id -> index).
std::vector<ValueSet> ReadValueSets(const Value& root, Reporter& reporter,
                                    std::vector<std::string>& warnings,
                                    std::map<std::string, int>& ids);

// ruleset.json into `out`, whose value_sets are already read.
class RuleSetBuilder {
 public:
  RuleSetBuilder(const LinedDocument& doc, Reporter& reporter, RuleSet& out,
                 std::map<std::string, int> value_set_ids)
      : root_(doc.doc), r_(reporter), out_(out), value_set_ids_(std::move(value_set_ids)) {}

  void Build();

 private:
  void ParseParameters();
  // Look-back windows and durations: 0 to 100 years. A larger value is a typo,
  // and would overflow the engine's second arithmetic.
  static constexpr double kMaxWindowDays = 36525;
  // A window written in place or as a parameter name, range-checked.
  bool WindowDays(const Value& v, const std::string& path, double& out);
  void ParseWindows();
  void ParseWithholdAll();
  void ParsePatient(const Value& v, const std::string& path, Predicate& p);
  // Analyte `grading` (R1, R3) and `notGraded` (R5).
  void ParseGrading(const Value& a, const std::string& path, Analyte& analyte);
  // A number written in place, or the name of a parameter.
  bool Number(const Value& v, const std::string& path, double& out);
  void ParseAnalytes();
  void CheckQueryTokens(const std::string& query, const std::string& path);
  void ParsePrefetch();
  void ParseServices();
  void ParseResourceTemplates();
  Predicate ParsePredicate(const Value& v, const std::string& path,
                           std::map<std::string, BindKind>& binds, std::set<std::string>& refs);
  void CheckKeys(const Value& v, const std::string& path,
                 std::initializer_list<const char*> allowed);
  int ValueSetRef(const Value& v, const std::string& path);
  void ParseMedication(const Value& v, const std::string& path, Predicate& p);
  void ParseLab(const Value& v, const std::string& path, Predicate& p, bool absence);
  void ParseFact(const Value& v, const std::string& path, Predicate& p);
  void ParseRules();
  Rule ParseRule(const Value& v, const std::string& path);
  void ParseIndicator(const Value& v, const std::string& path, Rule& rule,
                      std::set<std::string>& refs);
  void ParseCard(const Value& v, const std::string& path, Rule& rule,
                 const std::map<std::string, BindKind>& binds, std::set<std::string>& refs);
  // R18: summaries that depend on the facts ("Long-term PPI …" / "PPI for 10 months …").
  void ParseSummaryCases(const Value& card, const std::string& cpath, Rule& rule,
                         const std::map<std::string, BindKind>& binds, std::set<std::string>& refs);
  // A detail table (R22): per-drug text keyed by value set; returns its index.
  int ParseTextTable(const Value& t, const std::string& path, Rule& rule,
                     const std::map<std::string, BindKind>& binds);
  // card.overrideReasons: [{system, code, display}] (issue #16); every field
  // required (the EHR shows display, sends back system + code), codes unique.
  void ParseOverrideReasons(const Value& card, const std::string& cpath, Rule& rule);
  static std::string SubstituteReason(const std::string& json, const std::string& reason);
  void ParsePrecedence();
  // Compiles a card text template in the current rule's scope (rule_compile.h).
  std::size_t CheckTemplate(TextTemplate& tmpl, const std::string& path,
                            const std::map<std::string, BindKind>* binds);

  const Value& root_;
  Reporter& r_;
  RuleSet& out_;
  std::map<std::string, int> value_set_ids_;
  std::map<std::string, int> analyte_ids_;
  std::map<std::string, int> prefetch_ids_;
  std::map<std::string, int> rule_ids_;
  std::map<std::string, std::string> resource_templates_;
  const Value* definitions_ = nullptr;
};

}  // namespace cds::rules::internal
