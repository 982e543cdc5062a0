#include "service/http/hook_handler.h"

#include <cassert>
#include <cctype>
#include <exception>
#include <utility>
#include <vector>

#include "cards/render.h"
#include "common/json_document.h"
#include "fhir/data_gatherer.h"
#include "fhir/patient_facts.h"
#include "service/hooks/feedback_request.h"
#include "service/hooks/feedback_sink.h"
#include "service/hooks/hook_request.h"
#include "service/hooks/recording_fhir_client.h"
#include "service/hooks/request_trace.h"
#include "service/hooks/service_call.h"
#include "service/http/endpoint.h"
#include "service/http/http_request_parser.h"
#include "service/http/http_response_text.h"
#include "service/http/http_status.h"
#include "service/http/response_json.h"
#include "service/log/log.h"

namespace cds::service {
namespace {

HttpResponseView Json(int status, std::string body) {
  HttpResponseView response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// Every error answer comes from the one table (service/http/http_status.h).
HttpResponseView ErrorResponse(const HttpError& error) { return ErrorViewFor(error); }

HttpResponseView NoStore(HttpResponseView response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "Cache-Control") return response;
  }
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

HttpResponseView MethodNotAllowed(std::string_view allow) {
  HttpResponseView response = ErrorResponse(
      HttpError(HttpErrorCode::kMethodNotAllowed,
                "method not allowed on this endpoint; allowed: " + std::string(allow)));
  response.headers.emplace_back("Allow", std::string(allow));
  return response;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Service ids are URL-safe (checklist D-4); anything else is not named back.
bool IsPrintableId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string Quoted(std::string_view id) {
  return IsPrintableId(id) ? "'" + std::string(id) + "'" : std::string("(unprintable id)");
}

// A POST body must be JSON when the client says what it is (415 otherwise).
bool ContentTypeAcceptable(const HttpRequestView& request) {
  const auto it = request.headers.find("content-type");
  if (it == request.headers.end() || Trim(it->second).empty()) return true;
  return IsJsonContentType(it->second);
}

HttpError UnsupportedMedia() {
  return HttpError(HttpErrorCode::kUnsupportedMedia,
                   "Content-Type must be application/json (or application/*+json)");
}

std::vector<const rules::ServiceDefinition*> ServicesWithId(const rules::RuleSet& rule_set,
                                                            std::string_view id) {
  std::vector<const rules::ServiceDefinition*> found;
  for (const rules::ServiceDefinition& service : rule_set.services) {
    if (service.id == id) found.push_back(&service);
  }
  return found;
}

// The part of a service call after the data is in: the core call
// (service/hooks/service_call.h), then encoding. Runs on whichever thread completes
// the gather.
struct PendingCall {
  std::shared_ptr<const rules::RuleSet> rule_set;
  const rules::ServiceDefinition* service = nullptr;  // owned by rule_set
  HookRequest request;
  fhir::EpochSeconds as_of = 0;
  const HookHandlerOptions* options = nullptr;
  Respond respond;
  // For the operational observers (null when the request has no trace).
  std::shared_ptr<RequestTrace> trace;
  std::shared_ptr<fhir::FhirClient> recorder;  // records FHIR queries into `trace`

  void Finish(const fhir::GatherResult& gathered) {
    std::unique_ptr<cards::IdSource> ids = options->ids();
    ServiceCallInput input;
    input.rule_set = rule_set.get();
    input.service = service;
    input.request = &request;
    input.gathered = &gathered;
    input.now = as_of;
    ServiceCallOptions call_options;
    call_options.normalize = options->normalize;
    call_options.explain = options->explain;
    call_options.ids = ids.get();
    const ServiceCallResult result = RunServiceCall(input, call_options);
    if (!result.response) {
      if (trace && !gathered.error) TracePrefetch(*trace, result.record);
      if (result.response.error().code == ErrorCode::kPrefetchUnavailable) {
        std::string keys;
        for (const std::string& key : gathered.unavailable_required) {
          keys += (keys.empty() ? "" : ", ") + key;
        }
        LogEvent("warn", "prefetch_unavailable",
                 {{"service", service->id},
                  {"hookInstance", request.hook_instance},
                  {"keys", keys},
                  {"message", result.response.error().message}});
      }
      respond(NoStore(ErrorResponse(result.response.error())));
      return;
    }
    if (trace) TracePrefetch(*trace, result.record);
    if (trace) trace->foreign_resources_dropped = result.record.foreign_resources.size();
    if (options->on_evaluation) options->on_evaluation(*rule_set, result.evaluation);
    if (trace) TraceEvaluation(*trace, *rule_set, result.evaluation, *result.response);
    std::string body = WriteCardsResponse(*result.response);
    // Issue #16: remember which rule issued each card (queued, never waited on).
    if (options->feedback_sink != nullptr && !result.response->empty()) {
      options->feedback_sink->CardsIssued(service->id, request.hook_instance, request.patient_id,
                                          *result.response, as_of);
    }
    respond(NoStore(Json(200, std::move(body))));
  }
};

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
  const std::size_t semicolon = content_type.find(';');
  const std::string type = Lower(Trim(content_type.substr(0, semicolon)));
  if (type == "application/json") return true;
  const std::string_view suffix = "+json";
  return type.rfind("application/", 0) == 0 && type.size() > 12 + suffix.size() &&
         type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0;
}

HookHandler::HookHandler(const RuleSetHolder& rule_sets, HookHandlerOptions options)
    : rule_sets_(rule_sets), options_(std::move(options)) {
  assert(options_.clock && options_.ids && "HookHandlerOptions needs a clock and an id source");
}

void HookHandler::Handle(HttpRequestView request, Respond respond) const {
  // The one route table (service/http/endpoint.h).
  const Route route = RouteOf(request.path);
  const EndpointSpec& spec = SpecOf(route.endpoint);
  const bool served = spec.group == EndpointGroup::kCds || route.endpoint == Endpoint::kHealthz ||
                      route.endpoint == Endpoint::kReadyz;
  if (!served) {
    return respond(ErrorResponse(Error{ErrorCode::kUnknownService,
                                       "no endpoint at this path; endpoints are /cds-services, "
                                       "/cds-services/{id} and /cds-services/{id}/feedback"}));
  }
  if (request.method != spec.method) {
    HttpResponseView refused = MethodNotAllowed(spec.method);
    return respond(spec.no_store ? NoStore(std::move(refused)) : std::move(refused));
  }
  if (spec.method == "POST" && !ContentTypeAcceptable(request)) {
    return respond(NoStore(ErrorResponse(UnsupportedMedia())));
  }
  switch (route.endpoint) {
    case Endpoint::kDiscovery:
      return Discovery(respond);
    case Endpoint::kHealthz:
      return respond(Json(200, WriteStringObject({{"status", "ok"}})));
    case Endpoint::kReadyz:
      return Ready(respond);
    case Endpoint::kServiceCall:
      return CallService(std::string(route.service_id), request, std::move(respond));
    case Endpoint::kFeedback:
      return Feedback(std::string(route.service_id), request, std::move(respond));
    case Endpoint::kMetrics:
    case Endpoint::kUnknown:
      break;
  }
  assert(false && "served endpoints are handled above");
}

void HookHandler::Discovery(Respond& respond) const {
  const std::shared_ptr<const rules::RuleSet> rule_set = rule_sets_.Get();
  if (!rule_set) {
    return respond(ErrorResponse(Error{ErrorCode::kInternal, "no rule set is loaded"}));
  }
  respond(Json(200, WriteDiscovery(*rule_set)));
}

void HookHandler::Ready(Respond& respond) const {
  const std::shared_ptr<const rules::RuleSet> rule_set = rule_sets_.Get();
  if (!rule_set) return respond(Json(503, WriteStringObject({{"status", "not_ready"}})));
  // TODO(#8): last reload status, FHIR allowlist configured.
  respond(Json(200, WriteStringObject({{"status", "ready"}, {"ruleset", rule_set->Label()}})));
}

// The body read by the HTTP parser has room for the in-place parse.
static_assert(HttpRequestParser::kBodySlack >= JsonDocument::kInsituPadding);

void HookHandler::CallService(const std::string& service_id, HttpRequestView& http,
                              Respond respond) const {
  std::shared_ptr<const rules::RuleSet> rule_set = rule_sets_.Get();
  if (!rule_set) {
    return respond(NoStore(ErrorResponse(Error{ErrorCode::kInternal, "no rule set is loaded"})));
  }
  const std::vector<const rules::ServiceDefinition*> candidates =
      ServicesWithId(*rule_set, service_id);
  if (candidates.empty()) {
    return respond(NoStore(
        ErrorResponse(Error{ErrorCode::kUnknownService, "unknown service " + Quoted(service_id)})));
  }
  if (http.trace) {
    http.trace->service_id = service_id;
    http.trace->ruleset = rule_set->Label();
  }

  Result<HookRequest> parsed = ParseHookRequestInPlace(std::move(http.body));
  if (!parsed) return respond(NoStore(ErrorResponse(parsed.error())));
  if (http.trace) {
    http.trace->hook = parsed->hook;
    http.trace->hook_instance = parsed->hook_instance;
    http.trace->patient_id = parsed->patient_id;
  }

  // One id may be registered for several hooks (checklist D-5): pick by hook.
  Result<const rules::ServiceDefinition*> service =
      ResolveService(*rule_set, service_id, parsed->hook);
  if (!service) return respond(NoStore(ErrorResponse(service.error())));

  fhir::GatherInput input = GatherInputFor(*rule_set, **service, *parsed);
  auto call = std::make_shared<PendingCall>();
  call->rule_set = std::move(rule_set);
  call->service = *service;
  call->request = std::move(parsed).value();
  call->as_of = options_.clock();
  call->options = &options_;
  call->respond = std::move(respond);
  fhir::FhirClient* fhir_client = options_.fhir_client;
  if (http.trace) {
    call->trace = http.trace;
    if (fhir_client != nullptr) {
      call->recorder = std::make_shared<RecordingFhirClient>(fhir_client, http.trace);
      fhir_client = call->recorder.get();
    }
  }

  const fhir::DataGatherer gatherer(fhir_client, options_.gather);
  gatherer.Gather(std::move(input), [call](const fhir::GatherResult& gathered) {
    // This may run on a FHIR client thread, beyond the adapter's catch: keep
    // the one-response guarantee here too.
    try {
      call->Finish(gathered);
    } catch (const std::exception& e) {
      const std::string correlation = NewCorrelationId();
      LogEvent("error", "service_call_failed",
               {{"correlationId", correlation}, {"exception", e.what()}});
      call->respond(NoStore(ErrorResponse(
          Error{ErrorCode::kInternal, "internal error; correlation id " + correlation})));
    } catch (...) {
      const std::string correlation = NewCorrelationId();
      LogEvent("error", "service_call_failed", {{"correlationId", correlation}});
      call->respond(NoStore(ErrorResponse(
          Error{ErrorCode::kInternal, "internal error; correlation id " + correlation})));
    }
  });
}

void HookHandler::Feedback(const std::string& service_id, const HttpRequestView& http,
                           Respond respond) const {
  const std::shared_ptr<const rules::RuleSet> rule_set = rule_sets_.Get();
  if (!rule_set || ServicesWithId(*rule_set, service_id).empty()) {
    return respond(NoStore(
        ErrorResponse(Error{ErrorCode::kUnknownService, "unknown service " + Quoted(service_id)})));
  }
  if (http.trace) http.trace->service_id = service_id;
  Result<FeedbackRequest> feedback = ParseFeedbackRequest(http.body);
  if (!feedback) return respond(NoStore(ErrorResponse(feedback.error())));
  if (http.trace) {
    // Issue #13: counted and logged by outcome (InstrumentedHandler).
    for (const FeedbackItem& item : feedback->items) {
      ++http.trace->feedback_outcomes[item.outcome];
      http.trace->feedback_accepted_suggestions +=
          static_cast<int>(item.accepted_suggestions.size());
    }
  }
  if (options_.feedback_sink == nullptr || feedback->items.empty()) {
    return respond(NoStore(Json(200, "{}")));
  }
  // Issue #16: answered once stored (CDS Hooks 2.0 §Feedback: 200 OK), so an
  // EHR told 503 knows to send it again; storing is idempotent (FB-3).
  options_.feedback_sink->FeedbackReceived(
      service_id, std::move(feedback).value(), options_.clock(),
      [respond = std::move(respond)](const Status& stored) {
        if (stored) return respond(NoStore(Json(200, "{}")));
        HttpResponseView response = NoStore(ErrorResponse(stored.error()));
        response.headers.emplace_back("Retry-After", "5");
        respond(std::move(response));
      });
}

}  // namespace cds::service
