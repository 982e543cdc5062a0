#include "service/request_trace.h"

#include <algorithm>

#include "cards/card.h"
#include "rules/engine.h"
#include "rules/ruleset.h"

namespace cds::service {

void TracePrefetch(RequestTrace& trace, const std::vector<fhir::PrefetchSpec>& specs,
                   const std::vector<std::string>& keys_sent, const fhir::GatherResult& gathered) {
  const std::vector<TracedFhirQuery> queries = trace.FhirQueries();
  for (const fhir::PrefetchSpec& spec : specs) {
    const bool sent = std::find(keys_sent.begin(), keys_sent.end(), spec.key) != keys_sent.end();
    const bool fetched = std::any_of(queries.begin(), queries.end(), [&](const TracedFhirQuery& q) {
      return q.path == spec.query;
    });
    const std::string prefix = spec.key + ": ";
    const bool noted =
        std::any_of(gathered.notes.begin(), gathered.notes.end(),
                    [&](const std::string& note) { return note.rfind(prefix, 0) == 0; });
    trace.prefetch[spec.key] = sent && !fetched && !noted;
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
