#pragma once

// Helpers for driving HookHandler without sockets.

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <utility>

#include <boost/test/unit_test.hpp>

#include "cards/id_source.h"
#include "fhir/fhir_time.h"
#include "rules/loader.h"
#include "service/http/hook_handler.h"

namespace cds::service::testing {

// The fixed "now" of the golden tests: 2026-11-22T12:00:00Z.
inline fhir::EpochSeconds GoldenNow() {
  return fhir::ParseFhirDateTime("2026-11-22T12:00:00Z")->seconds;
}

inline HookHandlerOptions FixedOptions(fhir::EpochSeconds now = GoldenNow()) {
  HookHandlerOptions options;
  options.clock = [now] { return now; };
  options.ids = [] { return std::make_unique<cards::SequentialIdSource>(); };
  return options;
}

// Runs one request and waits (bounded) for the response.
inline HttpResponseView Call(const HookHandler& handler, const std::string& method,
                             const std::string& path, const std::string& body = "",
                             const std::string& content_type = "application/json") {
  HttpRequestView request;
  request.method = method;
  request.path = path;
  request.body = body;
  if (!content_type.empty()) request.headers["content-type"] = content_type;
  auto promise = std::make_shared<std::promise<HttpResponseView>>();
  std::future<HttpResponseView> answer = promise->get_future();
  handler.Handle(std::move(request),
                 [promise](HttpResponseView response) { promise->set_value(std::move(response)); });
  BOOST_REQUIRE_MESSAGE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready,
                        "handler did not respond");
  return answer.get();
}

inline std::string HeaderOf(const HttpResponseView& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

inline std::shared_ptr<const rules::RuleSet> LoadShippedRules() {
  auto loaded = rules::LoadRuleSet(std::string(CDS_RULES_DIR) + "/magnesium/1.0.0");
  BOOST_REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().message));
  return *loaded;
}

}  // namespace cds::service::testing
