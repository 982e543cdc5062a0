#pragma once

// SecurityGate: the front of the CDS endpoints (issue #6), a RequestHandler
// that wraps the CDS handler (HookHandler). For a request to /cds-services,
// /cds-services/{id} or /cds-services/{id}/feedback it
//   - answers an OPTIONS preflight itself (CorsPolicy::Preflight; 204), without
//     authentication, as browsers send preflights without credentials;
//   - otherwise, when auth.required, runs the Authenticator (service/auth/auth.h)
//     and answers any failure with the same bare 401 {"error":"unauthorized"}
//     plus WWW-Authenticate: Bearer (no reason: checklist S-25); on success it
//     passes the request on to `next`;
//   - adds the CORS headers to every response it passes back, errors included.
// The outcome goes on request.trace (jwt_issuer, jwt_id, tenant, or
// auth_failure) for metrics and the audit trail. Other paths (/healthz,
// /readyz, /metrics) pass straight on, unauthenticated.
//
// Thread-safety: Handle may be called from many threads at once; `next` may be
// called on another thread (after a JWK Set fetch).

#include "service/auth/auth.h"
#include "service/http/cors.h"
#include "service/http/http_types.h"
#include "service/http/request_handler.h"

namespace cds::service {

class SecurityGate : public RequestHandler {
 public:
  // `authenticator` and `cors` may be null (no authentication / no allowed
  // origins). None is owned; all must outlive the gate.
  SecurityGate(const RequestHandler& next, const Authenticator* authenticator,
               const CorsPolicy* cors)
      : next_(next), authenticator_(authenticator), cors_(cors) {}

  void Handle(HttpRequestView request, Respond respond) const override;

  // The CORS headers for a response made outside the gate (e.g. the HTTP
  // adapter's 413). A no-op without a CorsPolicy.
  void Decorate(const HttpRequestView& request, HttpResponseView& response) const;

 private:
  const RequestHandler& next_;
  const Authenticator* authenticator_;
  const CorsPolicy* cors_;
};

}  // namespace cds::service
