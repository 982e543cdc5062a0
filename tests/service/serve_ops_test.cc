// Issue #8 and the service side of issue #5, against the real `magcds serve`
// process (its signal handling, listeners and wiring are what is tested):
// - /metrics series move after a few requests, in fetch mode against the
//   test FHIR server (#8 acceptance 1);
// - log lines are JSON and hold neither the patient id nor the token, and the
//   audit trail has one line per service call with the keyed patient hash
//   (#8 acceptance 5, #5 audit);
// - a broken rule file of each kind is rejected on SIGHUP, /readyz shows the
//   error with file/rule/field, the service keeps answering with the previous
//   version (#5 acceptance 1, reload side);
// - 100 reloads alternating between two valid versions and an invalid one
//   under a continuous request loop: zero failed requests, every response's
//   cards from exactly one of the two valid versions (#5 acceptance 3);
// - SIGTERM with 32 slow fetch-mode requests in flight: all answered, exit 0
//   within grace + 1 s, 20 times (#8 acceptance 2), and the same with a FHIR
//   server that never answers (the stragglers get 503 at the end of grace).
// Loopback only; every wait is bounded; servers are killed if a test fails.

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tests/support/child_process.h"
#include "tests/support/http_test_client.h"
#include "tests/support/node_server.h"
#include "tests/support/test_text.h"

namespace cds::service {
namespace {

using cds::testing::MsSince;
using cds::testing::ReplaceAll;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using cds::testing::ChildProcess;
using cds::testing::FormatRequest;
using cds::testing::HttpTestResponse;
using cds::testing::NodeServer;
using cds::testing::SendRaw;

constexpr char kPatientId[] = "pt-secret-4711";
constexpr char kToken[] = "tok-secret-9b2e51c7";
constexpr char kHashKey[] = "audit-test-key-0123456789abcdef";
const std::string kShipped = std::string(CDS_RULES_DIR) + "/magnesium/1.0.0";
const std::string kSiteRelease =
    std::string(CDS_SOURCE_ROOT) + "/rules/examples/magnesium-site-1.1.0";

// The sample request with its patient id replaced by kPatientId (so a grep
// for it cannot hit anything else), every prefetch key present.
std::string CompleteRequest() { return cds::testing::SampleRequestForPatient(kPatientId); }

// Fetch mode: only the Patient is prefetched; the rest comes from `fhir_server`.
std::string FetchRequest(const std::string& fhir_server) {
  return std::string(
             R"({"hook":"patient-view","hookInstance":"0b6e2f43-5d1c-4a8e-9f31-7c2d9e4b1a66",)") +
         R"("context":{"patientId":")" + kPatientId + R"(","userId":"Practitioner/u1"},)" +
         R"("fhirServer":")" + fhir_server + R"(",)" + R"("fhirAuthorization":{"access_token":")" +
         kToken +
         R"(","token_type":"Bearer","expires_in":300,"scope":"patient/*.read","subject":"magcds"},)" +
         R"("prefetch":{"patient":{"resourceType":"Patient","id":")" + kPatientId +
         R"(","birthDate":"1958-04-12"}}})";
}

struct ServeConfig {
  std::string rules = kShipped;
  std::vector<std::string> fhir_bases;
  int fhir_deadline_ms = 2000;
  double grace_seconds = 2;
  double poll_seconds = 0;
  bool audit = true;
};

// `magcds serve` on two loopback ports (CDS and ops), in a temp directory.
class Serve {
 public:
  explicit Serve(const ServeConfig& config) : dir_(cds::testing::MakeTempDir("magcds-ops")) {
    std::ofstream(dir_ + "/hash.key") << kHashKey << "\n";
    // Issue #12: a key file readable by others is refused at start.
    std::filesystem::permissions(dir_ + "/hash.key", std::filesystem::perms::owner_read |
                                                         std::filesystem::perms::owner_write);
    for (int attempt = 0; attempt < 5 && !child_; ++attempt) {
      port_ = cds::testing::FindFreePort();
      ops_port_ = cds::testing::FindFreePort();
      if (ops_port_ == port_) continue;
      std::string json = "{\"listen\":\"127.0.0.1:" + std::to_string(port_) + "\",";
      json += "\"rules\":\"" + config.rules + "\",";
      json += "\"ops\":{\"listen\":\"127.0.0.1:" + std::to_string(ops_port_) + "\"},";
      if (config.audit) {
        json += "\"audit\":{\"path\":\"" + audit_path() + "\",\"hashKeyFile\":\"" + dir_ +
                "/hash.key\"},";
      }
      if (!config.fhir_bases.empty()) {
        json += "\"fhir\":{\"allowHttpLoopback\":true,\"deadlineMs\":" +
                std::to_string(config.fhir_deadline_ms) + ",\"allowedServers\":[";
        for (std::size_t i = 0; i < config.fhir_bases.size(); ++i) {
          json += (i ? ",\"" : "\"") + config.fhir_bases[i] + "\"";
        }
        json += "]},";
      }
      json += "\"reload\":{\"pollSeconds\":" + std::to_string(config.poll_seconds) + "},";
      json += "\"log\":{\"level\":\"debug\"},";
      json += "\"shutdownGraceSeconds\":" + std::to_string(config.grace_seconds) + "}";
      std::ofstream(dir_ + "/config.json") << json;
      auto child = std::make_unique<ChildProcess>(
          std::vector<std::string>{CDS_MAGCDS_BINARY, "serve", "--config", dir_ + "/config.json"},
          log_path());
      const auto start = SteadyClock::now();
      while (MsSince(start) < 10000 && child->Running()) {
        if (GetOps("/healthz", 1s).status == 200 && Get("/cds-services", 1s).status == 200) break;
        std::this_thread::sleep_for(10ms);
      }
      if (child->Running()) child_ = std::move(child);
    }
    BOOST_REQUIRE_MESSAGE(child_, "magcds serve did not come up: " + Log());
  }
  ~Serve() {
    child_.reset();
    cds::testing::RemoveTree(dir_);
  }

  HttpTestResponse Get(const std::string& path, std::chrono::milliseconds timeout = 5s) const {
    return SendRaw(port_, FormatRequest("GET", path), timeout);
  }
  HttpTestResponse GetOps(const std::string& path, std::chrono::milliseconds timeout = 5s) const {
    return SendRaw(ops_port_, FormatRequest("GET", path), timeout);
  }
  HttpTestResponse Post(const std::string& body, std::chrono::milliseconds timeout = 10s) const {
    return SendRaw(port_,
                   FormatRequest("POST", "/cds-services/magnesium-advisor", body,
                                 {{"Content-Type", "application/json"}}),
                   timeout);
  }

  ChildProcess& process() { return *child_; }
  std::string Log() const { return cds::testing::ReadFile(log_path()); }
  std::string Audit() const { return cds::testing::ReadFile(audit_path()); }
  const std::string& dir() const { return dir_; }
  std::string log_path() const { return dir_ + "/magcds.log"; }
  std::string audit_path() const { return dir_ + "/audit.jsonl"; }

 private:
  std::string dir_;
  std::uint16_t port_ = 0;
  std::uint16_t ops_port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// The value of one series in Prometheus text, or -1 if absent.
double Series(const std::string& metrics, const std::string& series) {
  for (const std::string& line : Lines(metrics)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

int JsonInt(const std::string& json, const char* pointer) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  if (doc.HasParseError()) return -1;
  const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
  return v != nullptr && v->IsInt() ? v->GetInt() : -1;
}

// The ruleset versions named by a response's cards ("magnesium@1.0.0", ...).
std::set<std::string> CardRuleSets(const std::string& body) {
  static const std::regex kRuleSet("\"ruleset\"\\s*:\\s*\"([^\"]+)\"");
  std::set<std::string> found;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), kRuleSet);
       it != std::sregex_iterator(); ++it) {
    found.insert((*it)[1].str());
  }
  return found;
}

struct ReloadTimes {
  std::size_t lines = 0;
  double wall_ms = 0, cpu_ms = 0;
};

// Sums the "ms" and "cpuMs" of every rules_reloaded line; a line without
// either is not counted (lines comes out short).
ReloadTimes LoggedReloadTimes(const std::string& log) {
  ReloadTimes times;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document event;
    event.Parse(line.c_str());
    if (event.HasParseError() || !event.IsObject() || !event.HasMember("event") ||
        std::string(event["event"].GetString()) != "rules_reloaded") {
      continue;
    }
    if (!event.HasMember("ms") || !event.HasMember("cpuMs")) continue;
    times.wall_ms += std::stod(event["ms"].GetString());
    times.cpu_ms += std::stod(event["cpuMs"].GetString());
    ++times.lines;
  }
  return times;
}

std::size_t ReloadCount(const Serve& serve) {
  const HttpTestResponse ready = serve.GetOps("/readyz");
  const int ok = JsonInt(ready.body, "/reloads/success");
  const int failed = JsonInt(ready.body, "/reloads/failure");
  return ok < 0 || failed < 0 ? 0 : static_cast<std::size_t>(ok + failed);
}

// SIGHUP and wait (bounded) until the reload count reaches `expected`.
bool ReloadAndWait(Serve& serve, std::size_t expected) {
  serve.process().Signal(SIGHUP);
  const auto start = SteadyClock::now();
  while (MsSince(start) < 10000) {
    if (ReloadCount(serve) >= expected) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

void CopyRuleSet(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const char* file : {"ruleset.json", "valuesets.json"}) {
    fs::copy_file(from + "/" + file, to + "/" + file, fs::copy_options::overwrite_existing);
  }
}

void Edit(const std::string& file, const std::string& from, const std::string& to) {
  std::string text = cds::testing::ReadFile(file);
  const std::size_t at = text.find(from);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "edit target not found in " + file + ": " + from);
  text.replace(at, from.size(), to);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// Points `link` at `target` atomically (rename of a fresh symlink).
void SwapSymlink(const std::string& link, const std::string& target) {
  const std::string fresh = link + ".new";
  fs::remove(fresh);
  fs::create_symlink(target, fresh);
  fs::rename(fresh, link);
}

BOOST_AUTO_TEST_SUITE(ServeOps)

BOOST_AUTO_TEST_CASE(metrics_logs_and_audit_after_a_few_requests) {
  NodeServer faults("fault_server.mjs");
  ServeConfig config;
  config.fhir_bases = {faults.Url("/ok"), faults.Url("/status-500")};
  Serve serve(config);

  const HttpTestResponse discovery = serve.Get("/cds-services");
  const HttpTestResponse first = serve.Post(CompleteRequest());
  const HttpTestResponse second = serve.Post(CompleteRequest());
  const HttpTestResponse fetched = serve.Post(FetchRequest(faults.Url("/ok")));
  const HttpTestResponse failed = serve.Post(FetchRequest(faults.Url("/status-500")));
  const HttpTestResponse bad = serve.Post("{\"hook\":");
  BOOST_TEST(discovery.status == 200);
  BOOST_TEST(first.status == 200, first.body);
  BOOST_TEST(second.status == 200);
  BOOST_TEST(fetched.status == 200, fetched.body);
  BOOST_TEST(failed.status == 412, failed.body);
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(serve.Get("/metrics").status == 404);  // ops endpoints only on the ops port

  const HttpTestResponse scraped = serve.GetOps("/metrics");
  BOOST_TEST_REQUIRE(scraped.status == 200);
  BOOST_TEST(scraped.headers.at("content-type").find("text/plain; version=0.0.4") == 0u);
  const std::string& m = scraped.body;
  BOOST_TEST_MESSAGE("metrics:\n" << m.substr(0, 400) << "...");
  const std::string service =
      R"(magcds_http_requests_total{endpoint="service",service="magnesium-advisor",status=)";
  BOOST_TEST(Series(m, service + "\"200\"}") == 3);
  BOOST_TEST(Series(m, service + "\"412\"}") == 1);
  BOOST_TEST(Series(m, service + "\"400\"}") == 1);
  BOOST_TEST(
      Series(m, R"(magcds_http_requests_total{endpoint="discovery",service="",status="200"})") >=
      1);
  BOOST_TEST(Series(m, R"(magcds_http_request_duration_seconds_count{endpoint="service"})") == 5);
  BOOST_TEST(
      Series(m, R"(magcds_http_request_duration_seconds_bucket{endpoint="service",le="+Inf"})") ==
      5);
  BOOST_TEST(Series(m, R"(magcds_cards_total{rule="MG-01",indicator="warning"})") == 2);
  // Fetch mode: 4 keys from /ok, 4 keys failing on /status-500.
  BOOST_TEST(Series(m, R"(magcds_fhir_queries_total{outcome="ok"})") == 4);
  BOOST_TEST(Series(m, R"(magcds_fhir_queries_total{outcome="http_error"})") >= 1);
  BOOST_TEST(Series(m, "magcds_fhir_query_duration_seconds_count") ==
             Series(m, R"(magcds_fhir_queries_total{outcome="ok"})") +
                 Series(m, R"(magcds_fhir_queries_total{outcome="http_error"})"));
  BOOST_TEST(Series(m, R"(magcds_prefetch_keys_total{key="patient",result="hit"})") == 4);
  BOOST_TEST(Series(m, R"(magcds_prefetch_keys_total{key="medications",result="hit"})") == 2);
  BOOST_TEST(Series(m, R"(magcds_prefetch_keys_total{key="medications",result="miss"})") == 2);
  BOOST_TEST(Series(m, R"(magcds_ruleset_active{ruleset="magnesium",version="1.0.0"})") == 1);
  BOOST_TEST(Series(m, R"(magcds_rules_reloads_total{outcome="success"})") == 0);
  BOOST_TEST(Series(m, "magcds_http_requests_in_flight") == 0);

  // Logs: JSON objects with time, level, event; a request line per call; no
  // patient id, no token anywhere.
  serve.process().Signal(SIGTERM);
  BOOST_TEST(serve.process().WaitExit(5s).value_or(-999) == 0);
  const std::string log = serve.Log();
  std::size_t request_lines = 0;
  for (const std::string& line : Lines(log)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    BOOST_TEST_REQUIRE(!doc.HasParseError(), "not JSON: " + line);
    BOOST_TEST_REQUIRE(doc.IsObject());
    BOOST_TEST(doc.HasMember("time"));
    BOOST_TEST(doc.HasMember("level"));
    BOOST_TEST_REQUIRE(doc.HasMember("event"));
    if (std::string(doc["event"].GetString()) == "request" &&
        std::string(doc["endpoint"].GetString()) == "service") {
      ++request_lines;
      BOOST_TEST(doc.HasMember("status"));
      BOOST_TEST(doc.HasMember("durationMs"));
    }
  }
  BOOST_TEST(request_lines == 5u);
  BOOST_TEST(log.find("\"hookInstance\":\"0b6e2f43-5d1c-4a8e-9f31-7c2d9e4b1a66\"") !=
             std::string::npos);
  BOOST_TEST(log.find(kPatientId) == std::string::npos, "patient id in the log");
  BOOST_TEST(log.find(kToken) == std::string::npos, "token in the log");

  // Audit: one line per service call; keyed patient hash only.
  const std::vector<std::string> audit = Lines(serve.Audit());
  BOOST_TEST_REQUIRE(audit.size() == 5u, serve.Audit());
  const std::string all = serve.Audit();
  BOOST_TEST(all.find(kPatientId) == std::string::npos, "patient id in the audit trail");
  BOOST_TEST(all.find(kToken) == std::string::npos, "token in the audit trail");
  rapidjson::Document rec;
  rec.Parse(audit[0].c_str());
  BOOST_TEST_REQUIRE(!rec.HasParseError());
  BOOST_TEST(std::string(rec["ruleset"].GetString()) == "magnesium@1.0.0");
  BOOST_TEST(std::string(rec["rulesFired"][0].GetString()) == "MG-01@1.0.0");
  BOOST_TEST(rec["status"].GetInt() == 200);
  BOOST_TEST(std::string(rec["patient"].GetString()).rfind("hmac-sha256:", 0) == 0u);
  const std::string uuid = rec["cards"][0]["uuid"].GetString();
  BOOST_TEST(first.body.find(uuid) != std::string::npos, "audit card uuid is the response's");
  rapidjson::Document fetch_rec;
  fetch_rec.Parse(audit[2].c_str());
  BOOST_TEST_REQUIRE(fetch_rec["fhirQueries"].Size() == 4u);
  for (const auto& query : fetch_rec["fhirQueries"].GetArray()) {
    BOOST_TEST(std::string(query["path"].GetString()).find("{{context.patientId}}") !=
               std::string::npos);
    BOOST_TEST(std::string(query["outcome"].GetString()) == "ok");
  }
  BOOST_TEST(std::string(fetch_rec["prefetch"]["patient"].GetString()) == "hit");
  BOOST_TEST(std::string(fetch_rec["prefetch"]["medications"].GetString()) == "miss");
  BOOST_TEST(std::string(rec["patient"].GetString()) == fetch_rec["patient"].GetString());
}

BOOST_AUTO_TEST_CASE(broken_rule_files_are_rejected_on_reload_and_the_old_set_keeps_answering) {
  const std::string dir = cds::testing::MakeTempDir("magcds-rules");
  const std::string rules = dir + "/current";
  CopyRuleSet(kShipped, rules);
  ServeConfig config;
  config.rules = rules;
  Serve serve(config);

  struct Broken {
    const char* kind;
    const char* file;
    const char* from;
    const char* to;
    const char* rule;   // expected rule id in the error ("" = none)
    const char* field;  // expected field
  };
  const Broken cases[] = {
      {"bad JSON", "ruleset.json", "\"title\": \"Magnesium chelation interaction\",",
       "\"title\": \"Magnesium chelation interaction\"", "", ""},
      {"schema violation", "ruleset.json", R"("indicator": {"default": "critical"})",
       R"("indicator": {"default": "severe"})", "MG-10", "rules[9].indicator.default"},
      {"unknown value set", "ruleset.json",
       R"({"medication": {"valueSet": "mg-wasting-therapy"}, "as": "therapy"})",
       R"({"medication": {"valueSet": "mg-wasting-therapies"}, "as": "therapy"})", "MG-13",
       "rules[12].when.all[0].medication.valueSet"},
      {"summary too long", "ruleset.json",
       R"j("summary": "Magnesium reduces absorption of ${chelator.names}: separate doses (see label)")j",
       R"j("summary": "Magnesium reduces absorption of ${chelator.names} and of ${mgProduct.names}: separate the doses by several hours, see the label")j",
       "MG-07", "rules[6].card.summary"},
      {"duplicate id", "ruleset.json", R"("id": "MG-13")", R"("id": "MG-12")", "MG-12",
       "rules[12].id"},
  };
  std::size_t reloads = 0;
  for (const Broken& broken : cases) {
    BOOST_TEST_CONTEXT(broken.kind) {
      CopyRuleSet(kShipped, rules);
      Edit(rules + "/" + broken.file, broken.from, broken.to);
      BOOST_TEST_REQUIRE(ReloadAndWait(serve, ++reloads));
      const HttpTestResponse ready = serve.GetOps("/readyz");
      BOOST_TEST_MESSAGE(broken.kind << ": /readyz " << ready.status << " "
                                     << ready.body.substr(0, 400));
      BOOST_TEST(ready.status == 200);  // the previous set still serves
      rapidjson::Document doc;
      doc.Parse(ready.body.c_str());
      BOOST_TEST_REQUIRE(!doc.HasParseError());
      BOOST_TEST(std::string(doc["ruleset"].GetString()) == "magnesium@1.0.0");
      BOOST_TEST(std::string(doc["lastReload"]["outcome"].GetString()) == "failure");
      const auto& errors = doc["lastReload"]["errors"];
      BOOST_TEST_REQUIRE(errors.Size() >= 1u);
      bool named = false;
      for (const auto& error : errors.GetArray()) {
        const std::string file = error["file"].GetString();
        named = named || (file == rules + "/" + broken.file &&
                          std::string(error["rule"].GetString()) == broken.rule &&
                          std::string(error["field"].GetString()) == broken.field &&
                          error["line"].GetInt() > 0);
      }
      BOOST_TEST(named, ready.body);
      const HttpTestResponse call = serve.Post(CompleteRequest());
      BOOST_TEST(call.status == 200);
      BOOST_TEST((CardRuleSets(call.body) == std::set<std::string>{"magnesium@1.0.0"}));
    }
  }
  // The admin fixes it: the next reload succeeds.
  CopyRuleSet(kSiteRelease, rules);
  BOOST_TEST_REQUIRE(ReloadAndWait(serve, ++reloads));
  BOOST_TEST(JsonInt(serve.GetOps("/readyz").body, "/reloads/success") == 1);
  BOOST_TEST((CardRuleSets(serve.Post(CompleteRequest()).body) ==
              std::set<std::string>{"magnesium@1.1.0"}));
  const std::string log = serve.Log();
  BOOST_TEST(log.find("\"event\":\"rules_reload_issue\"") != std::string::npos);
  BOOST_TEST(log.find("\"field\":\"rules[6].card.summary\"") != std::string::npos);
  const std::string metrics = serve.GetOps("/metrics").body;
  BOOST_TEST(Series(metrics, R"(magcds_rules_reloads_total{outcome="failure"})") == 5);
  BOOST_TEST(Series(metrics, R"(magcds_rules_reloads_total{outcome="success"})") == 1);
  BOOST_TEST(Series(metrics, R"(magcds_ruleset_active{ruleset="magnesium",version="1.1.0"})") == 1);
  BOOST_TEST(Series(metrics, R"(magcds_ruleset_active{ruleset="magnesium",version="1.0.0"})") ==
             -1);
  cds::testing::RemoveTree(dir);
}

BOOST_AUTO_TEST_CASE(hundred_reloads_under_load_fail_no_request) {
  const std::string dir = cds::testing::MakeTempDir("magcds-rules");
  CopyRuleSet(kShipped, dir + "/v1.0.0");
  CopyRuleSet(kSiteRelease, dir + "/v1.1.0");
  CopyRuleSet(kShipped, dir + "/broken");
  Edit(dir + "/broken/ruleset.json", R"("id": "MG-13")", R"("id": "MG-12")");
  const std::string link = dir + "/current";
  SwapSymlink(link, dir + "/v1.0.0");
  ServeConfig config;
  config.rules = link;
  Serve serve(config);

  const std::string request = CompleteRequest();
  std::atomic<bool> stop{false};
  struct Tally {
    std::size_t requests = 0, failed = 0, mixed = 0;
    std::map<std::string, std::size_t> by_version;
    std::string first_failure;
  };
  auto loop = [&] {
    Tally tally;
    while (!stop.load()) {
      const HttpTestResponse response = serve.Post(request, 5s);
      ++tally.requests;
      const std::set<std::string> versions = CardRuleSets(response.body);
      if (response.status != 200 || versions.empty()) {
        ++tally.failed;
        if (tally.first_failure.empty()) {
          tally.first_failure = std::to_string(response.status) + " " + response.error + " " +
                                response.body.substr(0, 200);
        }
      } else if (versions.size() != 1 || (*versions.begin() != "magnesium@1.0.0" &&
                                          *versions.begin() != "magnesium@1.1.0")) {
        ++tally.mixed;
      } else {
        ++tally.by_version[*versions.begin()];
      }
    }
    return tally;
  };
  std::vector<std::future<Tally>> clients;
  for (int i = 0; i < 2; ++i) clients.push_back(std::async(std::launch::async, loop));

  const auto start = SteadyClock::now();
  const std::string targets[] = {dir + "/v1.1.0", dir + "/broken", dir + "/v1.0.0"};
  bool all_done = true;
  for (std::size_t i = 0; i < 100 && all_done; ++i) {
    SwapSymlink(link, targets[i % 3]);
    all_done = ReloadAndWait(serve, i + 1);
  }
  const long long reload_ms = MsSince(start);
  std::this_thread::sleep_for(50ms);
  stop = true;
  Tally total;
  for (auto& client : clients) {
    BOOST_REQUIRE(client.wait_for(20s) == std::future_status::ready);
    Tally t = client.get();
    total.requests += t.requests;
    total.failed += t.failed;
    total.mixed += t.mixed;
    for (const auto& [version, n] : t.by_version) total.by_version[version] += n;
    if (total.first_failure.empty()) total.first_failure = t.first_failure;
  }
  BOOST_TEST_REQUIRE(all_done, "a reload did not complete");
  const std::string ready = serve.GetOps("/readyz").body;
  BOOST_TEST_MESSAGE("100 reloads in "
                     << reload_ms << " ms under " << total.requests << " requests: "
                     << total.by_version["magnesium@1.0.0"] << " answered by 1.0.0, "
                     << total.by_version["magnesium@1.1.0"] << " by 1.1.0, " << total.failed
                     << " failed, " << total.mixed << " mixed; readyz " << ready.substr(0, 160));
  BOOST_TEST(JsonInt(ready, "/reloads/success") == 67);
  BOOST_TEST(JsonInt(ready, "/reloads/failure") == 33);
  BOOST_TEST(total.failed == 0u, total.first_failure);
  BOOST_TEST(total.mixed == 0u);
  BOOST_TEST(total.requests >= 100u);
  BOOST_TEST(total.by_version["magnesium@1.0.0"] > 0u);
  BOOST_TEST(total.by_version["magnesium@1.1.0"] > 0u);
  // Each reload logs its wall time and its own thread's CPU time (the
  // benchmark's reload row reads both): one thread's CPU time cannot exceed
  // its wall time (give or take the 0.1 ms they are rounded to), while the
  // process's would, with two clients keeping the server busy.
  const ReloadTimes times = LoggedReloadTimes(serve.Log());
  BOOST_TEST(times.lines == 67u);
  BOOST_TEST(times.cpu_ms > 0.0);
  BOOST_TEST(times.cpu_ms <= times.wall_ms + 0.1 * static_cast<double>(times.lines));
  cds::testing::RemoveTree(dir);
}

// One SIGTERM with `in_flight` fetch-mode requests held by `base`.
struct ShutdownRun {
  long long exit_ms = -1;
  std::optional<int> exit_code;
  std::map<int, int> statuses;  // HTTP status -> count (0: no answer)
  int late_status = -2;         // a request sent after SIGTERM
};

ShutdownRun RunShutdown(const std::string& base, const std::string& allowed, int deadline_ms,
                        double grace_seconds, int in_flight) {
  ServeConfig config;
  config.fhir_bases = {allowed};
  config.fhir_deadline_ms = deadline_ms;
  config.grace_seconds = grace_seconds;
  config.audit = false;
  Serve serve(config);
  const std::string body = FetchRequest(base);
  std::vector<std::future<HttpTestResponse>> requests;
  for (int i = 0; i < in_flight; ++i) {
    requests.push_back(
        std::async(std::launch::async, [&serve, &body] { return serve.Post(body, 15s); }));
  }
  // Until all are inside the service (bounded).
  const auto wait_start = SteadyClock::now();
  while (MsSince(wait_start) < 5000 &&
         JsonInt(serve.GetOps("/readyz").body, "/inFlight") < in_flight) {
    std::this_thread::sleep_for(2ms);
  }
  BOOST_TEST(JsonInt(serve.GetOps("/readyz").body, "/inFlight") == in_flight);
  ShutdownRun run;
  const auto sent = SteadyClock::now();
  serve.process().Signal(SIGTERM);
  std::this_thread::sleep_for(20ms);
  run.late_status = serve.Post(body, 3s).status;
  run.exit_code = serve.process().WaitExit(
      std::chrono::milliseconds(static_cast<long long>(grace_seconds * 1000) + 3000));
  run.exit_ms = MsSince(sent);
  for (auto& request : requests) {
    BOOST_REQUIRE(request.wait_for(15s) == std::future_status::ready);
    ++run.statuses[request.get().status];
  }
  return run;
}

std::string Describe(std::map<int, int> statuses) {
  std::string out;
  for (const auto& [status, n] : statuses)
    out += std::to_string(n) + "x" + std::to_string(status) + " ";
  return out;
}

BOOST_AUTO_TEST_CASE(sigterm_with_32_slow_fetches_in_flight_exits_0_in_time_20_times) {
  NodeServer faults("fault_server.mjs");
  constexpr double kGrace = 1.5;
  long long slowest = 0;
  long long fastest = 1 << 30;
  for (int run_index = 0; run_index < 20; ++run_index) {
    BOOST_TEST_CONTEXT("run " << run_index) {
      ShutdownRun run =
          RunShutdown(faults.Url("/delay-300"), faults.Url("/delay-300"), 3000, kGrace, 32);
      BOOST_TEST(run.exit_code.value_or(-999) == 0);
      BOOST_TEST(run.exit_ms <= static_cast<long long>(kGrace * 1000) + 1000);
      // Each completes (200), or at worst gets a clean 503: never no answer.
      BOOST_TEST(run.statuses[0] == 0, Describe(run.statuses));
      BOOST_TEST(run.statuses[200] + run.statuses[503] == 32, Describe(run.statuses));
      // The late request (20 ms after SIGTERM) is refused cleanly (503 or a
      // closed connection) or, when it reached the server before the signal
      // thread ran (a loaded machine), answered in full (200); never a 404 or
      // a truncated answer. (Issue #12: the Asio server admits requests
      // faster than cpprestsdk did, so the 200 case now happens.)
      BOOST_TEST((run.late_status == 503 || run.late_status == 0 || run.late_status == 200),
                 "late " << run.late_status);
      slowest = std::max(slowest, run.exit_ms);
      fastest = std::min(fastest, run.exit_ms);
      if (run_index == 0) {
        BOOST_TEST_MESSAGE("run 0: " << Describe(run.statuses) << "late request " << run.late_status
                                     << ", exit after " << run.exit_ms << " ms");
      }
    }
  }
  BOOST_TEST_MESSAGE("20 SIGTERMs with 32 in flight (FHIR delay 300 ms, grace "
                     << kGrace << " s): exit 0 after " << fastest << " to " << slowest << " ms");
}

BOOST_AUTO_TEST_CASE(sigterm_with_fetches_that_outlast_the_grace_period_answers_503_and_exits) {
  NodeServer faults("fault_server.mjs");
  constexpr double kGrace = 1.0;
  for (int run_index = 0; run_index < 3; ++run_index) {
    BOOST_TEST_CONTEXT("run " << run_index) {
      ShutdownRun run = RunShutdown(faults.Url("/never"), faults.Url("/never"), 10000, kGrace, 32);
      BOOST_TEST(run.exit_code.value_or(-999) == 0);
      BOOST_TEST(run.exit_ms >= static_cast<long long>(kGrace * 1000) - 50);
      BOOST_TEST(run.exit_ms <= static_cast<long long>(kGrace * 1000) + 1000);
      BOOST_TEST(run.statuses[503] == 32, Describe(run.statuses));
      BOOST_TEST_MESSAGE("run " << run_index << ": " << Describe(run.statuses) << "exit after "
                                << run.exit_ms << " ms");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
