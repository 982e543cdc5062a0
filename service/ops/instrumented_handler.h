#pragma once

// InstrumentedHandler: the front of each listening port. It routes a request
// to the CDS Hooks endpoints (HookHandler) or the operational ones
// (OpsHandler), and once the response is ready it
// - counts it in the metrics (endpoint, service, status, latency; cards by
//   rule and indicator; FHIR queries; prefetch hit/miss; auth failures),
// - writes the audit record of a service call (service/ops/audit_log.h),
// - logs one JSON line "request" (method, endpoint, service, hookInstance,
//   status, durationMs, cards): ids and codes only, never PHI or tokens;
//   operational endpoints log at debug level; feedback calls add their item
//   counts by outcome (issue #13).
// CORS preflights (OPTIONS on a CDS endpoint) are counted and logged under
// endpoint "preflight" and never written to the audit trail: they are not
// CDS calls. Responses the HTTP adapter makes before any handler sees the
// request (413, 400 on an unreadable body) come in through RecordRefused, so
// every call is counted and logged (issue #13).
// CDS requests pass the DrainGate: while draining (graceful shutdown) a new
// one gets 503 {"error":"unavailable"} with Connection: close, and those in
// flight are counted so shutdown can wait for them.
//
// With `cds` null the port serves only the operational endpoints (ops.listen);
// with `ops` null it serves no operational endpoint (they are on another
// port) and answers 404 there.
//
// Thread-safety: Handle may be called from many threads at once.

#include <string_view>

#include "service/http/request_handler.h"
#include "service/ops/audit_log.h"
#include "service/ops/drain_gate.h"
#include "service/ops/metrics.h"

namespace cds::service {

struct InstrumentedHandlerOptions {
  const RequestHandler* cds = nullptr;  // HookHandler (not owned)
  const RequestHandler* ops = nullptr;  // OpsHandler (not owned)
  Metrics* metrics = nullptr;           // optional
  AuditLog* audit = nullptr;            // optional
  DrainGate* gate = nullptr;            // optional
};

class InstrumentedHandler : public RequestHandler {
 public:
  explicit InstrumentedHandler(InstrumentedHandlerOptions options) : options_(options) {}
  void Handle(HttpRequestView request, Respond respond) const override;

  // Counts, logs and (for a service call) audits a response that the HTTP
  // adapter made itself, e.g. 413, without calling a handler.
  void RecordRefused(const HttpRequestView& request, int status, double seconds) const;

 private:
  InstrumentedHandlerOptions options_;
};

}  // namespace cds::service
