// The operational pieces as units (issue #8, #5 service side): Prometheus
// rendering, the audit line and patient hash, the rule-set reloader (broken
// files rejected, a ConfigMap-style symlink swap seen by the watcher), the
// instrumenting front (drain gate, abort at the end of grace) and the config.

#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "rules/loader.h"
#include "service/app/config.h"
#include "service/ops/audit_log.h"
#include "service/ops/drain_gate.h"
#include "service/ops/instrumented_handler.h"
#include "service/ops/metrics.h"
#include "service/ops/rule_set_reloader.h"
#include "tests/support/child_process.h"

namespace cds::service {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kShipped = std::string(CDS_RULES_DIR) + "/magnesium/1.0.0";
const std::string kSiteRelease =
    std::string(CDS_SOURCE_ROOT) + "/rules/examples/magnesium-site-1.1.0";

void CopyRuleSet(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const char* file : {"ruleset.json", "valuesets.json"}) {
    fs::copy_file(from + "/" + file, to + "/" + file, fs::copy_options::overwrite_existing);
  }
}

BOOST_AUTO_TEST_SUITE(MetricsText)

BOOST_AUTO_TEST_CASE(series_render_in_prometheus_text_format) {
  Metrics metrics;
  metrics.CountRequest("service", "magnesium-advisor", 200, 0.02);
  metrics.CountRequest("service", "magnesium-advisor", 200, 0.2);
  metrics.CountCard("MG-01", "warning");
  metrics.CountFhirQuery("timeout", 0.3);
  metrics.CountPrefetch("patient", true);
  metrics.CountAuthFailure("bad_signature");
  metrics.CountReload(false);
  metrics.SetActiveRuleSet("magnesium", "1.0.0");
  metrics.SetActiveRuleSet("magnesium", "1.1.0");
  const std::string text = metrics.RenderPrometheus();
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  BOOST_TEST(has("# TYPE magcds_http_requests_total counter"));
  BOOST_TEST(has(
      R"(magcds_http_requests_total{endpoint="service",service="magnesium-advisor",status="200"} 2)"));
  BOOST_TEST(has(R"(magcds_http_request_duration_seconds_bucket{endpoint="service",le="0.01"} 0)"));
  BOOST_TEST(
      has(R"(magcds_http_request_duration_seconds_bucket{endpoint="service",le="0.025"} 1)"));
  BOOST_TEST(has(R"(magcds_http_request_duration_seconds_bucket{endpoint="service",le="0.25"} 2)"));
  BOOST_TEST(has(R"(magcds_http_request_duration_seconds_bucket{endpoint="service",le="+Inf"} 2)"));
  BOOST_TEST(has(R"(magcds_http_request_duration_seconds_count{endpoint="service"} 2)"));
  BOOST_TEST(has(R"(magcds_cards_total{rule="MG-01",indicator="warning"} 1)"));
  BOOST_TEST(has(R"(magcds_fhir_queries_total{outcome="timeout"} 1)"));
  BOOST_TEST(has(R"(magcds_fhir_queries_total{outcome="ok"} 0)"));
  BOOST_TEST(has(R"(magcds_prefetch_keys_total{key="patient",result="hit"} 1)"));
  BOOST_TEST(has(R"(magcds_auth_failures_total{reason="bad_signature"} 1)"));
  BOOST_TEST(has(R"(magcds_rules_reloads_total{outcome="failure"} 1)"));
  BOOST_TEST(has("magcds_rules_last_reload_success 0"));
  BOOST_TEST(has(R"(magcds_ruleset_active{ruleset="magnesium",version="1.1.0"} 1)"));
  BOOST_TEST(text.find(R"(version="1.0.0")") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(label_values_are_escaped) {
  Metrics metrics;
  metrics.CountAuthFailure("a\"b\\c\nd");
  BOOST_TEST(metrics.RenderPrometheus().find(R"(reason="a\"b\\c\nd")") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Audit)

BOOST_AUTO_TEST_CASE(patient_hash_is_hmac_sha256) {
  // RFC 4231 test case 2 has a 4-byte key; test case 1's 20-byte key fits the
  // 16-byte minimum: key 0x0b * 20, data "Hi There".
  auto hasher = PatientHasher::Create(std::string(20, '\x0b'));
  BOOST_TEST_REQUIRE(hasher.has_value());
  BOOST_TEST(hasher->Hash("Hi There") ==
             "hmac-sha256:b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  BOOST_TEST(hasher->key_id().size() == 8u);
  BOOST_TEST(!PatientHasher::Create("short").has_value());
}

BOOST_AUTO_TEST_CASE(one_json_line_per_call_with_hashed_patient) {
  const std::string dir = cds::testing::MakeTempDir("magcds-audit");
  auto hasher = PatientHasher::Create("0123456789abcdef0123");
  BOOST_TEST_REQUIRE(hasher.has_value());
  auto audit = AuditLog::Open(dir + "/audit.jsonl", *hasher);
  BOOST_TEST_REQUIRE(audit.has_value());
  RequestTrace trace;
  trace.service_id = "magnesium-advisor";
  trace.hook = "patient-view";
  trace.hook_instance = "hi-1";
  trace.patient_id = "patient-secret-1";
  trace.ruleset = "magnesium@1.0.0";
  trace.rules_fired = {"MG-01@1.0.0"};
  trace.cards = {{"uuid-1", "MG-01@1.0.0", "MG-01", "warning"}};
  trace.prefetch = {{"patient", true}, {"medications", false}};
  trace.jwt_issuer = "https://ehr.example";
  trace.jwt_id = "jti-1";
  trace.AddFhirQuery({"MedicationRequest?patient={{context.patientId}}", 200, "ok", 0.0123});
  BOOST_TEST((*audit)->Write(trace, 200, 12.34));
  BOOST_TEST((*audit)->Write(trace, 412, 1));
  const std::string text = cds::testing::ReadFile(dir + "/audit.jsonl");
  BOOST_TEST(text.find("patient-secret-1") == std::string::npos);
  const std::string first = text.substr(0, text.find('\n'));
  rapidjson::Document doc;
  doc.Parse(first.c_str());
  BOOST_TEST_REQUIRE(!doc.HasParseError());
  BOOST_TEST(std::string(doc["type"].GetString()) == "cds_call");
  BOOST_TEST(std::string(doc["hookInstance"].GetString()) == "hi-1");
  BOOST_TEST(std::string(doc["ruleset"].GetString()) == "magnesium@1.0.0");
  BOOST_TEST(std::string(doc["cards"][0]["uuid"].GetString()) == "uuid-1");
  BOOST_TEST(std::string(doc["patient"].GetString()) == hasher->Hash("patient-secret-1"));
  BOOST_TEST(std::string(doc["patientKeyId"].GetString()) == hasher->key_id());
  BOOST_TEST(std::string(doc["jwt"]["jti"].GetString()) == "jti-1");
  BOOST_TEST(std::string(doc["prefetch"]["medications"].GetString()) == "miss");
  BOOST_TEST(doc["fhirQueries"][0]["ms"].GetDouble() == 12.3);
  BOOST_TEST(doc["durationMs"].GetDouble() == 12.3);
  BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 2);
  cds::testing::RemoveTree(dir);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Reloader)

BOOST_AUTO_TEST_CASE(invalid_set_is_rejected_and_the_old_one_stays) {
  const std::string dir = cds::testing::MakeTempDir("magcds-reload");
  CopyRuleSet(kShipped, dir);
  auto loaded = rules::LoadRuleSet(dir);
  BOOST_TEST_REQUIRE(loaded.has_value());
  RuleSetHolder holder(*loaded);
  Metrics metrics;
  RuleSetReloader reloader(holder, {dir, 0ms, &metrics});
  std::ofstream(dir + "/valuesets.json", std::ios::trunc) << "{\"valueSets\": [";
  BOOST_TEST(!reloader.ReloadNow("request"));
  BOOST_TEST(holder.Get() == *loaded);
  const ReloadStatus status = reloader.Status();
  BOOST_TEST(OutcomeName(status.outcome) == std::string("failure"));
  BOOST_TEST_REQUIRE(!status.errors.empty());
  BOOST_TEST(status.errors[0].file == dir + "/valuesets.json");
  CopyRuleSet(kSiteRelease, dir);
  BOOST_TEST(reloader.ReloadNow("request"));
  BOOST_TEST(holder.Get()->Label() == "magnesium@1.1.0");
  BOOST_TEST(reloader.Status().successes == 1u);
  BOOST_TEST(reloader.Status().failures == 1u);
  BOOST_TEST(metrics.RenderPrometheus().find(
                 R"(magcds_ruleset_active{ruleset="magnesium",version="1.1.0"} 1)") !=
             std::string::npos);
  cds::testing::RemoveTree(dir);
}

// A Kubernetes ConfigMap volume: the keys are symlinks into ..data, itself a
// symlink to a timestamped directory that an update replaces atomically.
BOOST_AUTO_TEST_CASE(watcher_sees_a_configmap_symlink_swap) {
  const std::string mount = cds::testing::MakeTempDir("magcds-configmap");
  CopyRuleSet(kShipped, mount + "/..2026_11_22_a");
  fs::create_directory_symlink("..2026_11_22_a", mount + "/..data");
  fs::create_symlink("..data/ruleset.json", mount + "/ruleset.json");
  fs::create_symlink("..data/valuesets.json", mount + "/valuesets.json");
  auto loaded = rules::LoadRuleSet(mount);
  BOOST_TEST_REQUIRE(loaded.has_value());
  RuleSetHolder holder(*loaded);
  RuleSetReloader reloader(holder, {mount, 20ms, nullptr});
  reloader.Start();

  CopyRuleSet(kSiteRelease, mount + "/..2026_11_22_b");
  fs::create_directory_symlink("..2026_11_22_b", mount + "/..data_tmp");
  fs::rename(mount + "/..data_tmp", mount + "/..data");
  // The new set is published before the reload's status is recorded: wait for both.
  for (int i = 0; i < 250 && (holder.Get()->Label() != "magnesium@1.1.0" ||
                              reloader.Status().trigger != "watch");
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(holder.Get()->Label() == "magnesium@1.1.0");
  BOOST_TEST(reloader.Status().trigger == "watch");
  // Unchanged content is not reloaded again.
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(reloader.Status().successes == 1u);
  reloader.Stop();
  cds::testing::RemoveTree(mount);
}

BOOST_AUTO_TEST_SUITE_END()

// A handler that answers only when told to.
class HeldHandler : public RequestHandler {
 public:
  void Handle(HttpRequestView, Respond respond) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    held_.push_back(std::move(respond));
  }
  void ReleaseAll() const {
    std::vector<Respond> held;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held.swap(held_);
    }
    for (Respond& respond : held) respond(HttpResponseView{});
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<Respond> held_;
};

BOOST_AUTO_TEST_SUITE(Front)

BOOST_AUTO_TEST_CASE(draining_refuses_new_requests_and_abort_answers_the_rest) {
  HeldHandler cds;
  DrainGate gate;
  Metrics metrics;
  InstrumentedHandlerOptions options;
  options.cds = &cds;
  options.gate = &gate;
  options.metrics = &metrics;
  const InstrumentedHandler front(options);
  HttpRequestView request;
  request.method = "POST";
  request.path = "/cds-services/magnesium-advisor";
  std::vector<int> statuses;
  std::mutex mutex;
  auto record = [&](HttpResponseView response) {
    std::lock_guard<std::mutex> lock(mutex);
    statuses.push_back(response.status);
  };
  front.Handle(request, record);
  front.Handle(request, record);
  BOOST_TEST(gate.in_flight() == 2u);
  gate.StartDraining();
  front.Handle(request, record);  // refused at once
  BOOST_TEST((statuses == std::vector<int>{503}));
  BOOST_TEST(!gate.WaitIdle(std::chrono::steady_clock::now() + 10ms));
  BOOST_TEST(gate.AbortAll() == 2u);
  BOOST_TEST((statuses == std::vector<int>{503, 503, 503}));
  BOOST_TEST(gate.WaitIdle(std::chrono::steady_clock::now()));
  cds.ReleaseAll();  // late answers are dropped: one response per request
  BOOST_TEST(statuses.size() == 3u);
  BOOST_TEST(metrics.RenderPrometheus().find("magcds_http_requests_in_flight 0\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(OpsConfig)

BOOST_AUTO_TEST_CASE(operational_members_parse_and_typos_fail) {
  auto config = ParseServiceConfig(R"({"ops": {"listen": "0.0.0.0:9090"},
      "audit": {"path": "/var/log/magcds/audit.jsonl", "hashKeyFile": "/etc/magcds/k"},
      "log": {"level": "warn"}, "reload": {"pollSeconds": 0}, "shutdownGraceSeconds": 1.5})");
  BOOST_TEST_REQUIRE(config.has_value());
  BOOST_TEST(config->operations.ops_listen == "0.0.0.0:9090");
  BOOST_TEST(config->operations.audit_path == "/var/log/magcds/audit.jsonl");
  BOOST_TEST(config->operations.log_level == "warn");
  BOOST_TEST(config->operations.reload_poll_ms == 0u);
  BOOST_TEST(config->operations.shutdown_grace_ms == 1500u);
  BOOST_TEST(!ParseServiceConfig(R"({"ops": {"listn": "x"}})").has_value());
  BOOST_TEST(!ParseServiceConfig(R"({"log": {"level": "verbose"}})").has_value());
  BOOST_TEST(!ParseServiceConfig(R"({"shutdownGraceSeconds": -1})").has_value());
  BOOST_TEST(!ParseServiceConfig(R"({"audit": {"path": ""}})").has_value());
}

// Issue #18: FHIR batch is on unless the file turns it off; only a boolean.
BOOST_AUTO_TEST_CASE(fhir_batch_defaults_on_and_takes_a_boolean) {
  auto defaults = ParseServiceConfig("{}");
  BOOST_TEST_REQUIRE(defaults.has_value());
  BOOST_TEST(defaults->fhir.batch);
  auto off = ParseServiceConfig(R"({"fhir": {"batch": false}})");
  BOOST_TEST_REQUIRE(off.has_value());
  BOOST_TEST(!off->fhir.batch);
  const auto bad = ParseServiceConfig(R"({"fhir": {"batch": "no"}})");
  BOOST_TEST_REQUIRE(!bad.has_value());
  BOOST_TEST(bad.error().message.find("fhir.batch") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
