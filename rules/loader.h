#pragma once

// Loading and validating rule files. A ruleset is a directory holding
// ruleset.json (metadata, services, prefetch, parameters, analytes, rules,
// precedence) and valuesets.json. Every problem is reported with file, line
// (when known), rule id and field; a set with any problem is not loaded.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "rules/ruleset.h"

namespace cds::rules {

struct RuleIssue {
  std::string file;     // path of the file
  int line = 0;         // 1-based, 0 if unknown
  std::string rule_id;  // "" if not inside a rule
  std::string field;    // JSON pointer-like path, e.g. "rules[2].when.all[0].medication.valueSet"
  std::string message;  // what is wrong and what is expected

  std::string ToString() const;  // "file:line: rule MG-01: field: message"
};

struct LoadReport {
  std::shared_ptr<const RuleSet> rule_set;  // null if there were errors
  std::vector<RuleIssue> errors;
  std::vector<std::string> warnings;  // e.g. unverified codes left out of matching
};

// `path` is a ruleset directory or its ruleset.json.
LoadReport LoadRuleSetReport(const std::string& path);

// valuesets.json read, checked and indexed on its own. LoadRuleSetReport is
// LoadValueSetsFile then LoadRuleSetText; the two halves exist so that many
// rule texts can be loaded against one value-sets file without reading it
// again (the rule-loader fuzz target does this thousands of times a second).
struct ValueSetsFile {
  // The stage the file failed at, if any: a rule text loaded against it stops
  // after the same stage, so one mistake still gives one message.
  enum class Failed { kNone, kRead, kShape, kContent } failed = Failed::kNone;
  std::vector<RuleIssue> errors;
  std::vector<std::string> warnings;
  std::vector<ValueSet> value_sets;
  ValueSetIndex index;
  std::map<std::string, int> ids;  // value set id -> index into value_sets
};
ValueSetsFile LoadValueSetsFile(const std::string& path);

// `text` is the content of ruleset.json (`rules_file` names it in issues),
// loaded against `sets`; the report starts with the value-sets file's issues.
// The text is kept for line numbers, hence taken by value.
LoadReport LoadRuleSetText(const std::string& rules_file, std::string text,
                           const ValueSetsFile& sets);

// Convenience: the set, or kRuleConfig with every issue, one per line.
Result<std::shared_ptr<const RuleSet>> LoadRuleSet(const std::string& path);

}  // namespace cds::rules
