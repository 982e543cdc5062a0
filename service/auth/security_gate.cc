// The CORS + authentication front of the CDS endpoints: see service/auth/security_gate.h.
#include "service/auth/security_gate.h"

#include <memory>
#include <utility>

#include "service/hooks/request_trace.h"
#include "service/http/endpoint.h"
#include "service/http/http_response_text.h"

namespace cds::service {
namespace {

// Checklist S-25: 401 without the reason. The body is the same for every
// failure, so it tells a client nothing about which check failed.
HttpResponseView Unauthorized() {
  HttpResponseView response =
      ErrorViewFor(Error{ErrorCode::kUnauthorized, "authentication required"});
  response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

void Trace(const HttpRequestView& request, const AuthOutcome& outcome) {
  if (!request.trace) return;
  RequestTrace& trace = *request.trace;
  if (!outcome.ok()) {
    trace.auth_failure = AuthFailureName(*outcome.failure);
    return;
  }
  trace.jwt_issuer = outcome.iss;
  trace.jwt_id = outcome.jti;
  trace.tenant = outcome.tenant;
}

}  // namespace

void SecurityGate::Decorate(const HttpRequestView& request, HttpResponseView& response) const {
  if (cors_ != nullptr) cors_->Decorate(request, response);
}

void SecurityGate::Handle(HttpRequestView request, Respond respond) const {
  // The one route table (service/http/endpoint.h): CORS and the JWT guard
  // the CDS endpoints only.
  if (SpecOf(RouteOf(request.path).endpoint).group != EndpointGroup::kCds) {
    return next_.Handle(std::move(request), std::move(respond));
  }

  if (request.method == "OPTIONS") {
    return respond(cors_ != nullptr ? cors_->Preflight(request)
                                    : CorsPolicy({}).Preflight(request));
  }

  // Every response of a CDS endpoint carries the CORS headers.
  if (cors_ != nullptr) {
    respond = [cors = cors_, origin = request.Header("origin"),
               reply = std::move(respond)](HttpResponseView response) {
      HttpRequestView origin_only;
      if (!origin.empty()) origin_only.headers["origin"] = origin;
      cors->Decorate(origin_only, response);
      reply(std::move(response));
    };
  }

  if (authenticator_ == nullptr || !authenticator_->required()) {
    return next_.Handle(std::move(request), std::move(respond));
  }
  // The check may finish later, on a JWK Set fetch thread: the request moves
  // into the callback, and on to the next handler from there. The path and
  // token are copied first, since the callback may run (and move the
  // request on) before Authenticate returns.
  const std::string path = request.path;
  const std::string authorization = request.Header("authorization");
  auto pending = std::make_shared<HttpRequestView>(std::move(request));
  auto reply = std::make_shared<Respond>(std::move(respond));
  const RequestHandler* next = &next_;
  authenticator_->Authenticate(path, authorization,
                               [pending, reply, next](const AuthOutcome& outcome) {
                                 Trace(*pending, outcome);
                                 if (!outcome.ok()) return (*reply)(Unauthorized());
                                 next->Handle(std::move(*pending), std::move(*reply));
                               });
}

}  // namespace cds::service
