// The one route table and the one error table over a real listener on
// 127.0.0.1 (issue #11): the whole front magcds serve builds (the
// instrumenting front, the CDS and operational handlers, metrics and the
// drain gate), driven by a raw-socket client. Every endpoint of the table
// answers its method and refuses the others with 405 + Allow; every error
// body, the draining 503 included, carries the table's status and name; and
// each request is counted under the table's label.

#include <rapidjson/document.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "service/hooks/feedback_sink.h"
#include "service/http/endpoint.h"
#include "service/http/http_adapter.h"
#include "service/http/http_status.h"
#include "service/ops/drain_gate.h"
#include "service/ops/instrumented_handler.h"
#include "service/ops/metrics.h"
#include "service/ops/ops_handler.h"
#include "tests/service/handler_test_util.h"
#include "tests/support/http_test_client.h"

namespace cds::service {
namespace {

using cds::testing::FormatRequest;
using cds::testing::HttpTestResponse;
using cds::testing::SendRaw;

std::string SampleRequest() {
  std::ifstream in(std::string(CDS_TEST_DATA_DIR) + "/requests/patient-view-ppi-cramps.json",
                   std::ios::binary);
  BOOST_REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A feedback store that is down: every feedback call gets kUnavailable.
class DownFeedbackSink : public FeedbackSink {
 public:
  void CardsIssued(const std::string&, const std::string&, const std::string&,
                   const std::vector<cards::Card>&, fhir::EpochSeconds) override {}
  void FeedbackReceived(const std::string&, FeedbackRequest, fhir::EpochSeconds,
                        std::function<void(Status)> done) override {
    done(Error{ErrorCode::kUnavailable, "the feedback store is down"});
  }
};

HookHandlerOptions WithSink(FeedbackSink* sink) {
  HookHandlerOptions options = testing::FixedOptions();
  options.feedback_sink = sink;
  return options;
}

const char* kFeedback =
    R"({"feedback":[{"card":"0d4f7d4e-0000-4000-8000-000000000001","outcome":"accepted",)"
    R"("acceptedSuggestions":[{"id":"s1"}],)"
    R"("outcomeTimestamp":"2026-11-22T12:00:00Z"}]})";

// magcds serve's handler stack on one port, ops endpoints included.
struct Front {
  explicit Front(FeedbackSink* sink = nullptr)
      : holder(testing::LoadShippedRules()), hooks(holder, WithSink(sink)) {
    OpsHandlerOptions ops_options;
    ops_options.rule_sets = &holder;
    ops_options.metrics = &metrics;
    ops_options.gate = &gate;
    ops = std::make_unique<OpsHandler>(ops_options);
    InstrumentedHandlerOptions front_options;
    front_options.cds = &hooks;
    front_options.ops = ops.get();
    front_options.metrics = &metrics;
    front_options.gate = &gate;
    front = std::make_unique<InstrumentedHandler>(front_options);
    for (int attempt = 0; attempt < 5 && !server; ++attempt) {
      ServerOptions options;
      options.port = cds::testing::FindFreePort();
      options.threads = 2;
      options.stop_timeout = std::chrono::seconds(5);
      auto candidate = std::make_unique<HttpServer>(*front, options);
      if (candidate->Start()) {
        port = options.port;
        server = std::move(candidate);
      }
    }
    BOOST_REQUIRE_MESSAGE(server, "could not start the listener on a free port");
  }
  ~Front() {
    if (server) BOOST_CHECK_MESSAGE(server->Stop(), "listener close() timed out");
  }

  HttpTestResponse Send(const std::string& method, const std::string& path,
                        const std::string& body = "") const {
    return SendRaw(port,
                   FormatRequest(method, path, body,
                                 body.empty() ? std::vector<std::pair<std::string, std::string>>{}
                                              : std::vector<std::pair<std::string, std::string>>{
                                                    {"Content-Type", "application/json"}}));
  }

  RuleSetHolder holder;
  HookHandler hooks;
  Metrics metrics;
  DrainGate gate;
  std::unique_ptr<OpsHandler> ops;
  std::unique_ptr<InstrumentedHandler> front;
  std::unique_ptr<HttpServer> server;
  std::uint16_t port = 0;
};

// The body and status of an error answer, checked against the table.
void ExpectTableError(const HttpTestResponse& response, const HttpError& expected) {
  BOOST_TEST(response.status == HttpStatusFor(expected), response.body << response.error);
  rapidjson::Document doc;
  doc.Parse(response.body.c_str());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), response.body);
  BOOST_REQUIRE(doc.HasMember("error") && doc["error"].IsString());
  BOOST_TEST(std::string(doc["error"].GetString()) == ErrorCodeName(expected));
  BOOST_TEST(doc.HasMember("message"));
  BOOST_TEST(response.headers.count("cache-control") == 1u);
}

std::string HeaderOf(const HttpTestResponse& response, const std::string& name) {
  const auto it = response.headers.find(name);
  return it == response.headers.end() ? "" : it->second;
}

// A request the metrics counted under `label` with `status`.
bool Counted(const Metrics& metrics, std::string_view label, int status) {
  const std::string text = metrics.RenderPrometheus();
  const std::string needle = "magcds_http_requests_total{endpoint=\"" + std::string(label) + "\"";
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    const std::string line = text.substr(at, text.find('\n', at) - at);
    if (line.find("status=\"" + std::to_string(status) + "\"") != std::string::npos) return true;
  }
  return false;
}

BOOST_AUTO_TEST_SUITE(RouteTableOverHttp)

// Every endpoint of the table, its own method and a wrong one.
BOOST_AUTO_TEST_CASE(each_endpoint_answers_its_method_and_refuses_others) {
  Front f;
  const std::string sample = SampleRequest();
  for (const EndpointSpec& spec : EndpointTable()) {
    if (spec.endpoint == Endpoint::kUnknown) continue;
    BOOST_TEST_CONTEXT(spec.label) {
      const std::string path =
          spec.endpoint == Endpoint::kDiscovery     ? "/cds-services"
          : spec.endpoint == Endpoint::kServiceCall ? "/cds-services/magnesium-advisor"
          : spec.endpoint == Endpoint::kFeedback    ? "/cds-services/magnesium-advisor/feedback"
                                                    : "/" + std::string(spec.label);
      const std::string wrong = spec.method == "GET" ? "POST" : "GET";
      const HttpTestResponse refused = f.Send(wrong, path, wrong == "POST" ? "{}" : "");
      ExpectTableError(refused, HttpError(HttpErrorCode::kMethodNotAllowed, ""));
      BOOST_TEST(HeaderOf(refused, "allow") == std::string(spec.method));
      BOOST_TEST(Counted(f.metrics, spec.label, 405));

      const std::string body = spec.endpoint == Endpoint::kFeedback ? kFeedback
                               : spec.method == "POST"              ? sample
                                                                    : "";
      const HttpTestResponse served = f.Send(std::string(spec.method), path, body);
      BOOST_TEST(served.status == 200, served.body << served.error);
      BOOST_TEST(Counted(f.metrics, spec.label, 200));
    }
  }
}

BOOST_AUTO_TEST_CASE(errors_come_from_the_table) {
  DownFeedbackSink down;
  Front f(&down);
  ExpectTableError(f.Send("GET", "/no/such/path"), Error{ErrorCode::kUnknownService, ""});
  BOOST_TEST(Counted(f.metrics, "other", 404));
  ExpectTableError(f.Send("POST", "/cds-services/no-such-service", SampleRequest()),
                   Error{ErrorCode::kUnknownService, ""});
  BOOST_TEST(Counted(f.metrics, "service", 404));
  ExpectTableError(f.Send("POST", "/cds-services/magnesium-advisor", "{"),
                   Error{ErrorCode::kInvalidRequest, ""});
  ExpectTableError(SendRaw(f.port, FormatRequest("POST", "/cds-services/magnesium-advisor", "{}",
                                                 {{"Content-Type", "text/plain"}})),
                   HttpError(HttpErrorCode::kUnsupportedMedia, ""));
  // The feedback store is down: the service cannot keep feedback now.
  const HttpTestResponse unkept =
      f.Send("POST", "/cds-services/magnesium-advisor/feedback", kFeedback);
  ExpectTableError(unkept, Error{ErrorCode::kUnavailable, ""});
  BOOST_TEST(HeaderOf(unkept, "retry-after") == "5");
  BOOST_TEST(Counted(f.metrics, "feedback", 503));
}

// Issue #11: the draining 503 is a table error like any other, and only CDS
// endpoints are refused (probes still see the instance).
BOOST_AUTO_TEST_CASE(draining_503_comes_from_the_table) {
  Front f;
  f.gate.StartDraining();
  const HttpTestResponse refused =
      f.Send("POST", "/cds-services/magnesium-advisor", SampleRequest());
  ExpectTableError(refused, Error{ErrorCode::kUnavailable, ""});
  BOOST_TEST(HeaderOf(refused, "retry-after") == "1");
  BOOST_TEST(Counted(f.metrics, "service", 503));
  ExpectTableError(f.Send("GET", "/cds-services"), Error{ErrorCode::kUnavailable, ""});
  BOOST_TEST(f.Send("GET", "/healthz").status == 200);
  BOOST_TEST(f.Send("GET", "/readyz").status == 503);  // not ready while draining
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
