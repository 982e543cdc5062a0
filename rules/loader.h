#pragma once

// Loading and validating rule files. A ruleset is a directory holding
// ruleset.json (metadata, services, prefetch, parameters, analytes, rules,
// precedence) and valuesets.json. Every problem is reported with file, line
// (when known), rule id and field; a set with any problem is not loaded.

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

// Convenience: the set, or kRuleConfig with every issue, one per line.
Result<std::shared_ptr<const RuleSet>> LoadRuleSet(const std::string& path);

}  // namespace cds::rules
