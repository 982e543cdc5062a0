// Issue #16 acceptance, against the real `magcds serve` and `magcds report`
// processes. The same program runs twice under CTest: with
// CDS_STORE_ENGINE=sqlite (the default store, no config at all) and with
// CDS_STORE_ENGINE=postgres (a throwaway PostgreSQL cluster this test starts:
// initdb + pg_ctl on a free loopback port, tests/support/postgres_cluster.h).
// - 1: feedback is stored, survives a restart, and `magcds report feedback`
//   shows it joined to its rule (sent twice: counted once);
// - 4: bad feedback (wrong types, unknown outcome, 1,000 items, duplicate,
//   missing card) gets the documented answer, nothing crashes, and the store
//   holds neither the raw patient id nor any token (the data is grepped);
// - 2 (postgres): two replicas on one database: feedback to either is counted
//   once; a jti used on one replica is refused by the other;
// - 3 (postgres): the database stopped under load: every CDS call still
//   answers 200 at normal latency, the loss is counted and logged, feedback is
//   503 + Retry-After, and the store reconnects when the database is back.
// Loopback only; every wait is bounded; servers are killed if a test fails.

#include <rapidjson/document.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tests/support/child_process.h"
#include "tests/support/http_test_client.h"
#include "tests/support/jwt_mint.h"
#include "tests/support/postgres_cluster.h"
#include "tests/support/test_text.h"

namespace cds::service {
namespace {

using cds::testing::MsSince;
using cds::testing::ReplaceAll;

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using cds::testing::ChildProcess;
using cds::testing::FormatRequest;
using cds::testing::HttpTestResponse;
using cds::testing::SendRaw;

constexpr char kPatientId[] = "pt-secret-8841";
constexpr char kFhirToken[] = "fhir-token-secret-5c1e";
constexpr char kHashKey[] = "store-test-key-0123456789abcdef";
constexpr char kService[] = "magnesium-advisor";
const std::string kBase = "https://cds.example.org";
const std::string kIss = "https://ehr.example/auth";

std::string Engine() {
  const char* engine = std::getenv("CDS_STORE_ENGINE");
  return engine != nullptr && *engine != '\0' ? engine : "sqlite";
}

cds::testing::PostgresCluster& Postgres() {
  static std::unique_ptr<cds::testing::PostgresCluster> cluster = [] {
    std::string error;
    auto started = cds::testing::PostgresCluster::Start(&error);
    if (!started) BOOST_FAIL("cannot start PostgreSQL: " + error);
    return started;
  }();
  return *cluster;
}

std::string NewDatabaseName() {
  static int counter = 0;
  return "f" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

// The sample request (complete prefetch: MG-01 fires) for kPatientId, with a
// FHIR access token that must never reach the store.
std::string ServiceRequest() {
  std::string body = cds::testing::SampleRequestForPatient(kPatientId);
  const std::size_t brace = body.find('{');
  return body.substr(0, brace + 1) + R"("fhirAuthorization":{"access_token":")" + kFhirToken +
         R"(","token_type":"Bearer","expires_in":300,"scope":"patient/*.read","subject":"s"},)" +
         R"("fhirServer":"https://ehr.example/fhir",)" + body.substr(brace + 1);
}

std::string FeedbackBody(const std::string& card, const std::string& outcome,
                         const std::string& code = "already-taking-magnesium") {
  std::string item = R"({"card":")" + card + R"(","outcome":")" + outcome + "\",";
  if (outcome == "accepted") {
    item += R"("acceptedSuggestions":[{"id":"s-1"}],)";
  } else {
    item +=
        R"("overrideReason":{"reason":{"system":"http://example.org/magcds/override-reason","code":")" +
        code + R"(","display":"Patient already taking magnesium"},"userComment":"on oral Mg"},)";
  }
  return R"({"feedback":[)" + item + R"("outcomeTimestamp":"2026-11-22T10:00:00Z"}]})";
}

// One `magcds serve` in `dir` (its working directory, so the default store
// ./magcds.db lands there). `config` "" = no config file at all.
class Replica {
 public:
  Replica(const std::string& dir, const std::string& config, const std::string& name,
          std::vector<std::string> env = {})
      : dir_(dir), name_(name) {
    std::string config_flag;
    if (!config.empty()) {
      std::ofstream(dir_ + "/" + name_ + ".json") << config;
      config_flag = " --config " + dir_ + "/" + name_ + ".json";
    }
    for (int attempt = 0; attempt < 5 && !child_; ++attempt) {
      port_ = cds::testing::FindFreePort();
      auto child = std::make_unique<ChildProcess>(
          std::vector<std::string>{"/bin/sh", "-c",
                                   "cd " + dir_ + " && exec " + CDS_MAGCDS_BINARY +
                                       " serve --listen 127.0.0.1:" + std::to_string(port_) +
                                       config_flag},
          log_path(), env);
      const auto start = SteadyClock::now();
      while (MsSince(start) < 15000 && child->Running()) {
        if (Get("/healthz", 1s).status == 200) break;
        std::this_thread::sleep_for(20ms);
      }
      if (child->Running()) child_ = std::move(child);
    }
    BOOST_REQUIRE_MESSAGE(child_, "magcds serve did not come up: " + Log());
  }

  HttpTestResponse Get(const std::string& path, std::chrono::milliseconds timeout = 5s) const {
    return SendRaw(port_, FormatRequest("GET", path), timeout);
  }
  HttpTestResponse Post(const std::string& path, const std::string& body,
                        const std::string& bearer = "",
                        std::chrono::milliseconds timeout = 10s) const {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"}};
    if (!bearer.empty()) headers.emplace_back("Authorization", "Bearer " + bearer);
    return SendRaw(port_, FormatRequest("POST", path, body, headers), timeout);
  }
  HttpTestResponse Call(const std::string& bearer = "") const {
    return Post(std::string("/cds-services/") + kService, ServiceRequest(), bearer);
  }
  HttpTestResponse SendFeedback(const std::string& body, const std::string& bearer = "",
                                std::chrono::milliseconds timeout = 10s) const {
    return Post(std::string("/cds-services/") + kService + "/feedback", body, bearer, timeout);
  }
  // SIGTERM and wait for a clean exit (the store is flushed on the way out).
  void Stop() {
    child_->Signal(SIGTERM);
    const std::optional<int> status = child_->WaitExit(20s);
    BOOST_TEST((status && *status == 0), "exit status; log: " << Log());
  }
  std::string Log() const { return cds::testing::ReadFile(log_path()); }
  std::string Metrics() const { return Get("/metrics").body; }

 private:
  std::string log_path() const { return dir_ + "/" + name_ + ".log"; }

  std::string dir_;
  std::string name_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

// The value of one series in Prometheus text, or -1 if absent.
double Series(const std::string& metrics, const std::string& series) {
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::vector<std::string> CardUuids(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  std::vector<std::string> uuids;
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("cards")) return uuids;
  for (const auto& card : doc["cards"].GetArray()) uuids.emplace_back(card["uuid"].GetString());
  return uuids;
}

// `magcds report feedback --format json` run in `dir`; the rule's row as JSON
// values (-1 when the rule has no row).
struct ReportRow {
  int cards_issued = -1, feedback = -1, accepted = -1, overridden = -1;
  std::string top_reason;
};

ReportRow Report(const std::string& dir, const std::string& config, const std::string& rule,
                 std::string* raw = nullptr) {
  std::string command =
      "cd " + dir + " && exec " + std::string(CDS_MAGCDS_BINARY) + " report feedback --format json";
  if (!config.empty()) {
    std::ofstream(dir + "/report.json") << config;
    command += " --config " + dir + "/report.json";
  }
  ChildProcess report({"/bin/sh", "-c", command}, dir + "/report.out");
  const std::optional<int> status = report.WaitExit(30s);
  const std::string out = cds::testing::ReadFile(dir + "/report.out");
  if (raw != nullptr) *raw = out;
  BOOST_REQUIRE_MESSAGE(status && *status == 0, "magcds report failed: " + out);
  rapidjson::Document doc;
  doc.Parse(out.c_str());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), "report is not JSON: " + out);
  ReportRow row;
  for (const auto& r : doc["rules"].GetArray()) {
    if (!r["rule"].IsString() || rule != r["rule"].GetString()) continue;
    row.cards_issued = r["cardsIssued"].GetInt();
    row.feedback = r["feedback"].GetInt();
    row.accepted = r["accepted"].GetInt();
    row.overridden = r["overridden"].GetInt();
    if (!r["overrideReasons"].Empty() && r["overrideReasons"][0]["code"].IsString()) {
      row.top_reason = r["overrideReasons"][0]["code"].GetString();
    }
  }
  return row;
}

// Per test: a temp directory and the store config for the engine under test
// ("" for SQLite: no config at all, the README run command).
struct Setup {
  std::string dir = cds::testing::MakeTempDir("magcds-feedback");
  std::string database = Engine() == "postgres" ? NewDatabaseName() : "";
  std::string connection = Engine() == "postgres" ? Postgres().CreateDatabase(database) : "";
  ~Setup() { cds::testing::RemoveTree(dir); }

  std::string StoreMember() const {
    return R"("store":{"engine":"postgres","connection":")" + connection + "\"}";
  }
  // A config with `extra` members; for SQLite only when `extra` is given.
  std::string Config(const std::string& extra = "") const {
    if (Engine() != "postgres") return extra.empty() ? "" : "{" + extra + "}";
    return "{" + StoreMember() + (extra.empty() ? "" : "," + extra) + "}";
  }
  // Everything the store holds, as bytes/text to grep.
  std::string StoredBytes() const {
    if (Engine() == "postgres") return Postgres().DumpData(database);
    return cds::testing::ReadFile(dir + "/magcds.db") +
           cds::testing::ReadFile(dir + "/magcds.db-wal");
  }
};

// Polls until `condition` holds, for at most `limit` (a bound, not a measurement).
template <class Fn>
bool Eventually(Fn condition, std::chrono::milliseconds limit = 15s) {
  const auto start = SteadyClock::now();
  while (SteadyClock::now() - start < limit) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// An EHR's signing key (its JWK Set in `dir`) and the auth config trusting it.
struct Tokens {
  explicit Tokens(const std::string& dir)
      : key(testing::TestKey::Generate(testing::TestKey::Type::kEcP384)), jwks(dir + "/jwks.json") {
    std::ofstream(jwks) << testing::JwkSetOf(key.PublicJwk("ec-1"));
  }
  std::string AuthMembers() const {
    return "\"publicBaseUrl\":\"" + kBase +
           "\",\"auth\":{\"required\":true,\"issuers\":[{\"iss\":\"" + kIss + "\",\"jwks\":\"" +
           jwks + "\"}]}";
  }
  std::string Mint(const std::string& path, const std::string& jti) const {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    return testing::MakeJwt(R"({"alg":"ES384","typ":"JWT","kid":"ec-1"})",
                            R"({"iss":")" + kIss + R"(","sub":"ehr","aud":")" + kBase + path +
                                R"(","iat":)" + std::to_string(now - 5) + R"(,"exp":)" +
                                std::to_string(now + 120) + R"(,"jti":")" + jti + "\"}",
                            &key, "ES384");
  }

  testing::TestKey key;
  std::string jwks;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(FeedbackServe)

BOOST_AUTO_TEST_CASE(feedback_survives_a_restart_and_the_report_joins_it_to_its_rule) {
  BOOST_TEST_MESSAGE("engine: " << Engine());
  Setup setup;
  const std::string config = setup.Config();
  std::string card;
  {
    Replica serve(setup.dir, config, "first");
    const HttpTestResponse call = serve.Call();
    BOOST_REQUIRE_MESSAGE(call.status == 200, call.body);
    const std::vector<std::string> cards = CardUuids(call.body);
    BOOST_REQUIRE(cards.size() == 1u);
    card = cards[0];
    const HttpTestResponse feedback = serve.SendFeedback(FeedbackBody(card, "overridden"));
    BOOST_TEST(feedback.status == 200, feedback.body);
    BOOST_TEST(feedback.body == "{}");
    serve.Stop();
  }
  if (Engine() == "sqlite") {
    // The default location with no config: ./magcds.db in the working directory.
    BOOST_TEST(cds::testing::ReadFile(setup.dir + "/magcds.db").size() > 0u);
  }
  {
    Replica serve(setup.dir, config, "second");
    // The EHR sends the same feedback again after the restart: still one.
    BOOST_TEST(serve.SendFeedback(FeedbackBody(card, "overridden")).status == 200);
    BOOST_TEST(Series(serve.Metrics(),
                      R"(magcds_feedback_total{rule="MG-01",outcome="overridden"})") == -1);
    serve.Stop();
  }
  const ReportRow row = Report(setup.dir, config, "MG-01");
  BOOST_TEST(row.cards_issued == 1);
  BOOST_TEST(row.feedback == 1);
  BOOST_TEST(row.overridden == 1);
  BOOST_TEST(row.accepted == 0);
  BOOST_TEST(row.top_reason == "already-taking-magnesium");
}

BOOST_AUTO_TEST_CASE(bad_feedback_gets_the_documented_answer_and_no_secret_is_stored) {
  Setup setup;
  const std::string config = setup.Config();
  Replica serve(setup.dir, config, "serve", {std::string("MAGCDS_AUDIT_HASH_KEY=") + kHashKey});
  const HttpTestResponse call = serve.Call();
  BOOST_REQUIRE(call.status == 200);
  const std::string card = CardUuids(call.body).at(0);

  struct Bad {
    std::string body;
    int status;
    std::string message_part;
  };
  std::string thousand = R"({"feedback":[)";
  for (int i = 0; i < 1000; ++i) {
    thousand += std::string(i ? "," : "") + R"({"card":"c)" + std::to_string(i) +
                R"(","outcome":"overridden","outcomeTimestamp":"2026-11-22T10:00:00Z"})";
  }
  thousand += "]}";
  const std::vector<Bad> cases = {
      {R"({"feedback":"x"})", 400, "'feedback' must be an array"},
      {R"({"feedback":[{"card":7,"outcome":"overridden","outcomeTimestamp":"2026-11-22T10:00:00Z"}]})",
       400, "'feedback[0].card'"},
      {R"({"feedback":[{"card":"a","outcome":"overridden","outcomeTimestamp":"2026-11-22T10:00:00Z"},{"card":"b","outcome":"ignored","outcomeTimestamp":"2026-11-22T10:00:00Z"}]})",
       400, "'feedback[1].outcome'"},
      {R"({"feedback":[{"outcome":"overridden","outcomeTimestamp":"2026-11-22T10:00:00Z"}]})", 400,
       "'feedback[0].card'"},
      {R"({"feedback":[{"card":"a","outcome":"overridden","overrideReason":{"reason":"x"},"outcomeTimestamp":"2026-11-22T10:00:00Z"}]})",
       400, "'feedback[0].overrideReason.reason'"},
      {R"({"feedback":[{"card":"a","outcome":"overridden","overrideReason":{"userComment":5},"outcomeTimestamp":"2026-11-22T10:00:00Z"}]})",
       400, "'feedback[0].overrideReason.userComment'"},
      {R"({"feedback":[{"card":"a","outcome":"accepted","outcomeTimestamp":"2026-11-22T10:00:00Z"}]})",
       400, "'feedback[0].acceptedSuggestions'"},
      {thousand, 400, "at most 100 per request"},
      {"not json", 400, "invalid JSON"},
  };
  for (const Bad& bad : cases) {
    const HttpTestResponse response = serve.SendFeedback(bad.body);
    BOOST_TEST(response.status == bad.status, bad.body.substr(0, 80) << " -> " << response.body);
    BOOST_TEST(response.body.find(bad.message_part) != std::string::npos,
               bad.message_part << " not in " << response.body);
  }
  // Duplicates (in one request and across requests) are 200 and stored once;
  // a card this replica never issued is kept as unmatched.
  const std::string dup = FeedbackBody(card, "overridden");
  const std::string twice = R"({"feedback":[)" + dup.substr(13, dup.size() - 15) + "," +
                            dup.substr(13, dup.size() - 15) + "]}";
  BOOST_TEST(serve.SendFeedback(twice).status == 200, twice);
  BOOST_TEST(serve.SendFeedback(dup).status == 200);
  BOOST_TEST(serve.SendFeedback(FeedbackBody("card-from-elsewhere", "accepted")).status == 200);
  BOOST_TEST(serve.Get("/healthz").status == 200);
  const std::string metrics = serve.Metrics();
  BOOST_TEST(Series(metrics, R"(magcds_feedback_total{rule="MG-01",outcome="overridden"})") == 1);
  BOOST_TEST(Series(metrics, R"(magcds_feedback_total{rule="unmatched",outcome="accepted"})") == 1);
  serve.Stop();

  std::string raw;
  const ReportRow row = Report(setup.dir, config, "MG-01", &raw);
  BOOST_TEST(row.feedback == 1);
  BOOST_TEST(raw.find("\"unmatched\":true") != std::string::npos, raw);
  // Nothing secret in the store: no raw patient id, no FHIR token; the patient
  // is there only as its keyed hash.
  const std::string stored = setup.StoredBytes();
  BOOST_TEST(stored.size() > 0u);
  BOOST_TEST(stored.find(kPatientId) == std::string::npos);
  BOOST_TEST(stored.find(kFhirToken) == std::string::npos);
  BOOST_TEST(stored.find("hmac-sha256:") != std::string::npos);
  BOOST_TEST(stored.find(card) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(two_replicas_count_feedback_once_and_refuse_a_replayed_jti) {
  if (Engine() != "postgres") {
    BOOST_TEST_MESSAGE("replicas share a store only on PostgreSQL; skipped for " << Engine());
    return;
  }
  Setup setup;
  const Tokens tokens(setup.dir);
  const std::string config = setup.Config(tokens.AuthMembers());
  const auto token = [&](const std::string& path, const std::string& jti) {
    return tokens.Mint(path, jti);
  };
  const std::string service_path = std::string("/cds-services/") + kService;
  const std::string feedback_path = service_path + "/feedback";
  Replica a(setup.dir, config, "a");
  Replica b(setup.dir, config, "b");

  const HttpTestResponse call = a.Call(token(service_path, "jti-call-1"));
  BOOST_REQUIRE_MESSAGE(call.status == 200, call.body);
  const std::string card = CardUuids(call.body).at(0);
  // The same token (same jti) replayed to the other replica: refused.
  BOOST_TEST(b.Call(token(service_path, "jti-call-1")).status == 401);
  BOOST_TEST(Series(b.Metrics(), R"(magcds_auth_failures_total{reason="replayed_jti"})") == 1);
  // And the other way round, first seen on b.
  BOOST_TEST(b.Call(token(service_path, "jti-call-2")).status == 200);
  BOOST_TEST(a.Call(token(service_path, "jti-call-2")).status == 401);

  // Feedback for a's card, sent to b (after a's write reached the database)
  // and then to a as well: one row, joined to MG-01 on either replica.
  BOOST_TEST(Eventually(
      [&] { return Series(a.Metrics(), R"(magcds_store_written_total{kind="cards"})") >= 1; }));
  BOOST_TEST(
      b.SendFeedback(FeedbackBody(card, "overridden"), token(feedback_path, "jti-fb-1")).status ==
      200);
  BOOST_TEST(
      a.SendFeedback(FeedbackBody(card, "overridden"), token(feedback_path, "jti-fb-2")).status ==
      200);
  BOOST_TEST(Series(b.Metrics(), R"(magcds_feedback_total{rule="MG-01",outcome="overridden"})") ==
             1);
  BOOST_TEST(Series(a.Metrics(), R"(magcds_feedback_total{rule="MG-01",outcome="overridden"})") ==
             -1);
  a.Stop();
  b.Stop();
  const ReportRow row = Report(setup.dir, config, "MG-01");
  BOOST_TEST(row.cards_issued == 2);  // one card per successful call (a and b)
  BOOST_TEST(row.feedback == 1);
  BOOST_TEST(row.overridden == 1);
}

BOOST_AUTO_TEST_CASE(database_outage_under_load_keeps_cds_answering_and_the_store_reconnects) {
  if (Engine() != "postgres") {
    BOOST_TEST_MESSAGE("the outage is staged with pg_ctl; skipped for " << Engine());
    return;
  }
  Setup setup;
  // A small queue, so that the outage overflows it and the loss is counted.
  const std::string config = ReplaceAll(setup.Config(), "\"engine\":\"postgres\",",
                                        "\"engine\":\"postgres\",\"queueSize\":100,");
  Replica serve(setup.dir, config, "serve");
  BOOST_REQUIRE(serve.Call().status == 200);

  // Load: back-to-back service calls from two threads for the whole test.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::atomic<long long> slowest_ms{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 2; ++t) {
    load.emplace_back([&] {
      while (!stop.load()) {
        const auto start = SteadyClock::now();
        const HttpTestResponse response = serve.Call();
        const long long ms = MsSince(start);
        long long seen = slowest_ms.load();
        while (ms > seen && !slowest_ms.compare_exchange_weak(seen, ms)) {
        }
        (response.status == 200 ? ok : failed)++;
      }
    });
  }
  std::this_thread::sleep_for(500ms);
  BOOST_REQUIRE(Postgres().Stop());
  // Down: calls go on; the store notices, logs it and refuses feedback with 503.
  BOOST_TEST(Eventually(
      [&] { return Series(serve.Metrics(), R"(magcds_store_up{engine="postgres"})") == 0; }));
  const HttpTestResponse refused = serve.SendFeedback(FeedbackBody("any-card", "overridden"));
  BOOST_TEST(refused.status == 503, refused.body);
  BOOST_TEST(refused.headers.count("retry-after") == 1u);
  const int ok_before = ok.load();
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(ok.load() > ok_before);  // still answering while the database is down
  BOOST_REQUIRE(Postgres().Restart());
  BOOST_TEST(Eventually(
      [&] { return Series(serve.Metrics(), R"(magcds_store_up{engine="postgres"})") == 1; }));
  stop = true;
  for (std::thread& thread : load) thread.join();

  BOOST_TEST(failed.load() == 0);
  // A bound far above a normal call (~1 ms) and far below a database timeout:
  // no call waited on the store.
  BOOST_TEST(slowest_ms.load() < 1000, "slowest call " << slowest_ms.load() << " ms");
  BOOST_TEST(Eventually([&] { return Series(serve.Metrics(), "magcds_store_queue_depth") == 0; }));
  const std::string metrics = serve.Metrics();
  const double written = Series(metrics, R"(magcds_store_written_total{kind="cards"})");
  const double dropped = Series(metrics, R"(magcds_store_dropped_total{kind="cards"})");
  BOOST_TEST_MESSAGE("calls answered " << ok.load() << ", slowest " << slowest_ms.load()
                                       << " ms; cards written " << written << ", dropped "
                                       << dropped << ", write failures "
                                       << Series(metrics, "magcds_store_write_failures_total"));
  BOOST_TEST(Series(metrics, "magcds_store_write_failures_total") > 0);
  // Every card answered was either written after the outage or counted as lost.
  BOOST_TEST(written + dropped == ok.load() + 1);
  const std::string log = serve.Log();
  BOOST_TEST(log.find("\"event\":\"store_unavailable\"") != std::string::npos);
  BOOST_TEST(log.find("\"event\":\"store_recovered\"") != std::string::npos);
  BOOST_TEST(dropped > 0);
  BOOST_TEST(log.find("\"event\":\"store_queue_full\"") != std::string::npos);
  BOOST_TEST(log.find("password") == std::string::npos);
  // Feedback is accepted again.
  BOOST_TEST(serve.SendFeedback(FeedbackBody("any-card", "overridden")).status == 200);
  serve.Stop();
  BOOST_TEST(Report(setup.dir, config, "MG-01").cards_issued == static_cast<int>(written));
}

BOOST_AUTO_TEST_CASE(a_hung_database_holds_neither_cds_calls_nor_feedback) {
  if (Engine() != "postgres") {
    BOOST_TEST_MESSAGE("the hang is staged with SIGSTOP on PostgreSQL; skipped for " << Engine());
    return;
  }
  Setup setup;
  // With client authentication, so the shared jti check meets the hang too.
  const Tokens tokens(setup.dir);
  const std::string config = setup.Config(tokens.AuthMembers());
  const std::string service_path = std::string("/cds-services/") + kService;
  int jti = 0;
  const auto bearer = [&](const std::string& path) {
    return tokens.Mint(path, "jti-hung-" + std::to_string(jti++));
  };
  Replica serve(setup.dir, config, "serve");
  const HttpTestResponse first = serve.Call(bearer(service_path));
  BOOST_REQUIRE_MESSAGE(first.status == 200, first.body);
  const std::string card = CardUuids(first.body).at(0);
  BOOST_TEST(Eventually(
      [&] { return Series(serve.Metrics(), R"(magcds_store_written_total{kind="cards"})") == 1; }));

  // The database stops answering (accepts connections, never replies).
  Postgres().Pause();
  struct Resume {
    ~Resume() { Postgres().Resume(); }
  } resume_on_exit;
  long long slowest_ms = 0;
  int ok = 0;
  const auto start = SteadyClock::now();
  while (MsSince(start) < 2000) {
    const std::string token = bearer(service_path);
    const auto call_start = SteadyClock::now();
    ok += serve.Call(token).status == 200 ? 1 : 0;
    slowest_ms = std::max(slowest_ms, MsSince(call_start));
  }
  // Feedback gets an answer within its deadline (3 s), not when the database wakes.
  const auto feedback_start = SteadyClock::now();
  const HttpTestResponse feedback =
      serve.SendFeedback(FeedbackBody(card, "overridden"), bearer(service_path + "/feedback"), 20s);
  const long long feedback_ms = MsSince(feedback_start);
  BOOST_TEST(feedback.status == 503, feedback.body);
  BOOST_TEST(feedback_ms < 6000, "feedback answered after " << feedback_ms << " ms");
  BOOST_TEST(ok > 0);
  BOOST_TEST(slowest_ms < 1000, "slowest call while hung " << slowest_ms << " ms");
  BOOST_TEST_MESSAGE("database hung: " << ok << " calls answered in 2 s, slowest " << slowest_ms
                                       << " ms; feedback 503 after " << feedback_ms << " ms");

  Postgres().Resume();
  // Back: the store recovers and the same feedback is now kept.
  BOOST_TEST(Eventually(
      [&] {
        return Series(serve.Metrics(), R"(magcds_store_up{engine="postgres"})") == 1 &&
               serve.SendFeedback(FeedbackBody(card, "overridden"),
                                  bearer(service_path + "/feedback"))
                       .status == 200;
      },
      30s));
  // Tokens checked while the database hung fell back to the replica's own cache.
  BOOST_TEST(Series(serve.Metrics(), "magcds_store_replay_unavailable_total") > 0);
  serve.Stop();
  BOOST_TEST(Report(setup.dir, config, "MG-01").overridden == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cds::service
