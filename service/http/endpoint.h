#pragma once

// The service's one route table (issue #11): every endpoint it serves, what
// each one requires and how it is named in metrics, logs and the audit
// trail. The handlers (HookHandler, OpsHandler), the security gate and the
// instrumenting front all route with RouteOf and read EndpointSpec; none of
// them matches paths itself. Pure functions over constant data; thread-safe.

#include <span>
#include <string>
#include <string_view>

namespace cds::service {

enum class Endpoint {
  kDiscovery,    // GET  /cds-services
  kServiceCall,  // POST /cds-services/{id}
  kFeedback,     // POST /cds-services/{id}/feedback
  kHealthz,      // GET  /healthz
  kReadyz,       // GET  /readyz
  kMetrics,      // GET  /metrics
  kUnknown,      // any other path: 404 unknown_service
};

// Which handler answers an endpoint.
enum class EndpointGroup {
  kCds,          // CDS Hooks (HookHandler): CORS, client JWT, drain gate
  kOperational,  // OpsHandler; served on the ops port when ops.listen is set
  kNone,         // kUnknown
};

struct EndpointSpec {
  Endpoint endpoint;
  std::string_view label;   // metrics `endpoint` label and the log line's "endpoint"
  std::string_view method;  // the one method it serves (else 405 with Allow: <method>)
  EndpointGroup group;
  // The client JWT is checked when authentication is on (issue #6); the
  // JWT's endpoint claim binds it to the canonical path (RouteOf).
  bool authenticated;
  bool audited;   // each call is written to the audit trail (issue #5)
  bool no_store;  // every answer carries Cache-Control: no-store (it may hold PHI)
};

// The table, one row per Endpoint in enum order.
std::span<const EndpointSpec> EndpointTable();
const EndpointSpec& SpecOf(Endpoint endpoint);

struct Route {
  Endpoint endpoint = Endpoint::kUnknown;
  // The {id} of /cds-services/{id}[/feedback] as sent (percent-encoded,
  // never empty for kServiceCall / kFeedback); "" otherwise.
  std::string_view service_id;
  // The path without a trailing '/' (the JWT's endpoint binding).
  std::string_view path;
};

// The endpoint of a percent-encoded path; one trailing '/' is ignored.
// `path` must outlive the route (its views point into it).
Route RouteOf(std::string_view path);

// "/cds-services/{id}": the service call path of a service (e.g. the JWT
// audience a feedback call may carry, issue #6).
std::string ServiceCallPath(std::string_view service_id);

// The metrics / log label of a request: SpecOf(endpoint).label, or
// "preflight" for an OPTIONS request to a CDS endpoint (CORS, not a call).
std::string_view EndpointLabel(std::string_view method, const Route& route);

// The {id} of a CDS service path when it is a URL-safe id of at most 64
// characters (checklist D-4); "" otherwise. Safe to log and audit.
std::string PrintableServiceId(const Route& route);

}  // namespace cds::service
