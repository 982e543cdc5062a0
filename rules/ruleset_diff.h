#pragma once

// What changed between two rulesets, for admins reviewing a release
// (`magcds rules diff OLD NEW`): metadata, parameters, analytes, prefetch,
// value sets (codes and text patterns added/removed), rules (added, removed,
// which fields changed, and changes made without a version bump), precedence.

#include <string>
#include <vector>

#include "rules/ruleset.h"

namespace cds::rules {

struct RuleSetDiff {
  std::vector<std::string> lines;     // human-readable, one change per line
  std::vector<std::string> warnings;  // e.g. "MG-03 changed but its version is still 1.0.0"
  bool empty() const { return lines.empty(); }
};

RuleSetDiff DiffRuleSets(const RuleSet& old_set, const RuleSet& new_set);

}  // namespace cds::rules
