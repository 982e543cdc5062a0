#pragma once

// The service call as one pure, synchronous function (issue #11 "One call"):
//   (hook request, gathered patient data, ruleset snapshot, now)
//     -> response (cards or an Error) + a typed call record.
// Data gathering (request prefetch, FHIR fetches: fhir/data_gatherer.h) is the
// only asynchronous stage and happens before the call. Three callers share it:
//   - POST /cds-services/{id}   service/http/hook_handler.cc (HookHandler::CallService)
//   - magcds evaluate           service/app/cli_evaluate.cc
//   - magcds rules backtest     service/backtest/backtest_runner.cc (one call per patient)
// so a backtest answers exactly what the service would have answered.
//
// RunServiceCall reads no clock for its results ("now" is an input; the timing
// figures in the record come from a monotonic clock and never change a card),
// does no I/O and is safe to run on many threads at once with the same
// RuleSet (which is immutable).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cards/card.h"
#include "cards/id_source.h"
#include "common/result.h"
#include "fhir/data_gatherer.h"
#include "fhir/fhir_time.h"
#include "fhir/normalize.h"
#include "rules/engine.h"
#include "rules/ruleset.h"
#include "service/hooks/hook_request.h"

namespace cds::service {

// What the gatherer made of one prefetch key (fhir::KeyReport).
using PrefetchKeyRecord = fhir::KeyReport;

// A rule that could not be decided, and the incomplete data behind it (the
// notes of the fact categories that were not complete; no PHI).
struct UnknownRule {
  std::string rule;  // "MG-01@1.0.0"
  std::string rule_id;
  std::string why;
};

struct CallTiming {
  double normalize_ms = 0;
  double evaluate_ms = 0;
  double render_ms = 0;
};

// What one call did, for metrics, audit, logs and backtest reports. Holds
// no patient data except what the caller passed in `HookRequest`.
struct CallRecord {
  std::string service_id;
  std::string hook;
  std::string ruleset;                      // "magnesium@1.0.0"
  std::vector<PrefetchKeyRecord> prefetch;  // per key of the service, in spec order
  std::vector<std::string> rules_fired;     // "MG-01@1.0.0", after precedence
  std::vector<UnknownRule> rules_unknown;   // raw outcome unknown
  std::vector<std::string> category_notes;  // "observations: not obtained (...)"
  // Issue #12: resources for another patient than context.patientId, dropped
  // before evaluation ("Observation/o-1"; resource ids, not patient ids).
  std::vector<std::string> foreign_resources;
  std::size_t fhir_queries = 0;
  CallTiming timing;
};

struct ServiceCallInput {
  const rules::RuleSet* rule_set = nullptr;           // required
  const rules::ServiceDefinition* service = nullptr;  // required; serves request->hook
  const HookRequest* request = nullptr;               // required
  const fhir::GatherResult* gathered = nullptr;       // required
  fhir::EpochSeconds now = 0;
};

struct ServiceCallOptions {
  fhir::NormalizeOptions normalize;
  // Explain detail per rule in `evaluation` (PHI-adjacent: admin CLI and
  // backtest samples only, never production logs).
  bool explain = false;
  cards::IdSource* ids = nullptr;  // required: card and suggestion uuids
};

struct ServiceCallResult {
  // The cards, or why there is no answer: kInvalidRequest (fhirServer refused
  // by the gatherer) or kPrefetchUnavailable (CDS Hooks 2.0 §Prefetch: 412
  // when the service cannot obtain required data).
  Result<std::vector<cards::Card>> response{std::vector<cards::Card>{}};
  rules::Evaluation evaluation;  // empty when `response` is an error
  CallRecord record;
};

ServiceCallResult RunServiceCall(const ServiceCallInput& input, const ServiceCallOptions& options);

// The gather input for `service` from a parsed request: the service's
// prefetch specs, the request's prefetch values, tokens, fhirServer, token.
fhir::GatherInput GatherInputFor(const rules::RuleSet& rule_set,
                                 const rules::ServiceDefinition& service,
                                 const HookRequest& request);

// The service of `rule_set` with this id that serves `hook` (one id may be
// registered for several hooks, checklist D-5). kUnknownService when no
// service has the id; kInvalidRequest when none of them serves the hook.
Result<const rules::ServiceDefinition*> ResolveService(const rules::RuleSet& rule_set,
                                                       std::string_view service_id,
                                                       std::string_view hook);

// Synchronous gathering for callers that never fetch (CLI, backtest): no FHIR
// client, so the gatherer completes before returning.
fhir::GatherResult GatherPrefetchOnly(fhir::GatherInput input);

}  // namespace cds::service
