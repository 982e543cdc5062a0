#pragma once

// Card-level checks of an example case (rules/example_case.h): renders the
// cards of an evaluated case with fixed ids and checks the texts the case
// expects in summaries, details and suggestion actions. Lives in cards/ because
// rules/ cannot render cards.

#include <string>
#include <vector>

#include "rules/example_case.h"
#include "rules/ruleset.h"

namespace cds::cards {

// Appends one problem per unmet expectation ("MG-03: detail does not contain '...'").
void CheckCaseCards(const rules::RuleSet& rule_set, const rules::ExampleCase& example_case,
                    rules::CaseResult& result);

}  // namespace cds::cards
