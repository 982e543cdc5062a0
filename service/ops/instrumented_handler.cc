#include "service/ops/instrumented_handler.h"

#include <atomic>
#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "service/hooks/request_trace.h"
#include "service/http/endpoint.h"
#include "service/http/http_response_text.h"
#include "service/log/log.h"
#include "service/ops/ops_handler.h"

namespace cds::service {
namespace {

using SteadyClock = std::chrono::steady_clock;

// What one request was, for the observers: its endpoint and its label
// ("preflight" for a CORS preflight, which is not a call).
struct Observed {
  Endpoint endpoint = Endpoint::kUnknown;
  std::string_view label;
  bool preflight = false;
};

Observed ObservedOf(std::string_view method, const Route& route) {
  const std::string_view label = EndpointLabel(method, route);
  return {route.endpoint, label, label != SpecOf(route.endpoint).label};
}

// A 503 while draining: the body from the one error table, and the
// connection closed so the client retries elsewhere.
HttpResponseView Unavailable(const char* message) {
  HttpResponseView response = ErrorViewFor(Error{ErrorCode::kUnavailable, message});
  response.headers.emplace_back("Connection", "close");
  return response;
}

void Observe(const InstrumentedHandlerOptions& options, const Observed& observed,
             std::string_view method, const RequestTrace& trace, int status, double seconds) {
  const std::string_view endpoint = observed.label;
  const bool ops = SpecOf(observed.endpoint).group == EndpointGroup::kOperational;
  const bool feedback = observed.endpoint == Endpoint::kFeedback && !observed.preflight;
  const bool audited = SpecOf(observed.endpoint).audited && !observed.preflight;
  if (Metrics* metrics = options.metrics; metrics != nullptr) {
    metrics->CountRequest(endpoint, trace.service_id, status, seconds);
    for (const TracedCard& card : trace.cards) metrics->CountCard(card.rule_id, card.indicator);
    for (const TracedFhirQuery& query : trace.FhirQueries()) {
      metrics->CountFhirQuery(query.outcome, query.seconds);
    }
    for (const auto& [key, hit] : trace.prefetch) metrics->CountPrefetch(key, hit);
    metrics->CountDropped("foreign_resource", trace.foreign_resources_dropped);
    // Auth failures are counted where they are decided (Authenticator's
    // on_outcome, wired in cli_serve.cc), not here.
  }
  if (Metrics* metrics = options.metrics; metrics != nullptr && feedback) {
    for (const auto& [outcome, count] : trace.feedback_outcomes) {
      metrics->CountFeedbackReceived(trace.service_id, outcome, count);
    }
  }
  const double ms = seconds * 1000.0;
  if (options.audit != nullptr && audited) {
    if (!options.audit->Write(trace, status, ms)) {
      if (options.metrics != nullptr) options.metrics->CountAuditWriteFailure();
      LogEvent("error", "audit_write_failed",
               {{"path", options.audit->path()}, {"hookInstance", trace.hook_instance}});
    }
  }
  const char* level = ops ? "debug" : status >= 500 ? "error" : "info";
  if (!LogEnabled(level)) return;
  LogFields fields = {{"method", std::string(method)},
                      {"endpoint", std::string(endpoint)},
                      {"status", std::to_string(status)},
                      {"durationMs", LogMs(ms)}};
  if (!trace.service_id.empty()) {
    fields.emplace_back("service", trace.service_id);
  } else if (!trace.requested_service.empty()) {
    fields.emplace_back("service", trace.requested_service);
  }
  if (!trace.hook_instance.empty()) fields.emplace_back("hookInstance", trace.hook_instance);
  if (!trace.ruleset.empty()) fields.emplace_back("ruleset", trace.ruleset);
  if (audited) fields.emplace_back("cards", std::to_string(trace.cards.size()));
  if (status == 401 && !trace.auth_failure.empty()) {
    fields.emplace_back("authFailure", trace.auth_failure);
  }
  if (feedback && !trace.feedback_outcomes.empty()) {
    const auto count = [&trace](const char* outcome) {
      const auto it = trace.feedback_outcomes.find(outcome);
      return std::to_string(it == trace.feedback_outcomes.end() ? 0 : it->second);
    };
    fields.emplace_back("feedbackAccepted", count("accepted"));
    fields.emplace_back("feedbackOverridden", count("overridden"));
    fields.emplace_back("acceptedSuggestions", std::to_string(trace.feedback_accepted_suggestions));
  }
  LogEvent(level, "request", fields);
}

}  // namespace

void InstrumentedHandler::RecordRefused(const HttpRequestView& request, int status,
                                        double seconds) const {
  const Route route = RouteOf(request.path);
  RequestTrace trace;
  trace.requested_service = PrintableServiceId(route);
  Observe(options_, ObservedOf(request.method, route), request.method, trace, status, seconds);
}

void InstrumentedHandler::Handle(HttpRequestView request, Respond respond) const {
  const SteadyClock::time_point started = SteadyClock::now();
  // The one route table (service/http/endpoint.h) picks the handler.
  const Route route = RouteOf(request.path);
  const Observed observed = ObservedOf(request.method, route);
  const bool ops_endpoint = SpecOf(route.endpoint).group == EndpointGroup::kOperational;
  const RequestHandler* target = ops_endpoint ? options_.ops : options_.cds;

  // The adapter attaches a trace; a request built elsewhere (tests) gets one here.
  if (!request.trace) request.trace = std::make_shared<RequestTrace>();
  const std::shared_ptr<RequestTrace> trace = request.trace;
  if (!ops_endpoint) trace->requested_service = PrintableServiceId(route);

  // Settles the request once, on whichever thread produces the response (or
  // aborts it at the end of the shutdown grace period).
  struct Pending {
    InstrumentedHandlerOptions options;
    Observed observed;
    SteadyClock::time_point started;
    std::shared_ptr<RequestTrace> trace;
    std::string method;
    Respond respond;
    std::optional<DrainGate::Ticket> ticket;
    std::atomic<bool> done{false};

    void Complete(HttpResponseView response, bool send, bool aborted = false) {
      if (done.exchange(true)) return;
      const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
      if (aborted) {
        // Issue #12: the pipeline may still be filling `trace` on another
        // thread; an aborted request is observed without it (no data race).
        Observe(options, observed, method, RequestTrace{}, response.status, seconds);
      } else {
        Observe(options, observed, method, *trace, response.status, seconds);
      }
      if (send) respond(std::move(response));
      respond = nullptr;  // release what the response callback holds
      // Only now (the reply is queued) does shutdown stop waiting for it.
      if (ticket) {
        if (options.metrics != nullptr) options.metrics->AddInFlight(-1);
        options.gate->Leave(*ticket);
      }
    }
  };
  auto pending = std::make_shared<Pending>();
  pending->options = options_;
  pending->observed = observed;
  pending->started = started;
  pending->trace = trace;
  pending->method = request.method;
  pending->respond = std::move(respond);

  const bool gated = !ops_endpoint && target != nullptr && options_.gate != nullptr;
  if (gated) {
    std::weak_ptr<Pending> weak = pending;
    pending->ticket = options_.gate->Enter([weak] {
      if (auto p = weak.lock()) {
        p->Complete(Unavailable("the service shut down before this request was answered"), true,
                    /*aborted=*/true);
      }
    });
    if (!pending->ticket) {
      HttpResponseView refused =
          Unavailable("the service is shutting down; retry on another instance");
      refused.headers.emplace_back("Retry-After", "1");
      return pending->Complete(std::move(refused), true);
    }
    if (options_.metrics != nullptr) options_.metrics->AddInFlight(1);
  }

  Respond finish = [pending](HttpResponseView response) {
    pending->Complete(std::move(response), true);
  };
  if (target == nullptr) {
    return finish(
        ErrorViewFor(Error{ErrorCode::kUnknownService, "no endpoint at this path on this port"}));
  }
  try {
    target->Handle(std::move(request), std::move(finish));
  } catch (...) {
    // The adapter answers 500; settle the books here so shutdown does not
    // wait for a request that will never respond.
    HttpResponseView failed;
    failed.status = 500;
    pending->Complete(std::move(failed), false);
    throw;
  }
}

}  // namespace cds::service
