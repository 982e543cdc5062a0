#include "service/hooks/request_trace.h"

#include "cards/card.h"
#include "rules/engine.h"
#include "rules/ruleset.h"
#include "service/hooks/service_call.h"

namespace cds::service {

void TracePrefetch(RequestTrace& trace, const CallRecord& record) {
  for (const PrefetchKeyRecord& key : record.prefetch) {
    trace.prefetch[key.key] = key.source == fhir::KeySource::kHit && key.reason.empty();
  }
}

void TraceEvaluation(RequestTrace& trace, const rules::RuleSet& rule_set,
                     const rules::Evaluation& evaluation, const std::vector<cards::Card>& cards) {
  trace.ruleset = rule_set.Label();
  trace.rules_fired.clear();
  for (const rules::RuleOutcome& outcome : evaluation.outcomes) {
    if (!outcome.fired || outcome.rule < 0 ||
        static_cast<std::size_t>(outcome.rule) >= rule_set.rules.size()) {
      continue;
    }
    const rules::Rule& rule = rule_set.rules[static_cast<std::size_t>(outcome.rule)];
    trace.rules_fired.push_back(rule.id + "@" + rule.version);
  }
  trace.cards.clear();
  for (const cards::Card& card : cards) {
    trace.cards.push_back({card.uuid, card.rule_id + "@" + card.rule_version, card.rule_id,
                           rules::IndicatorName(card.indicator)});
  }
}

}  // namespace cds::service
