// RestFhirClient against real loopback servers (tests/fhir_server/fault_server.mjs),
// no mocks. Every wait is bounded; the servers exit with the test.

#include "fhir/rest_fhir_client.h"

#include <rapidjson/document.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tests/support/http_test_client.h"
#include "tests/support/node_server.h"

namespace cds::fhir {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using cds::testing::NodeServer;
using cds::testing::SilentListener;

long long Ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

NodeServer& Faults() {
  static NodeServer server("fault_server.mjs");
  return server;
}

rapidjson::Document Stats(const NodeServer& server, bool reset = false) {
  const auto answer = cds::testing::SendRaw(
      server.port(),
      cds::testing::FormatRequest(reset ? "POST" : "GET", reset ? "/_test/reset" : "/_test/stats"));
  rapidjson::Document doc;
  doc.Parse(answer.body.c_str());
  BOOST_REQUIRE_MESSAGE(doc.IsObject(), "no stats: " << answer.body << answer.error);
  return doc;
}

struct Logged {
  std::mutex mutex;
  std::vector<FhirGetLog> entries;
};

struct Client {
  explicit Client(std::vector<std::string> bases, std::size_t max_body = 1 << 20,
                  std::string ca_file = "", bool allow_http_loopback = true)
      : log(std::make_shared<Logged>()) {
    auto policy = FhirServerPolicy::Create(bases, allow_http_loopback);
    BOOST_REQUIRE_MESSAGE(policy, (policy ? "" : policy.error().message));
    RestFhirClientOptions options;
    options.policy = *policy;
    options.max_body_bytes = max_body;
    options.ca_file = std::move(ca_file);
    auto sink = log;
    options.log = [sink](const FhirGetLog& entry) {
      std::lock_guard<std::mutex> lock(sink->mutex);
      sink->entries.push_back(entry);
    };
    auto created = RestFhirClient::Create(std::move(options));
    BOOST_REQUIRE_MESSAGE(created, (created ? "" : created.error().message));
    client = std::move(created).value();
  }

  std::future<FhirResponse> Start(const std::string& url, std::chrono::milliseconds budget,
                                  const std::string& token = "secret-token") {
    auto promise = std::make_shared<std::promise<FhirResponse>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    std::future<FhirResponse> future = promise->get_future();
    FhirGet get;
    get.url = url;
    get.bearer_token = token;
    get.deadline = Clock::now() + budget;
    get.log_path = "Test?patient={{context.patientId}}";
    client->Get(std::move(get), [promise, calls](FhirResponse response) {
      BOOST_TEST(calls->fetch_add(1) == 0);  // exactly once
      promise->set_value(std::move(response));
    });
    return future;
  }

  FhirResponse Fetch(const std::string& url, std::chrono::milliseconds budget = 1000ms,
                     const std::string& token = "secret-token") {
    std::future<FhirResponse> future = Start(url, budget, token);
    BOOST_REQUIRE_MESSAGE(future.wait_for(budget + 2s) == std::future_status::ready,
                          "no answer within the deadline (+2 s)");
    return future.get();
  }

  std::shared_ptr<Logged> log;
  std::unique_ptr<RestFhirClient> client;
};

BOOST_AUTO_TEST_SUITE(RestFhirClientTest)

BOOST_AUTO_TEST_CASE(gets_a_resource_with_bearer_token_and_fhir_accept) {
  Client c({Faults().Url()});
  Stats(Faults(), true);
  const FhirResponse response = c.Fetch(Faults().Url("/ok/Patient/p1"));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.error == "");
  BOOST_TEST(response.body.find("\"Patient\"") != std::string::npos);
  BOOST_TEST(response.content_type.find("application/fhir+json") != std::string::npos);
  const rapidjson::Document stats = Stats(Faults());
  BOOST_TEST(std::string(stats["authorizations"][0].GetString()) == "Bearer secret-token");
}

BOOST_AUTO_TEST_CASE(non_200_statuses_are_answers) {
  Client c({Faults().Url()});
  for (int status : {400, 401, 404, 500, 503}) {
    const FhirResponse response =
        c.Fetch(Faults().Url("/status-" + std::to_string(status) + "/Condition?patient=1"));
    BOOST_TEST(response.status == status);
  }
}

BOOST_AUTO_TEST_CASE(never_answering_server_times_out_at_the_deadline) {
  Client c({Faults().Url()});
  const Clock::time_point start = Clock::now();
  const FhirResponse response = c.Fetch(Faults().Url("/never/Condition?patient=1"), 200ms);
  const long long elapsed = Ms(Clock::now() - start);
  BOOST_TEST_MESSAGE("never-answering server: answered after " << elapsed << " ms (deadline 200)");
  BOOST_TEST(response.status == 0);
  BOOST_TEST(response.timed_out, response.error);
  BOOST_TEST(elapsed >= 190);
  BOOST_TEST(elapsed < 400);
}

BOOST_AUTO_TEST_CASE(drip_fed_body_times_out_at_the_deadline) {
  Client c({Faults().Url()});
  const Clock::time_point start = Clock::now();
  const FhirResponse response = c.Fetch(Faults().Url("/drip/Condition?patient=1"), 250ms);
  const long long elapsed = Ms(Clock::now() - start);
  BOOST_TEST_MESSAGE("drip-fed body: answered after " << elapsed
                                                      << " ms (deadline 250): " << response.error);
  BOOST_TEST(response.status == 0);
  BOOST_TEST(response.timed_out);
  BOOST_TEST(elapsed < 450);
}

BOOST_AUTO_TEST_CASE(slow_answer_within_the_deadline_arrives) {
  Client c({Faults().Url()});
  const FhirResponse response = c.Fetch(Faults().Url("/delay-50/Condition?patient=1"), 500ms);
  BOOST_TEST(response.status == 200, response.error);
}

BOOST_AUTO_TEST_CASE(connection_reset_is_an_error_after_one_retry) {
  Client c({Faults().Url()});
  Stats(Faults(), true);
  const FhirResponse response = c.Fetch(Faults().Url("/reset/Condition?patient=1"));
  BOOST_TEST(response.status == 0);
  BOOST_TEST(!response.timed_out);
  BOOST_TEST_MESSAGE("reset: " << response.error);
  std::lock_guard<std::mutex> lock(c.log->mutex);
  BOOST_TEST_REQUIRE(c.log->entries.size() == 1u);
  BOOST_TEST(c.log->entries[0].attempts == 2);
}

BOOST_AUTO_TEST_CASE(stale_keep_alive_connection_is_retried) {
  Client c({Faults().Url()});
  BOOST_TEST(c.Fetch(Faults().Url("/stale/Condition?patient=1")).status == 200);
  std::this_thread::sleep_for(100ms);  // the server closes the idle connection after 20 ms
  const FhirResponse second = c.Fetch(Faults().Url("/stale/Condition?patient=2"));
  BOOST_TEST(second.status == 200, second.error);
}

BOOST_AUTO_TEST_CASE(body_over_the_cap_fails) {
  Client c({Faults().Url()}, 64 * 1024);
  const FhirResponse big = c.Fetch(Faults().Url("/big-200000/Condition?patient=1"));
  BOOST_TEST(big.status == 0);
  BOOST_TEST(big.error.find("size limit") != std::string::npos);
  const FhirResponse small = c.Fetch(Faults().Url("/big-1000/Condition?patient=1"));
  BOOST_TEST(small.status == 200, small.error);
}

BOOST_AUTO_TEST_CASE(parallel_requests_overlap_and_connections_are_reused) {
  Client c({Faults().Url()});
  c.Fetch(Faults().Url("/ok/Patient/warm"));
  Stats(Faults(), true);
  const Clock::time_point start = Clock::now();
  std::vector<std::future<FhirResponse>> futures;
  for (int i = 0; i < 3; ++i) {
    futures.push_back(
        c.Start(Faults().Url("/delay-100/Condition?patient=" + std::to_string(i)), 1s));
  }
  for (auto& f : futures) {
    BOOST_REQUIRE(f.wait_for(3s) == std::future_status::ready);
    BOOST_TEST(f.get().status == 200);
  }
  const long long elapsed = Ms(Clock::now() - start);
  BOOST_TEST_MESSAGE("3 parallel 100 ms GETs took " << elapsed << " ms");
  BOOST_TEST(elapsed < 300);  // one after the other: >= 300 ms
  BOOST_TEST(Stats(Faults())["inflightMax"].GetInt() == 3);

  Stats(Faults(), true);
  for (int i = 0; i < 10; ++i) BOOST_TEST(c.Fetch(Faults().Url("/ok/Patient/p")).status == 200);
  const int connections = Stats(Faults())["connections"].GetInt();
  BOOST_TEST_MESSAGE("10 sequential GETs used " << connections << " new connection(s)");
  BOOST_TEST(connections <= 2);
}

BOOST_AUTO_TEST_CASE(urls_off_the_policy_get_no_connection) {
  SilentListener other;
  Client c({Faults().Url()});
  const std::string elsewhere = "http://127.0.0.1:" + std::to_string(other.port());
  const FhirResponse off_list = c.Fetch(elsewhere + "/Patient/p1");
  BOOST_TEST(off_list.status == 0);
  BOOST_TEST(off_list.error.find("not allowed") != std::string::npos);
  BOOST_TEST(!other.HadConnection());

  // https is required unless the policy allows http on loopback.
  Client strict({"https://127.0.0.1:" + std::to_string(other.port())}, 1 << 20, "", false);
  const FhirResponse plain = strict.Fetch(elsewhere + "/Patient/p1");
  BOOST_TEST(plain.status == 0);
  BOOST_TEST(!other.HadConnection());
}

BOOST_AUTO_TEST_CASE(deadline_already_past_answers_at_once) {
  Client c({Faults().Url()});
  const FhirResponse response = c.Fetch(Faults().Url("/ok/Patient/p"), 0ms);
  BOOST_TEST(response.timed_out);
}

BOOST_AUTO_TEST_CASE(log_holds_neither_token_nor_query_values) {
  Client c({Faults().Url()});
  c.Fetch(Faults().Url("/ok/Condition?patient=secret-patient-42"), 1s, "tok-XYZ-123");
  c.Fetch(Faults().Url("/status-500/Condition?patient=secret-patient-42"), 1s, "tok-XYZ-123");
  c.Fetch(Faults().Url("/reset/Condition?patient=secret-patient-42"), 1s, "tok-XYZ-123");
  std::lock_guard<std::mutex> lock(c.log->mutex);
  BOOST_TEST(c.log->entries.size() == 3u);
  for (const FhirGetLog& entry : c.log->entries) {
    for (const std::string& text : {entry.log_path, entry.origin, entry.error}) {
      BOOST_TEST(text.find("tok-XYZ") == std::string::npos);
      BOOST_TEST(text.find("secret-patient") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(destroying_the_client_answers_requests_in_flight) {
  auto c = std::make_unique<Client>(std::vector<std::string>{Faults().Url()});
  std::future<FhirResponse> pending = c->Start(Faults().Url("/never/Condition?patient=1"), 10s);
  std::this_thread::sleep_for(50ms);
  c.reset();
  BOOST_REQUIRE(pending.wait_for(2s) == std::future_status::ready);
  BOOST_TEST(pending.get().status == 0);
}

// TLS: verification stays on; a private CA is trusted only through ca_file.
BOOST_AUTO_TEST_CASE(tls_verifies_certificates_with_optional_private_ca) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("magcds-tls-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
      "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
      "-keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  BOOST_REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "openssl could not make a certificate");
  {
    NodeServer tls("fault_server.mjs",
                   {"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"});
    const std::string base = "https://127.0.0.1:" + std::to_string(tls.port());
    Client system_roots({base}, 1 << 20, "", false);
    const FhirResponse refused = system_roots.Fetch(base + "/ok/Patient/p1");
    BOOST_TEST(refused.status == 0);
    BOOST_TEST_MESSAGE("untrusted certificate: " << refused.error);

    Client private_ca({base}, 1 << 20, dir + "/cert.pem", false);
    const FhirResponse trusted = private_ca.Fetch(base + "/ok/Patient/p1");
    BOOST_TEST(trusted.status == 200, trusted.error);
  }
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(unreadable_ca_file_is_a_configuration_error) {
  RestFhirClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  auto created = RestFhirClient::Create(std::move(options));
  BOOST_TEST_REQUIRE(!created.has_value());
  BOOST_TEST((created.error().code == ErrorCode::kRuleConfig));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
