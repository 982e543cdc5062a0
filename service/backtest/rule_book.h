#pragma once

// The rule book (`magcds rules book`, issue #17): one static, self-contained
// HTML page a governance committee can read and sign without knowing the rule
// language. Per rule: purpose, the trigger in plain language generated from
// the `when` tree (definitions expanded, parameters named with their values
// and units), indicator cases, thresholds, the card as a clinician sees it
// (rendered by cards/render from a shipped example patient that triggers it),
// suggestions, evidence, source with link and precedence; then parameters,
// analytes, every value set with every code, system, display and verification
// mark; the ruleset's version, release date and disclaimer; with a baseline,
// "Changes since" from rules diff. Print-friendly CSS, no script, no external
// asset.

#include <string>
#include <vector>

#include "common/result.h"
#include "rules/example_case.h"
#include "rules/ruleset.h"

namespace cds::service {

struct RuleBookInput {
  std::string ruleset_json;    // ruleset.json as written (for definitions and parameter names)
  std::string valuesets_json;  // valuesets.json as written (for displays and verification marks)
  const rules::RuleSet* rule_set = nullptr;  // the same files, loaded and validated
  const rules::RuleSet* baseline = nullptr;  // optional: "Changes since"
  // Example patients, shipped ones first: each rule's card is rendered from
  // the first one that gets it.
  std::vector<rules::ExampleCase> examples;
};

// kInvalidRequest when a file is not the JSON its loaded RuleSet came from.
Result<std::string> BuildRuleBook(const RuleBookInput& input);

}  // namespace cds::service
