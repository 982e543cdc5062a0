#include "service/ops/ops_handler.h"

#include <string>
#include <utility>

#include "service/http/endpoint.h"
#include "service/http/http_response_text.h"
#include "service/http/http_status.h"
#include "service/http/response_json.h"

namespace cds::service {
namespace {

HttpResponseView Reply(int status, std::string body,
                       std::string content_type = "application/json") {
  HttpResponseView response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = std::move(content_type);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace

void OpsHandler::Handle(HttpRequestView request, Respond respond) const {
  // The one route table (service/http/endpoint.h).
  const Route route = RouteOf(request.path);
  const EndpointSpec& spec = SpecOf(route.endpoint);
  if (spec.group != EndpointGroup::kOperational) {
    return respond(ErrorViewFor(Error{ErrorCode::kUnknownService, "no endpoint at this path"}));
  }
  if (request.method != spec.method) {
    HttpResponseView response = ErrorViewFor(
        HttpError(HttpErrorCode::kMethodNotAllowed,
                  "method not allowed on this endpoint; allowed: " + std::string(spec.method)));
    response.headers.emplace_back("Allow", std::string(spec.method));
    return respond(std::move(response));
  }
  if (route.endpoint == Endpoint::kHealthz) {
    return respond(Reply(200, WriteStringObject({{"status", "ok"}})));
  }
  if (route.endpoint == Endpoint::kMetrics) {
    if (options_.metrics == nullptr) {
      return respond(ErrorViewFor(Error{ErrorCode::kUnknownService, "metrics are off"}));
    }
    return respond(Reply(200, options_.metrics->RenderPrometheus(), Metrics::kContentType));
  }
  Readiness readiness;
  const auto rule_set = options_.rule_sets->Get();
  if (rule_set) readiness.ruleset = rule_set->Label();
  if (options_.reloader != nullptr) {
    readiness.has_reload_status = true;
    readiness.reload = options_.reloader->Status();
  }
  readiness.fhir_servers = options_.fhir_servers;
  if (options_.audit != nullptr) {
    readiness.audit_on = true;
    readiness.audit = options_.audit->State();
  }
  const bool draining = options_.gate != nullptr && options_.gate->draining();
  if (options_.gate != nullptr) readiness.in_flight = options_.gate->in_flight();
  readiness.ready = rule_set != nullptr && !draining;
  readiness.status = draining ? "draining" : rule_set ? "ready" : "not_ready";
  respond(Reply(readiness.ready ? 200 : 503, WriteReadiness(readiness)));
}

}  // namespace cds::service
