#pragma once

// RequestTrace: what one HTTP request did, collected for the operational
// observers (metrics, the audit trail, the request log line) without them
// reaching into the pipeline. The HTTP adapter creates one per request and
// hangs it on HttpRequestView::trace; HookHandler fills in the service call
// (service, hookInstance, ruleset, prefetch use, rules fired, cards), the
// per-request FHIR client wrapper (service/hooks/recording_fhir_client.h) appends
// the FHIR queries, and client authentication (issue #6) sets the JWT claims
// or the failure reason. InstrumentedHandler reads it once the response is
// ready. Every field is optional: a trace left empty is valid.
//
// PHI: `patient_id` is held only so the audit trail can write its keyed hash
// (service/ops/audit_log.h). It must never be logged or written in clear.
//
// Thread-safety: the plain fields are written before `respond` is called and
// read after it (the respond call orders them). FHIR queries may be appended
// from FHIR client threads: use AddFhirQuery / FhirQueries.

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "fhir/data_gatherer.h"
#include "fhir/prefetch_spec.h"

namespace cds::cards {
struct Card;
}
namespace cds::rules {
struct Evaluation;
struct RuleSet;
}  // namespace cds::rules

namespace cds::service {

struct CallRecord;  // service/hooks/service_call.h

// One FHIR GET made for the request. `path` is the prefetch template or a path
// with patient values replaced (FhirGet::log_path): never the real URL.
struct TracedFhirQuery {
  std::string path;
  int status = 0;       // HTTP status, 0 if there was no answer
  std::string outcome;  // "ok", "http_error", "timeout", "network_error"
  double seconds = 0;   // time to answer (or give up)
};

struct TracedCard {
  std::string uuid;
  std::string rule;       // "MG-01@1.0.0"
  std::string rule_id;    // "MG-01"
  std::string indicator;  // "info" | "warning" | "critical"
};

struct RequestTrace {
  // Service calls (POST /cds-services/{id}); set by HookHandler.
  std::string service_id;                // only an id the active rule set serves
  std::string hook;                      // "patient-view"
  std::string hook_instance;             // the EHR's hookInstance (a uuid; not PHI)
  std::string patient_id;                // PHI: for the audit's keyed hash only
  std::string ruleset;                   // "magnesium@1.0.0" (the request's snapshot)
  std::vector<std::string> rules_fired;  // "MG-01@1.0.0"
  std::vector<TracedCard> cards;
  // Per prefetch key of the called service: true if the request's prefetch
  // supplied it usable as sent (no fetch, no problem noted).
  std::map<std::string, bool> prefetch;
  // Issue #12: FHIR resources for another patient, dropped before evaluation.
  std::size_t foreign_resources_dropped = 0;

  // The {id} of a /cds-services/{id}[/feedback] path as requested (a URL-safe
  // id of at most 64 characters, else ""), whether or not it is served: the
  // audit trail and the log name it for calls refused before routing (401,
  // 413). Never a metric label (service_id is).
  std::string requested_service;
  // Feedback calls (issue #13): the items received, by outcome ("accepted",
  // "overridden"), and the accepted suggestions among them.
  std::map<std::string, int> feedback_outcomes;
  int feedback_accepted_suggestions = 0;

  // Client authentication (issue #6), when a JWT was checked.
  std::string jwt_issuer;
  std::string jwt_id;
  std::string tenant;
  std::string auth_failure;  // reason code for a 401, e.g. "expired", "bad_signature"

  void AddFhirQuery(TracedFhirQuery query) {
    std::lock_guard<std::mutex> lock(mutex_);
    fhir_queries_.push_back(std::move(query));
  }
  std::vector<TracedFhirQuery> FhirQueries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fhir_queries_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<TracedFhirQuery> fhir_queries_;
};

// Fills `prefetch` from the call record: a hit when the request's prefetch
// supplied the key, no FHIR query was made with its template and no problem
// was noted for it.
void TracePrefetch(RequestTrace& trace, const CallRecord& record);

// Fills `ruleset`, `rules_fired` and `cards`.
void TraceEvaluation(RequestTrace& trace, const rules::RuleSet& rule_set,
                     const rules::Evaluation& evaluation, const std::vector<cards::Card>& cards);

}  // namespace cds::service
