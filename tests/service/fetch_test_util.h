#pragma once

// Helpers for the FHIR-fetching integration tests (issue #4): a HookHandler
// wired to a real RestFhirClient, hook request JSON, and access to the test
// servers under tests/fhir_server (real processes, loopback only).

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fhir/batch_capability.h"
#include "fhir/rest_fhir_client.h"
#include "rules/loader.h"
#include "tests/service/handler_test_util.h"
#include "tests/support/http_test_client.h"
#include "tests/support/node_server.h"

namespace cds::service::testing {

inline constexpr char kAccessToken[] = "magcds-test-token-7f3a9c";

// Sends a request to a test server (JSON body; bearer token for server.mjs).
inline cds::testing::HttpTestResponse SendTo(const cds::testing::NodeServer& server,
                                             const std::string& method, const std::string& path,
                                             const std::string& body = "") {
  return cds::testing::SendRaw(
      server.port(),
      cds::testing::FormatRequest(method, path, body,
                                  {{"Content-Type", "application/fhir+json"},
                                   {"Authorization", std::string("Bearer ") + kAccessToken}}),
      std::chrono::seconds(10));
}

// A HookHandler that may fetch from `bases` through a real RestFhirClient.
class FetchingService {
 public:
  struct Options {
    std::vector<std::string> bases;
    std::chrono::milliseconds deadline{2000};
    std::size_t max_pages = 10;
    std::size_t max_entries = 5000;
    std::shared_ptr<const rules::RuleSet> rules = nullptr;  // null: the shipped rule set
    bool batch = false;  // issue #18: one FHIR batch per call to servers that declare it
  };

  explicit FetchingService(Options options)
      : now_(std::make_shared<std::atomic<fhir::EpochSeconds>>(GoldenNow())),
        log_(std::make_shared<Log>()) {
    holder_.Set(options.rules ? options.rules : LoadShippedRules());
    auto policy = fhir::FhirServerPolicy::Create(options.bases, true);
    BOOST_REQUIRE_MESSAGE(policy, (policy ? "" : policy.error().message));
    fhir::RestFhirClientOptions client_options;
    client_options.policy = *policy;
    auto log = log_;
    client_options.log = [log](const fhir::FhirGetLog& entry) {
      std::lock_guard<std::mutex> lock(log->mutex);
      log->entries.push_back(entry);
    };
    auto created = fhir::RestFhirClient::Create(std::move(client_options));
    BOOST_REQUIRE(created);
    client_ = std::move(created).value();

    HookHandlerOptions handler_options = FixedOptions();
    auto now = now_;
    handler_options.clock = [now] { return now->load(); };
    handler_options.fhir_client = client_.get();
    handler_options.gather.servers = *policy;
    handler_options.gather.deadline = options.deadline;
    handler_options.gather.max_pages = options.max_pages;
    handler_options.gather.max_entries = options.max_entries;
    if (options.batch) {
      batch_ = std::make_shared<fhir::BatchCapability>(client_.get());
      handler_options.gather.batch = batch_;
    }
    handler_ = std::make_unique<HookHandler>(holder_, std::move(handler_options));
  }

  // With Options::batch: starts the read of `base`'s CapabilityStatement if
  // it has not been, and waits (bounded) until it says batch. False if not.
  bool WaitForBatch(const std::string& base) const {
    for (int i = 0; i < 200 && batch_; ++i) {
      if (batch_->Use(base)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  void SetNow(fhir::EpochSeconds now) { now_->store(now); }
  const HookHandler& handler() const { return *handler_; }

  HttpResponseView Post(const std::string& body) const {
    return Call(*handler_, "POST", "/cds-services/magnesium-advisor", body);
  }

  std::vector<fhir::FhirGetLog> LogEntries() const {
    std::lock_guard<std::mutex> lock(log_->mutex);
    return log_->entries;
  }

 private:
  struct Log {
    std::mutex mutex;
    std::vector<fhir::FhirGetLog> entries;
  };
  RuleSetHolder holder_;
  std::shared_ptr<std::atomic<fhir::EpochSeconds>> now_;
  std::shared_ptr<Log> log_;
  std::unique_ptr<fhir::RestFhirClient> client_;  // outlives handler_ (declared first)
  std::shared_ptr<fhir::BatchCapability> batch_;
  std::unique_ptr<HookHandler> handler_;
};

// A patient-view request. `prefetch` maps keys to raw JSON values ("null" too);
// keys not in the map are absent. Without `fhir_server` there is neither
// fhirServer nor fhirAuthorization.
struct HookRequestSpec {
  std::string patient_id;
  std::string fhir_server;
  std::string access_token = kAccessToken;
  std::string token_patient;  // fhirAuthorization.patient; "" = left out
  std::map<std::string, std::string> prefetch;
};

inline std::string HookRequestJson(const HookRequestSpec& spec) {
  std::string json =
      R"({"hook":"patient-view","hookInstance":"7e1d1c57-1a53-4f6c-9d2f-3f1f0c9a7b11",)";
  json += R"("context":{"patientId":")" + spec.patient_id + R"(","userId":"Practitioner/u1"})";
  if (!spec.fhir_server.empty()) {
    json += R"(,"fhirServer":")" + spec.fhir_server + "\"";
    json +=
        R"(,"fhirAuthorization":{"access_token":")" + spec.access_token +
        R"(","token_type":"Bearer","expires_in":300,"scope":"patient/*.read","subject":"magcds")";
    if (!spec.token_patient.empty()) json += R"(,"patient":")" + spec.token_patient + "\"";
    json += "}";
  }
  json += R"(,"prefetch":{)";
  bool first = true;
  for (const auto& [key, value] : spec.prefetch) {
    json += (first ? "" : ",") + std::string("\"") + key + "\":" + value;
    first = false;
  }
  json += "}}";
  return json;
}

// Rule ids of the cards in a response body ("MG-01", ...), from the
// provenance extension "rule": "MG-01@1.0.0".
inline std::set<std::string> CardRules(const std::string& body) {
  static const std::regex kRule("\"rule\"\\s*:\\s*\"(MG-[0-9]+)@");
  std::set<std::string> rules;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), kRule);
       it != std::sregex_iterator(); ++it) {
    rules.insert((*it)[1].str());
  }
  return rules;
}

}  // namespace cds::service::testing
