// Issue #12, over real sockets: the cpprestsdk listener in front of a
// HookHandler that fetches through the real RestFhirClient from the
// fault-injecting Node FHIR server (tests/fhir_server/fault_server.mjs).
//  - values that would reach an outgoing header or URL are checked (400 naming
//    the field, and nothing is sent);
//  - redirects are not followed: no connection, no token to another origin;
//  - another patient's resources (from FHIR or prefetch) never make a card.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "service/http/http_adapter.h"
#include "tests/service/fetch_test_util.h"

namespace cds::service {
namespace {

using cds::testing::FormatRequest;
using cds::testing::HttpTestResponse;
using cds::testing::NodeServer;
using cds::testing::SendRaw;
using cds::testing::SilentListener;
using testing::CardRules;
using testing::FetchingService;
using testing::HookRequestJson;
using testing::HookRequestSpec;

NodeServer& Faults() {
  static NodeServer server("fault_server.mjs");
  return server;
}
// A second origin: where a redirect points. It must never be contacted.
NodeServer& Elsewhere() {
  static NodeServer server("fault_server.mjs");
  return server;
}

// Requests the fault server has had since its last reset, and their
// Authorization headers.
struct Stats {
  int requests = 0;
  std::vector<std::string> authorizations;
};

Stats StatsOf(const NodeServer& server) {
  const HttpTestResponse r = testing::SendTo(server, "GET", "/_test/stats");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  BOOST_REQUIRE(doc.IsObject());
  Stats stats;
  stats.requests = doc["requests"].GetInt();
  for (const auto& a : doc["authorizations"].GetArray())
    stats.authorizations.emplace_back(a.GetString());
  return stats;
}

void Reset(const NodeServer& server) {
  BOOST_REQUIRE_EQUAL(testing::SendTo(server, "POST", "/_test/reset").status, 200);
}

// A FetchingService behind a real listener on a free loopback port.
class ListeningService {
 public:
  explicit ListeningService(FetchingService::Options options) : service_(std::move(options)) {
    for (int attempt = 0; attempt < 5 && !server_; ++attempt) {
      ServerOptions server_options;
      server_options.port = cds::testing::FindFreePort();
      auto server = std::make_unique<HttpServer>(service_.handler(), server_options);
      if (server->Start()) {
        port_ = server_options.port;
        server_ = std::move(server);
      }
    }
    BOOST_REQUIRE_MESSAGE(server_, "could not start a listener");
  }

  HttpTestResponse Post(const std::string& body) const {
    return SendRaw(port_,
                   FormatRequest("POST", "/cds-services/magnesium-advisor", body,
                                 {{"Content-Type", "application/json"}}),
                   std::chrono::seconds(15));
  }

 private:
  FetchingService service_;
  std::unique_ptr<HttpServer> server_;
  std::uint16_t port_ = 0;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `body` with the member at `path` ("context.userId") set to raw JSON text.
std::string With(const std::string& body, const std::string& path, const std::string& raw) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  BOOST_REQUIRE(doc.IsObject());
  rapidjson::Document value(&doc.GetAllocator());
  value.Parse(raw.c_str());
  BOOST_REQUIRE_MESSAGE(!value.HasParseError(), raw);
  rapidjson::Value* object = &doc;
  std::string rest = path;
  for (std::size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    object = &(*object)[rest.substr(0, dot).c_str()];
  }
  object->RemoveMember(rest.c_str());
  object->AddMember(rapidjson::Value(rest.c_str(), doc.GetAllocator()),
                    rapidjson::Value(value, doc.GetAllocator()), doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

BOOST_AUTO_TEST_SUITE(HostileInput)

// Item 2: request splitting through the FHIR access token and other values
// that reach an outgoing header or URL.
BOOST_AUTO_TEST_CASE(header_and_url_values_are_checked_and_nothing_is_sent) {
  NodeServer& faults = Faults();
  const std::string base = faults.Url("/ok");
  ListeningService service({.bases = {base}});
  struct Case {
    std::string path;   // member to replace
    std::string raw;    // its JSON value
    std::string field;  // what the 400 must name
  };
  auto with_token = [&](const std::string& token, const std::string& type = "Bearer") {
    return std::string(R"({"access_token":")") + token + R"(","token_type":")" + type +
           R"(","expires_in":300})";
  };
  const std::vector<Case> cases = {
      {"fhirAuthorization", with_token(R"(t0k\r\nX-Injected: 1)"),
       "fhirAuthorization.access_token"},
      {"fhirAuthorization", with_token("tok en"), "fhirAuthorization.access_token"},
      {"fhirAuthorization", with_token("tok,en"), "fhirAuthorization.access_token"},
      {"fhirAuthorization", with_token(R"(tok\u0000en)"), "fhirAuthorization.access_token"},
      {"fhirAuthorization", with_token("to=ken"), "fhirAuthorization.access_token"},
      {"fhirAuthorization", with_token("token", R"(Bearer\r\nX-Injected: 1)"),
       "fhirAuthorization.token_type"},
      {"context.userId", R"("Practitioner/a\r\nX-Injected: 1")", "context.userId"},
      {"context.userId", R"("Practitioner/a/../../x")", "context.userId"},
      {"context.encounterId", R"("e1\nx")", "context.encounterId"},
      {"context.encounterId", R"("e 1")", "context.encounterId"},
      {"hookInstance", R"("abc\r\ndef")", "hookInstance"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.path << " = " << c.raw) {
      Reset(faults);
      // No prefetch: every key would be fetched with the token.
      HookRequestSpec spec;
      spec.patient_id = "p1";
      spec.fhir_server = base;
      const std::string body = With(HookRequestJson(spec), c.path, c.raw);
      const HttpTestResponse r = service.Post(body);
      BOOST_TEST(r.status == 400);
      BOOST_TEST(r.body.find("'" + c.field + "'") != std::string::npos, r.body);
      const Stats stats = StatsOf(faults);
      BOOST_TEST(stats.requests == 0);
    }
  }
  // Control: a valid token is sent as is.
  Reset(faults);
  HookRequestSpec spec;
  spec.patient_id = "p1";
  spec.fhir_server = base;
  spec.access_token = "eyJ0.eyJz-_~+/9==";
  const HttpTestResponse ok = service.Post(HookRequestJson(spec));
  BOOST_TEST(ok.status == 200, ok.body);
  const Stats stats = StatsOf(faults);
  BOOST_TEST(stats.requests > 0);
  for (const std::string& a : stats.authorizations) BOOST_TEST(a == "Bearer eyJ0.eyJz-_~+/9==");
}

// Item 3: a FHIR server's redirect to another origin is not followed; the
// token never goes there; the key is not obtained (412: required data).
BOOST_AUTO_TEST_CASE(fhir_redirects_are_not_followed) {
  NodeServer& faults = Faults();
  NodeServer& elsewhere = Elsewhere();
  for (const int code : {301, 302, 303, 307, 308}) {
    BOOST_TEST_CONTEXT("HTTP " << code) {
      const std::string base = faults.Url("/redirect-" + std::to_string(code) + "-" +
                                          std::to_string(elsewhere.port()) + "/ok");
      ListeningService service({.bases = {base}});
      Reset(faults);
      Reset(elsewhere);
      HookRequestSpec spec;
      spec.patient_id = "p1";
      spec.fhir_server = base;
      const HttpTestResponse r = service.Post(HookRequestJson(spec));
      BOOST_TEST(r.status == 412, r.body);
      BOOST_TEST(StatsOf(faults).requests > 0);
      const Stats there = StatsOf(elsewhere);
      BOOST_TEST(there.requests == 0);
      BOOST_TEST(there.authorizations.empty());
    }
  }
}

// Item 3, the JWKS side: the JWK Set is fetched with the same RestFhirClient
// (service/app/cli_security.cc); an allowlisted jku that redirects to another
// origin yields no key set and no connection there.
BOOST_AUTO_TEST_CASE(jwks_redirect_to_another_origin_is_not_followed) {
  NodeServer& faults = Faults();
  SilentListener attacker;
  const std::string jku =
      faults.Url("/redirect-302-" + std::to_string(attacker.port()) + "/jwks.json");
  auto policy = fhir::FhirServerPolicy::Create({jku}, true);
  BOOST_REQUIRE(policy);
  fhir::RestFhirClientOptions options;
  options.policy = *policy;
  auto client = fhir::RestFhirClient::Create(std::move(options));
  BOOST_REQUIRE(client);
  auto promise = std::make_shared<std::promise<fhir::FhirResponse>>();
  auto answer = promise->get_future();
  fhir::FhirGet get;
  get.url = jku;
  get.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  get.log_path = "jwks";
  (*client)->Get(get, [promise](fhir::FhirResponse r) { promise->set_value(std::move(r)); });
  BOOST_REQUIRE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  const fhir::FhirResponse r = answer.get();
  BOOST_TEST(r.status != 200);
  BOOST_TEST(r.body.find("keys") == std::string::npos);
  BOOST_TEST(!attacker.HadConnection(std::chrono::milliseconds(300)));
}

// Item 4: a FHIR server that answers the Observation search with another
// patient's low magnesium must not produce MG-10 (critical) or MG-03.
std::string Mg10Request(const std::string& fhir_server, const std::string& observations) {
  const std::string text = ReadFile(std::string(CDS_TEST_DATA_DIR) +
                                    "/rule-cases/mg10-fires-digoxin-low-mg-replaces-mg03.json");
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  BOOST_REQUIRE(doc.IsObject());
  const auto& entries = doc["bundle"]["entry"];
  auto resource_json = [&](const char* type) {
    for (const auto& e : entries.GetArray()) {
      if (std::string(e["resource"]["resourceType"].GetString()) == type) {
        rapidjson::StringBuffer b;
        rapidjson::Writer<rapidjson::StringBuffer> w(b);
        e["resource"].Accept(w);
        return std::string(b.GetString());
      }
    }
    return std::string("null");
  };
  auto bundle_of = [](const std::string& resource) {
    return R"({"resourceType":"Bundle","type":"searchset","entry":[{"resource":)" + resource +
           "}]}";
  };
  HookRequestSpec spec;
  spec.patient_id = "p-mg10";
  spec.fhir_server = fhir_server;
  spec.prefetch = {{"patient", resource_json("Patient")},
                   {"medications", bundle_of(resource_json("MedicationRequest"))},
                   {"medicationStatements", "null"},
                   {"conditions", bundle_of(resource_json("Condition"))}};
  if (!observations.empty()) spec.prefetch["observations"] = observations;
  return HookRequestJson(spec);
}

BOOST_AUTO_TEST_CASE(another_patients_fhir_data_never_makes_a_card) {
  NodeServer& faults = Faults();
  // Control: the same magnesium for the context patient fires MG-10.
  {
    const std::string base = faults.Url("/lowmg-p-mg10");
    ListeningService service({.bases = {base}});
    const HttpTestResponse r = service.Post(Mg10Request(base, ""));
    BOOST_TEST(r.status == 200, r.body);
    BOOST_TEST(CardRules(r.body).count("MG-10") == 1, r.body);
  }
  const std::string base = faults.Url("/lowmg-intruder");
  ListeningService service({.bases = {base}});
  const HttpTestResponse r = service.Post(Mg10Request(base, ""));
  BOOST_TEST(r.status == 200, r.body);
  const auto rules = CardRules(r.body);
  BOOST_TEST(rules.count("MG-10") == 0, r.body);
  BOOST_TEST(rules.count("MG-03") == 0, r.body);
}

BOOST_AUTO_TEST_CASE(another_patients_prefetch_data_never_makes_a_card) {
  auto observation = [](const std::string& reference) {
    return R"({"resourceType":"Bundle","type":"searchset","entry":[{"resource":{)"
           R"("resourceType":"Observation","id":"o-x","status":"final",)"
           R"("code":{"coding":[{"system":"http://loinc.org","code":"2601-3"}]},)"
           R"("subject":{"reference":")" +
           reference +
           R"("},"effectiveDateTime":"2026-11-10T07:40:00Z",)"
           R"("valueQuantity":{"value":0.4,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}}]})";
  };
  ListeningService service({});
  const HttpTestResponse mine = service.Post(Mg10Request("", observation("Patient/p-mg10")));
  BOOST_TEST(CardRules(mine.body).count("MG-10") == 1, mine.body);
  const HttpTestResponse absolute =
      service.Post(Mg10Request("", observation("https://ehr.example/fhir/Patient/p-mg10")));
  BOOST_TEST(CardRules(absolute.body).count("MG-10") == 1, absolute.body);
  for (const char* foreign : {"Patient/intruder", "https://ehr.example/fhir/Patient/intruder",
                              "Group/p-mg10", "Patient/p-mg10x"}) {
    BOOST_TEST_CONTEXT(foreign) {
      const HttpTestResponse r = service.Post(Mg10Request("", observation(std::string(foreign))));
      BOOST_TEST(r.status == 200, r.body);
      const auto rules = CardRules(r.body);
      BOOST_TEST(rules.count("MG-10") == 0, r.body);
      BOOST_TEST(rules.count("MG-03") == 0, r.body);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
