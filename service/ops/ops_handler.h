#pragma once

// OpsHandler: the operational endpoints (issue #8), served on the CDS port or
// on their own (config `ops.listen`):
//   GET /healthz  200 {"status":"ok"} while the process runs
//   GET /readyz   200 when a rule set is loaded and the service is not
//                 draining, else 503; the body says why, and always shows the
//                 active rule set, the last reload (outcome, time, trigger,
//                 errors with file/line/rule/field) and whether a FHIR
//                 allowlist is configured (fetching on).
//   GET /metrics  Prometheus text (service/ops/metrics.h)
// A failed reload does not make the service unready: the previous set still
// answers, and marking every replica unready on one bad ConfigMap would turn
// a rejected rule change into an outage. It is visible in the body and in
// magcds_rules_last_reload_success instead.
//
// Thread-safety: Handle may be called from many threads at once.

#include <cstddef>

#include "service/hooks/rule_set_holder.h"
#include "service/http/request_handler.h"
#include "service/ops/audit_log.h"
#include "service/ops/drain_gate.h"
#include "service/ops/metrics.h"
#include "service/ops/rule_set_reloader.h"

namespace cds::service {

struct OpsHandlerOptions {
  const RuleSetHolder* rule_sets = nullptr;   // required
  const RuleSetReloader* reloader = nullptr;  // optional: no reload status without it
  const Metrics* metrics = nullptr;           // optional: /metrics is 404 without it
  const DrainGate* gate = nullptr;            // optional: never draining without it
  std::size_t fhir_servers = 0;               // size of the FHIR allowlist (0: prefetch only)
  const AuditLog* audit = nullptr;            // optional: "audit":{"state":"off"} without it
};

class OpsHandler : public RequestHandler {
 public:
  explicit OpsHandler(OpsHandlerOptions options) : options_(options) {}
  void Handle(HttpRequestView request, Respond respond) const override;

 private:
  OpsHandlerOptions options_;
};

// What /readyz shows (encoded by WriteReadiness in ops_json.cc).
struct Readiness {
  bool ready = false;
  std::string status;   // "ready", "not_ready" (no rule set), "draining"
  std::string ruleset;  // "magnesium@1.0.0" or ""
  bool has_reload_status = false;
  ReloadStatus reload;
  std::size_t fhir_servers = 0;
  std::size_t in_flight = 0;
  // Issue #12: the audit trail's state. A failing audit does not make the
  // service unready (a full disk on every replica would be an outage); it
  // shows here and in magcds_audit_write_failures_total.
  bool audit_on = false;
  AuditState audit;
};

std::string WriteReadiness(const Readiness& readiness);

}  // namespace cds::service
