// Issue #4 acceptance 3 (second half), over the real cpprestsdk listener: with
// 64 hook requests in flight against a FHIR server that never answers, the
// service still answers discovery and a prefetch-complete request at once
// (no pool starvation: nothing waits on a pool thread), and each of the 64
// ends with 412 at its deadline. The listener's pool has 4 threads, far fewer
// than requests in flight. In its own executable so that the listener sizes
// cpprestsdk's process-wide pool before anything else uses it.

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "service/http/http_adapter.h"
#include "tests/service/fetch_test_util.h"

namespace cds::service {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using cds::testing::FormatRequest;
using cds::testing::NodeServer;
using cds::testing::SendRaw;

long long Ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

BOOST_AUTO_TEST_SUITE(FetchLoad)

BOOST_AUTO_TEST_CASE(sixty_four_stuck_fetches_do_not_starve_the_listener) {
  constexpr int kInFlight = 64;
  constexpr auto kDeadline = 1500ms;
  NodeServer faults("fault_server.mjs");
  testing::FetchingService service({{faults.Url("/never")}, kDeadline});

  std::unique_ptr<HttpServer> server;
  std::uint16_t port = 0;
  for (int attempt = 0; attempt < 5 && !server; ++attempt) {
    ServerOptions options;
    options.port = cds::testing::FindFreePort();
    options.threads = 4;
    auto candidate = std::make_unique<HttpServer>(service.handler(), options);
    if (candidate->Start()) {
      port = options.port;
      server = std::move(candidate);
    }
  }
  BOOST_REQUIRE(server);

  testing::HookRequestSpec stuck;
  stuck.patient_id = "p-stuck";
  stuck.fhir_server = faults.Url("/never");
  const std::string stuck_body = testing::HookRequestJson(stuck);
  const std::string stuck_request =
      FormatRequest("POST", "/cds-services/magnesium-advisor", stuck_body,
                    {{"Content-Type", "application/json"}});

  const Clock::time_point start = Clock::now();
  std::vector<std::future<std::pair<int, long long>>> in_flight;
  for (int i = 0; i < kInFlight; ++i) {
    in_flight.push_back(std::async(std::launch::async, [&] {
      const Clock::time_point sent = Clock::now();
      const auto response = SendRaw(port, stuck_request, 10s);
      return std::make_pair(response.status, Ms(Clock::now() - sent));
    }));
  }
  // Wait until the FHIR server holds (nearly) all their queries.
  int queries_held = 0;
  for (int i = 0; i < 100 && queries_held < kInFlight * 4; ++i) {
    std::this_thread::sleep_for(10ms);
    const auto stats = testing::SendTo(faults, "GET", "/_test/stats");
    const std::size_t at = stats.body.find("\"inflight\":");
    if (at != std::string::npos) queries_held = std::atoi(stats.body.c_str() + at + 11);
  }
  BOOST_TEST_MESSAGE("FHIR queries held open by the never-answering server: " << queries_held);
  BOOST_TEST(queries_held >= kInFlight * 4);
  const long long held_at = Ms(Clock::now() - start);

  const Clock::time_point discovery_start = Clock::now();
  const auto discovery = SendRaw(port, FormatRequest("GET", "/cds-services"), 5s);
  const long long discovery_ms = Ms(Clock::now() - discovery_start);

  testing::HookRequestSpec prefetched;
  prefetched.patient_id = "example";
  prefetched.prefetch = {
      {"patient", R"({"resourceType":"Patient","id":"example","birthDate":"1958-04-12"})"},
      {"medications", "null"},
      {"medicationStatements", "null"},
      {"conditions", "null"},
      {"observations", "null"}};
  const Clock::time_point call_start = Clock::now();
  const auto call = SendRaw(
      port,
      FormatRequest("POST", "/cds-services/magnesium-advisor", testing::HookRequestJson(prefetched),
                    {{"Content-Type", "application/json"}}),
      5s);
  const long long call_ms = Ms(Clock::now() - call_start);
  const long long answered_at = Ms(Clock::now() - start);

  BOOST_TEST_MESSAGE("with " << kInFlight << " stuck requests in flight (all held after " << held_at
                             << " ms): discovery " << discovery_ms << " ms, prefetch-complete call "
                             << call_ms << " ms");
  BOOST_TEST(discovery.status == 200);
  BOOST_TEST(call.status == 200, call.body);
  BOOST_TEST(discovery_ms < 250);
  BOOST_TEST(call_ms < 250);
  BOOST_TEST(answered_at < kDeadline.count());  // while the 64 were still waiting

  long long slowest = 0;
  long long fastest = 1 << 30;
  for (auto& f : in_flight) {
    BOOST_REQUIRE(f.wait_for(10s) == std::future_status::ready);
    const auto [status, ms] = f.get();
    BOOST_TEST(status == 412);
    slowest = std::max(slowest, ms);
    fastest = std::min(fastest, ms);
  }
  BOOST_TEST_MESSAGE("the " << kInFlight << " stuck requests got 412 after " << fastest << " to "
                            << slowest << " ms (deadline " << kDeadline.count() << " ms)");
  BOOST_TEST(fastest >= kDeadline.count() - 20);
  BOOST_TEST(slowest < kDeadline.count() + 1000);
  BOOST_TEST(server->Stop());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
