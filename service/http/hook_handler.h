#pragma once

// HookHandler: the CDS Hooks endpoints behind the HTTP adapter (style §4.1).
// Routes an HttpRequestView with the one route table (service/http/endpoint.h)
// and runs one service call as a short pipeline:
//   parse (ParseHookRequest) -> service + hook check (ResolveService)
//   -> DataGatherer::Gather (the only asynchronous stage)
//   -> RunServiceCall (service/hooks/service_call.h: normalise, evaluate, render;
//      the same function `magcds evaluate` and the backtest call)
//   -> WriteCardsResponse.
// Endpoints:
//   GET  /cds-services                  discovery (all services of the active rule set)
//   POST /cds-services/{id}             service call (200 cards, 400, 404, 412, 415)
//   POST /cds-services/{id}/feedback    feedback (200 {} once stored, 400, 404,
//                                       503 when the store cannot take it now)
//   GET  /healthz, GET /readyz          process alive / rule set loaded
// Any other method on these paths is 405 with Allow; any other path is 404.
// Every error has a JSON body {"error", "message"} with its status from
// the one error table (ErrorViewFor). Service and feedback responses carry
// Cache-Control: no-store (EndpointSpec::no_store).
//
// The handler does no I/O of its own and reads no clock: "now" and card uuids
// come from the injected Clock and IdSourceFactory, the rule set from the
// RuleSetHolder (one snapshot per request), and FHIR data from the request's
// prefetch or the optional FhirClient.
//
// Thread-safety: Handle may be called from many threads at once. `respond` is
// called exactly once per request, either before Handle returns or later on a
// FHIR client thread; it must not block for long.

#include <functional>
#include <memory>
#include <string>

#include "cards/id_source.h"
#include "fhir/data_gatherer.h"
#include "fhir/fhir_time.h"
#include "fhir/normalize.h"
#include "rules/engine.h"
#include "rules/ruleset.h"
#include "service/hooks/rule_set_holder.h"
#include "service/http/http_types.h"
#include "service/http/request_handler.h"

namespace cds::fhir {
class FhirClient;
}

namespace cds::service {

class FeedbackSink;

// Evaluation "now", as UTC epoch seconds.
using Clock = std::function<fhir::EpochSeconds()>;
// Makes the uuid source for one request (called once per service call).
using IdSourceFactory = std::function<std::unique_ptr<cards::IdSource>()>;

struct HookHandlerOptions {
  Clock clock;          // required
  IdSourceFactory ids;  // required
  // Fetches keys missing from prefetch; null means prefetch only (a missing
  // required key is then 412). Not owned; must outlive the handler.
  fhir::FhirClient* fhir_client = nullptr;
  // Allowlist of FHIR bases, total deadline and paging caps for fetching
  // (fhir/data_gatherer.h). An empty allowlist means prefetch only.
  fhir::GatherOptions gather;
  fhir::NormalizeOptions normalize;
  // When set, called after each evaluation (on the request's thread) with
  // explain detail recorded when `explain` is true. For the admin CLI only:
  // explain output is PHI-adjacent and never goes to production logs.
  bool explain = false;
  std::function<void(const rules::RuleSet&, const rules::Evaluation&)> on_evaluation;
  // Issue #16: told of every answered card and every valid feedback item;
  // null = feedback is checked and answered 200 but not kept. Not owned.
  FeedbackSink* feedback_sink = nullptr;
};

class HookHandler : public RequestHandler {
 public:
  HookHandler(const RuleSetHolder& rule_sets, HookHandlerOptions options);

  HookHandler(const HookHandler&) = delete;
  HookHandler& operator=(const HookHandler&) = delete;

  // Fills request.trace (when set) for the operational observers.
  void Handle(HttpRequestView request, Respond respond) const override;

 private:
  void Discovery(Respond& respond) const;
  void Ready(Respond& respond) const;
  // Takes the request's body (parsed in place).
  void CallService(const std::string& service_id, HttpRequestView& request, Respond respond) const;
  void Feedback(const std::string& service_id, const HttpRequestView& request,
                Respond respond) const;

  const RuleSetHolder& rule_sets_;
  HookHandlerOptions options_;
};

// True when a Content-Type value names JSON: application/json or
// application/<something>+json, parameters (charset=...) allowed.
bool IsJsonContentType(std::string_view content_type);

}  // namespace cds::service
