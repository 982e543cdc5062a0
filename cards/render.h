#pragma once

// Rule outcomes -> CDS Hooks cards: fills the rule's text templates with the
// bound facts, appends the ruleset's advisory disclaimer, builds the source
// (label, url, topic = rule id), suggestions with uuids, and provenance.
// Cards come out most urgent first (critical, warning, info), then rule order.

#include <string>
#include <vector>

#include "cards/card.h"
#include "cards/id_source.h"
#include "fhir/fhir_time.h"
#include "rules/engine.h"
#include "rules/ruleset.h"

namespace cds::cards {

struct RenderContext {
  std::string patient_id;  // for suggestion resources (subject reference); never in text
  IdSource* ids = nullptr;
  fhir::EpochSeconds now = 0;  // the evaluation "now" (exposure durations in the text)
};

std::vector<Card> RenderCards(const rules::RuleSet& rule_set, const rules::Evaluation& evaluation,
                              const RenderContext& context);

}  // namespace cds::cards
