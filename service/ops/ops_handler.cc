#include "service/ops/ops_handler.h"

#include <string>
#include <utility>

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

bool OpsHandler::IsOpsPath(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics";
}

void OpsHandler::Handle(const HttpRequestView& request, Respond respond) const {
  const std::string& path = request.path;
  if (!IsOpsPath(path)) {
    return respond(Reply(404, WriteStringObject({{"error", "unknown_service"},
                                                 {"message", "no endpoint at this path"}})));
  }
  if (request.method != "GET") {
    HttpResponseView response = Reply(
        405, WriteStringObject({{"error", "method_not_allowed"},
                                {"message", "method not allowed on this endpoint; allowed: GET"}}));
    response.headers.emplace_back("Allow", "GET");
    return respond(std::move(response));
  }
  if (path == "/healthz") return respond(Reply(200, WriteStringObject({{"status", "ok"}})));
  if (path == "/metrics") {
    if (options_.metrics == nullptr) {
      return respond(Reply(
          404, WriteStringObject({{"error", "unknown_service"}, {"message", "metrics are off"}})));
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
