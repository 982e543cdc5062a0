// Issue #13: the CDS Hooks sandbox, unmodified, against the real `magcds
// serve`. Its calls (tests/data/sandbox/*.json) are replayed over loopback,
// each after the CORS preflight its browser sends from
// https://sandbox.cds-hooks.org, with tokens minted exactly as the sandbox
// mints them (its published ES384 demo key; header jku + kid; iss, aud = the
// exact URL, exp = now + 300 s, iat, jti). The sandbox issuer is pinned to its
// JWK Set file, with no jku allowlist: no key is ever fetched.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tests/support/http_test_client.h"
#include "tests/support/jwt_mint.h"
#include "tests/support/magcds_serve.h"
#include "tests/support/node_server.h"
#include "tests/support/test_text.h"

namespace cds::service {
namespace {

using cds::testing::ReplaceAll;

using cds::testing::HttpTestResponse;
using cds::testing::MagcdsServe;
using cds::testing::MakeJwt;
using cds::testing::MetricValue;
using cds::testing::NodeServer;
using cds::testing::NonEmptyLines;
using cds::testing::SilentListener;
using cds::testing::TestKey;

const std::string kSandboxDir = std::string(CDS_TEST_DATA_DIR) + "/sandbox";
const std::string kOrigin = "https://sandbox.cds-hooks.org";
const std::string kIss = "https://sandbox.cds-hooks.org";
const std::string kKid = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f";
const std::string kSandboxJku = "https://sandbox.cds-hooks.org/.well-known/jwks.json";
constexpr char kFhirToken[] = "sandbox-fhir-token-5e1f";

const TestKey& SandboxKey() {
  static const TestKey key =
      TestKey::FromPrivatePem(cds::testing::ReadFile(kSandboxDir + "/ecprivkey.pem"));
  return key;
}

std::string Uuid() {
  static std::mt19937_64 random{std::random_device{}()};
  const std::uint64_t a = random(), b = random();
  char text[40];
  std::snprintf(text, sizeof(text), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | (b >> 48 & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return text;
}

// A token as the sandbox's jwt-generator.js makes it, byte for byte in member
// order; `jku` and `key` can be swapped for the attack cases.
std::string SandboxToken(const std::string& audience, const std::string& jku = kSandboxJku,
                         const TestKey& key = SandboxKey()) {
  const long long now = static_cast<long long>(std::time(nullptr));
  const std::string header =
      R"({"alg":"ES384","typ":"JWT","kid":")" + kKid + R"(","jku":")" + jku + "\"}";
  const std::string payload = R"({"iss":")" + kIss + R"(","aud":")" + audience + R"(","exp":)" +
                              std::to_string(now + 300) + R"(,"iat":)" + std::to_string(now) +
                              R"(,"jti":")" + Uuid() + "\"}";
  return MakeJwt(header, payload, &key, "ES384");
}

struct Fixture {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // "" for none
};

Fixture LoadFixture(const std::string& name,
                    const std::vector<std::pair<std::string, std::string>>& fill = {}) {
  std::string text = cds::testing::ReadFile(kSandboxDir + "/" + name + ".json");
  for (const auto& [from, to] : fill) text = ReplaceAll(text, from, to);
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  BOOST_REQUIRE_MESSAGE(!doc.HasParseError() && doc.IsObject(), "bad fixture " << name);
  Fixture fixture;
  fixture.method = doc["method"].GetString();
  fixture.path = doc["path"].GetString();
  for (const auto& header : doc["headers"].GetObject()) {
    fixture.headers.emplace_back(header.name.GetString(), header.value.GetString());
  }
  if (!doc["body"].IsNull()) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc["body"].Accept(writer);
    fixture.body = buffer.GetString();
  }
  return fixture;
}

// `magcds serve` set up as the README's "Try it with the CDS Hooks sandbox"
// says, plus an audit trail, and FHIR fetching from `fhir_base` when given.
std::string SandboxConfig(const std::string& fhir_base = "", const std::string& issuer_extra = "") {
  std::string config = R"("publicBaseUrl":"http://127.0.0.1:@PORT@",)";
  config += R"("auth":{"required":true,"allowHttpLoopback":true,"issuers":[{"iss":")" + kIss +
            R"(","jwks":")" + kSandboxDir + R"(/jwks.json","algorithms":["ES384"])" + issuer_extra +
            "}]},";
  config += R"("cors":{"allowedOrigins":[")" + kOrigin + R"("]},)";
  config += R"("audit":{"path":"@DIR@/audit.jsonl","hashKeyFile":"@DIR@/hash.key"})";
  if (!fhir_base.empty()) {
    config += R"(,"fhir":{"allowHttpLoopback":true,"allowedServers":[")" + fhir_base + "\"]}";
  }
  return config;
}

std::string H(const HttpTestResponse& response, const std::string& name) {
  const auto it = response.headers.find(name);
  return it == response.headers.end() ? "" : it->second;
}

// The browser's CORS preflight for `fixture`, then the call itself with a
// sandbox token for its exact URL.
HttpTestResponse Replay(const MagcdsServe& serve, const Fixture& fixture) {
  const HttpTestResponse preflight =
      serve.Send("OPTIONS", fixture.path, "",
                 {{"Origin", kOrigin},
                  {"Access-Control-Request-Method", fixture.method},
                  {"Access-Control-Request-Headers",
                   fixture.method == "POST" ? "authorization,content-type" : "authorization"}});
  BOOST_TEST(preflight.status == 204, fixture.path << ": " << preflight.status);
  BOOST_TEST(H(preflight, "access-control-allow-origin") == kOrigin);
  BOOST_TEST(H(preflight, "access-control-allow-headers").find("Authorization") !=
             std::string::npos);
  std::vector<std::pair<std::string, std::string>> headers = fixture.headers;
  headers.emplace_back("Authorization", "Bearer " + SandboxToken(serve.Base() + fixture.path));
  const HttpTestResponse response = serve.Send(fixture.method, fixture.path, fixture.body, headers);
  BOOST_TEST(H(response, "access-control-allow-origin") == kOrigin, fixture.path);
  return response;
}

std::string JsonString(const rapidjson::Value& value, const char* name) {
  return value.HasMember(name) && value[name].IsString() ? value[name].GetString() : "";
}

BOOST_AUTO_TEST_SUITE(SandboxClient)

// Issue #13 acceptance 1 and the fixtures: discovery, patient-view with and
// without prefetch, against a secured FHIR server, and feedback (accepted,
// overridden), all with sandbox-minted tokens carrying the sandbox's jku.
BOOST_AUTO_TEST_CASE(sandbox_calls_with_pinned_keys_and_cors_from_its_origin) {
  // As the README sets it up: prefetch only (the sandbox prefetches from its
  // own open FHIR server, whose URL it sends as fhirServer).
  MagcdsServe serve(CDS_MAGCDS_BINARY, SandboxConfig());

  const HttpTestResponse discovery = Replay(serve, LoadFixture("discovery"));
  BOOST_TEST(discovery.status == 200, discovery.body);
  BOOST_TEST(discovery.body.find("\"id\":\"magnesium-advisor\"") != std::string::npos);

  // With prefetch: the MG-01 card the sandbox renders in warning colour, with
  // its source link and the "Order serum magnesium" suggestion.
  const HttpTestResponse cards = Replay(serve, LoadFixture("patient-view-prefetch"));
  BOOST_TEST_REQUIRE(cards.status == 200, cards.body);
  rapidjson::Document doc;
  doc.Parse(cards.body.c_str());
  BOOST_TEST_REQUIRE((!doc.HasParseError() && doc.HasMember("cards") && doc["cards"].Size() >= 1u),
                     cards.body);
  const rapidjson::Value* mg01 = nullptr;
  for (const auto& card : doc["cards"].GetArray()) {
    rapidjson::StringBuffer text;
    rapidjson::Writer<rapidjson::StringBuffer> writer(text);
    card.Accept(writer);
    const std::string json = text.GetString();
    if (json.find("\"MG-01@") != std::string::npos && JsonString(card, "indicator") == "warning") {
      mg01 = &card;
    }
  }
  BOOST_TEST_REQUIRE(mg01 != nullptr, cards.body);
  BOOST_TEST(!JsonString((*mg01)["source"], "url").empty());
  BOOST_TEST_REQUIRE((*mg01)["suggestions"].Size() >= 1u);
  BOOST_TEST(JsonString((*mg01)["suggestions"][0], "label") == "Order serum magnesium");
  const std::string card_uuid = JsonString(*mg01, "uuid");
  const std::string suggestion_uuid = JsonString((*mg01)["suggestions"][0], "uuid");

  // Without prefetch, against an open FHIR server: a 412 that says why (the
  // sandbox shows this message in its developer panel).
  const HttpTestResponse no_prefetch = Replay(serve, LoadFixture("patient-view-no-prefetch"));
  BOOST_TEST(no_prefetch.status == 412, no_prefetch.body);
  BOOST_TEST(no_prefetch.body.find("fhirServer present but no fhirAuthorization (access token)") !=
                 std::string::npos,
             no_prefetch.body);

  // Feedback on that card, accepted with its suggestion and overridden.
  const std::vector<std::pair<std::string, std::string>> ids = {
      {"{{CARD_UUID}}", card_uuid}, {"{{SUGGESTION_UUID}}", suggestion_uuid}};
  const HttpTestResponse accepted = Replay(serve, LoadFixture("feedback-accepted", ids));
  BOOST_TEST(accepted.status == 200, accepted.body);
  const HttpTestResponse overridden = Replay(serve, LoadFixture("feedback-overridden", ids));
  BOOST_TEST(overridden.status == 200, overridden.body);

  // Every call accounted for: feedback in the log and the metrics; preflights
  // counted as such and never in the audit trail; the two service calls are.
  BOOST_TEST(serve.WaitForLog("\"feedbackOverridden\":\"1\""));
  const std::string log = serve.Log();
  std::size_t feedback_lines = 0;
  for (const std::string& line : NonEmptyLines(log)) {
    if (line.find("\"event\":\"request\"") == std::string::npos ||
        line.find("\"endpoint\":\"feedback\"") == std::string::npos) {
      continue;
    }
    ++feedback_lines;
    BOOST_TEST(line.find("\"status\":\"200\"") != std::string::npos, line);
    BOOST_TEST(line.find("\"service\":\"magnesium-advisor\"") != std::string::npos, line);
  }
  BOOST_TEST(feedback_lines == 2u);
  BOOST_TEST(log.find("\"feedbackAccepted\":\"1\",\"feedbackOverridden\":\"0\","
                      "\"acceptedSuggestions\":\"1\"") != std::string::npos,
             log);
  BOOST_TEST(log.find("smart-1288992") == std::string::npos, "patient id in the log");
  BOOST_TEST(log.find("\"event\":\"auth_rejected\"") == std::string::npos, log);
  const std::string metrics = serve.Send("GET", "/metrics").body;
  BOOST_TEST(
      MetricValue(
          metrics,
          R"(magcds_feedback_received_total{service="magnesium-advisor",outcome="accepted"})") ==
      1);
  BOOST_TEST(
      MetricValue(
          metrics,
          R"(magcds_feedback_received_total{service="magnesium-advisor",outcome="overridden"})") ==
      1);
  BOOST_TEST(
      MetricValue(metrics,
                  R"(magcds_http_requests_total{endpoint="preflight",service="",status="204"})") ==
      5);
  const std::vector<std::string> audit = NonEmptyLines(serve.ReadInDir("audit.jsonl"));
  BOOST_TEST(audit.size() == 2u, serve.ReadInDir("audit.jsonl"));
  for (const std::string& line : audit) {
    BOOST_TEST(line.find("\"service\":\"magnesium-advisor\"") != std::string::npos, line);
    BOOST_TEST(line.find("\"status\":204") == std::string::npos, line);
    BOOST_TEST(line.find("\"iss\":\"https://sandbox.cds-hooks.org\"") != std::string::npos, line);
  }
}

// The sandbox against a secured FHIR server: it sends fhirAuthorization and
// no prefetch, and magcds fetches (from an allowlisted loopback test server)
// with the sandbox's access token.
// Issue #15 acceptance 4: the sandbox's "Rx View" (order-select, one draft
// MedicationRequest with an RxNorm SCD code, selections of its id) and "Rx
// Sign" (order-sign) calls, with sandbox-minted tokens: accepted, evaluated.
BOOST_AUTO_TEST_CASE(sandbox_order_select_and_order_sign_calls) {
  MagcdsServe serve(CDS_MAGCDS_BINARY, SandboxConfig());
  const HttpTestResponse discovery = Replay(serve, LoadFixture("discovery"));
  BOOST_TEST(discovery.status == 200, discovery.body);
  for (const char* id : {"magnesium-advisor", "magnesium-order-select", "magnesium-order-sign"}) {
    BOOST_TEST(discovery.body.find(std::string("\"id\":\"") + id + "\"") != std::string::npos, id);
  }
  for (const char* call : {"order-select-prefetch", "order-sign-prefetch"}) {
    const HttpTestResponse cards = Replay(serve, LoadFixture(call));
    BOOST_TEST(cards.status == 200, call << ": " << cards.body);
    // Omeprazole started with current furosemide, no magnesium result: MG-21.
    BOOST_TEST(cards.body.find("\"MG-21@1.1.0\"") != std::string::npos, call << ": " << cards.body);
    BOOST_TEST(cards.body.find("Starting a PPI with furosemide") != std::string::npos, cards.body);
  }
}

BOOST_AUTO_TEST_CASE(sandbox_call_with_fhir_authorization_is_fetched) {
  NodeServer fhir("fault_server.mjs");
  MagcdsServe serve(CDS_MAGCDS_BINARY, SandboxConfig(fhir.Url("/ok")));
  const HttpTestResponse fetched = Replay(
      serve, LoadFixture("patient-view-secured-fhir",
                         {{"{{FHIR_SERVER}}", fhir.Url("/ok")}, {"{{ACCESS_TOKEN}}", kFhirToken}}));
  BOOST_TEST(fetched.status == 200, fetched.body);
  const HttpTestResponse stats =
      cds::testing::SendRaw(fhir.port(), cds::testing::FormatRequest("GET", "/_test/stats"));
  BOOST_TEST(stats.body.find(std::string("Bearer ") + kFhirToken) != std::string::npos, stats.body);
  BOOST_TEST(stats.body.find("/ok/MedicationRequest?patient=smart-1288992") != std::string::npos,
             stats.body);
  BOOST_TEST(serve.Log().find(kFhirToken) == std::string::npos, "FHIR token in the log");
}

// Acceptance 1: the jku header of a pinned issuer is never trusted: pointed at
// a loopback port that listens, it gets no connection; a token signed with
// another key under the sandbox's kid is refused whatever the jku says.
BOOST_AUTO_TEST_CASE(pinned_issuer_never_fetches_and_refuses_another_key_under_its_kid) {
  MagcdsServe serve(CDS_MAGCDS_BINARY, SandboxConfig());
  SilentListener attacker;
  const std::string jku =
      "http://127.0.0.1:" + std::to_string(attacker.port()) + "/.well-known/jwks.json";
  const std::string path = "/cds-services/magnesium-advisor";
  const Fixture call = LoadFixture("patient-view-prefetch");
  auto send = [&](const std::string& token) {
    std::vector<std::pair<std::string, std::string>> headers = call.headers;
    headers.emplace_back("Authorization", "Bearer " + token);
    return serve.Send("POST", path, call.body, headers);
  };
  BOOST_TEST(send(SandboxToken(serve.Base() + path, jku)).status == 200);
  const TestKey other = TestKey::Generate(TestKey::Type::kEcP384);
  for (const std::string& named : {jku, kSandboxJku}) {
    const HttpTestResponse forged = send(SandboxToken(serve.Base() + path, named, other));
    BOOST_TEST(forged.status == 401, forged.body);
  }
  BOOST_TEST(serve.WaitForLog("\"reason\":\"bad_signature\""));
  BOOST_TEST(serve
                 .Send("GET", "/cds-services", "",
                       {{"Authorization",
                         "Bearer " + SandboxToken(serve.Base() + "/cds-services", jku, other)}})
                 .status == 401);
  BOOST_TEST(!attacker.HadConnection(std::chrono::milliseconds(300)),
             "magcds connected to the token's jku");
  BOOST_TEST(serve.Log().find("jwks_loaded") == std::string::npos, serve.Log());
}

// An issuer that allowlists the jku it cannot reach (a hospital without
// egress) falls back to its pinned file, and keeps doing so: the failed fetch
// does not lock the issuer out for jwksMinRefreshSeconds.
BOOST_AUTO_TEST_CASE(allowlisted_jku_that_cannot_be_fetched_falls_back_to_the_pinned_keys) {
  const std::string dead_jku =
      "http://127.0.0.1:" + std::to_string(cds::testing::FindFreePort()) + "/.well-known/jwks.json";
  MagcdsServe serve(CDS_MAGCDS_BINARY, SandboxConfig("", R"(,"jku":[")" + dead_jku + "\"]"));
  const std::string path = "/cds-services";
  for (int i = 0; i < 3; ++i) {
    const HttpTestResponse response =
        serve.Send("GET", path, "",
                   {{"Authorization", "Bearer " + SandboxToken(serve.Base() + path, dead_jku)}});
    BOOST_TEST(response.status == 200, i << ": " << response.body);
  }
  // One fetch was tried and failed (logged); later calls did not wait for one.
  BOOST_TEST(serve.WaitForLog("\"event\":\"jwks_loaded\""));
  const std::string log = serve.Log();
  std::size_t fetches = 0;
  for (std::size_t at = log.find("\"event\":\"jwks_loaded\""); at != std::string::npos;
       at = log.find("\"event\":\"jwks_loaded\"", at + 1)) {
    ++fetches;
  }
  BOOST_TEST(fetches == 1u, log);
  // Another key under the kid is still refused.
  const TestKey other = TestKey::Generate(TestKey::Type::kEcP384);
  BOOST_TEST(
      serve
          .Send("GET", path, "",
                {{"Authorization", "Bearer " + SandboxToken(serve.Base() + path, dead_jku, other)}})
          .status == 401);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
