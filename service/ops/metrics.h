#pragma once

// Metrics: the process's Prometheus metrics, rendered for GET /metrics in the
// text exposition format (version 0.0.4). Series (all names prefixed magcds_):
//   http_requests_total{endpoint,service,status}        counter
//   http_request_duration_seconds{endpoint}             histogram
//   http_requests_in_flight                             gauge
//   cards_total{rule,indicator}                         counter
//   fhir_queries_total{outcome}                         counter
//   (ok|http_error|timeout|network_error) fhir_query_duration_seconds histogram
//   prefetch_keys_total{key,result}                     counter (hit|miss)
//   auth_failures_total{reason}                         counter
//   feedback_received_total{service,outcome}            counter (accepted|overridden items)
//   rules_reloads_total{outcome}                        counter (success|failure)
//   rules_last_reload_success                           gauge (1 ok or none yet, 0 failed)
//   ruleset_active{ruleset,version}                     gauge (1 for the active set only)
//   audit_write_failures_total                          counter
//   feedback_total{rule,outcome}                        counter (issue #16: feedback items
//                                                       stored; rule "unmatched" for unknown cards)
//   plus the series of added collectors (the feedback store's queue, see
//   service/feedback/store_metrics.h).
// Label values come from the rule set (service ids, rule ids, prefetch keys),
// fixed vocabularies, or reason codes: never from request data, so the number
// of series stays bounded and no PHI reaches a label.
//
// Thread-safety: every method may be called from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cds::service {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // endpoint: "discovery", "service", "feedback", "preflight", "healthz",
  // "readyz", "metrics" or "other"; service: a served service id or "".
  // Every status is counted, refusals (400, 401, 413, 415) included.
  void CountRequest(std::string_view endpoint, std::string_view service, int status,
                    double seconds);
  void AddInFlight(int delta);
  void CountCard(std::string_view rule_id, std::string_view indicator);
  void CountFhirQuery(std::string_view outcome, double seconds);
  void CountPrefetch(std::string_view key, bool hit);
  // Client authentication failures (issue #6) by reason code, e.g. "missing",
  // "bad_signature", "expired", "unknown_issuer", "replayed_jti".
  void CountAuthFailure(std::string_view reason);
  // Feedback items received (issue #13), by served service id and outcome.
  void CountFeedbackReceived(std::string_view service, std::string_view outcome, int items);
  void CountReload(bool success);
  // Replaces the active-ruleset series: only one is ever present.
  void SetActiveRuleSet(std::string_view id, std::string_view version);
  void CountAuditWriteFailure();
  // Issue #12: `what` is "foreign_resource" (FHIR data for another patient)
  // or "log_line" (a log line the stalled log reader could not take).
  void CountDropped(std::string_view what, std::size_t n);
  // Issue #16: one feedback item newly stored ("" rule = unmatched card).
  void CountFeedback(std::string_view rule_id, std::string_view outcome);
  // Text appended to RenderPrometheus's output (complete families with HELP
  // and TYPE), called at each render without the metrics lock held.
  void AddCollector(std::function<void(std::string&)> collector);

  std::string RenderPrometheus() const;

  // Content-Type of RenderPrometheus's text.
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Family;
  Family& Get(std::size_t index) const;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

}  // namespace cds::service
