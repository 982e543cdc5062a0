// Issue #6 over real sockets: the cpprestsdk listener with the SecurityGate
// (JWT client authentication with keys minted at test time, CORS) in front of
// the HookHandler, a second listener serving the client's JWK Set at an
// allowlisted jku, and SilentListeners that prove no connection is made where
// none may be. Also the body limits (413 without reading, chunked cut-off) and
// the JSON depth limit.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fhir/rest_fhir_client.h"
#include "service/auth/auth.h"
#include "service/auth/jwt.h"
#include "service/auth/security_gate.h"
#include "service/http/cors.h"
#include "service/http/http_adapter.h"
#include "tests/service/handler_test_util.h"
#include "tests/support/http_test_client.h"
#include "tests/support/jwt_mint.h"
#include "tests/support/node_server.h"
#include "tests/support/streaming_client.h"

namespace cds::service {
namespace {

using cds::testing::FormatRequest;
using cds::testing::HttpTestResponse;
using cds::testing::MakeJwt;
using cds::testing::SendRaw;
using cds::testing::TestKey;

constexpr std::int64_t kNow = 1800000000;
const std::string kIss = "https://ehr.example/auth";
const std::string kBase = "https://cds.example.org";
const std::string kService = "/cds-services/magnesium-advisor";
const std::string kOrigin = "https://ehr-ui.example";

const TestKey& Ec() {
  static const TestKey key = TestKey::Generate(TestKey::Type::kEcP384);
  return key;
}
const TestKey& Rsa() {
  static const TestKey key = TestKey::Generate(TestKey::Type::kRsa2048);
  return key;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string SampleRequest() {
  return ReadFile(std::string(CDS_TEST_DATA_DIR) + "/requests/patient-view-ppi-cramps.json");
}

// Serves one JWK Set at /jwks.json and counts the requests it gets.
class JwksServer : public RequestHandler {
 public:
  void Handle(HttpRequestView request, Respond respond) const override {
    ++requests;
    HttpResponseView response;
    std::lock_guard<std::mutex> lock(mutex);
    response.status = request.path == "/jwks.json" ? 200 : 404;
    response.body = request.path == "/jwks.json" ? jwks : "{}";
    respond(response);
  }
  void Serve(std::string text) {
    std::lock_guard<std::mutex> lock(mutex);
    jwks = std::move(text);
  }
  mutable std::atomic<int> requests{0};

 private:
  mutable std::mutex mutex;
  std::string jwks = R"({"keys":[]})";
};

std::unique_ptr<HttpServer> StartOnFreePort(const RequestHandler& handler, ServerOptions options,
                                            std::uint16_t& port) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    options.port = cds::testing::FindFreePort();
    auto server = std::make_unique<HttpServer>(handler, options);
    if (server->Start()) {
      port = options.port;
      return server;
    }
  }
  BOOST_FAIL("could not start a listener on a free port");
  return nullptr;
}

std::string Claims(const std::string& aud_path, const std::string& jti, std::int64_t iat = kNow - 5,
                   std::int64_t exp = kNow + 120, const std::string& iss = kIss) {
  return R"({"iss":")" + iss + R"(","aud":")" + kBase + aud_path + R"(","iat":)" +
         std::to_string(iat) + R"(,"exp":)" + std::to_string(exp) + R"(,"jti":")" + jti + "\"}";
}

std::string Header(const std::string& alg, const std::string& kid, const std::string& extra = "") {
  return R"({"alg":")" + alg + R"(","typ":"JWT","kid":")" + kid + "\"" + extra + "}";
}

// The service: HookHandler behind the SecurityGate behind the listener.
struct SecureServer {
  explicit SecureServer(std::size_t max_body_bytes = 1024 * 1024)
      : holder(testing::LoadShippedRules()), handler(holder, testing::FixedOptions()) {
    jwks_http = StartOnFreePort(jwks_server, ServerOptions{}, jwks_port);
    jku = "http://127.0.0.1:" + std::to_string(jwks_port) + "/jwks.json";

    jwks_file = (std::filesystem::temp_directory_path() /
                 ("magcds-security-http-" + std::to_string(::getpid()) + ".json"))
                    .string();
    std::ofstream(jwks_file) << cds::testing::JwkSetOf(Ec().PublicJwk("ec-1"),
                                                       Rsa().PublicJwk("rsa-1"));

    AuthConfig config;
    config.required = true;
    config.allow_http_loopback = true;
    AuthIssuerConfig issuer;
    issuer.iss = kIss;
    issuer.jwks_file = jwks_file;
    issuer.jku = {jku};
    issuer.algorithms = {"ES384", "RS384"};
    config.issuers.push_back(issuer);

    auto policy = fhir::FhirServerPolicy::Create({jku}, true);
    BOOST_REQUIRE(policy);
    fhir::RestFhirClientOptions client_options;
    client_options.policy = *policy;
    auto client = fhir::RestFhirClient::Create(std::move(client_options));
    BOOST_REQUIRE(client);
    jwks_client = std::move(client).value();

    AuthenticatorOptions options;
    options.config = config;
    options.public_base_url = kBase;
    options.clock = [] { return kNow; };
    fhir::RestFhirClient* fetcher = jwks_client.get();
    options.fetch = [fetcher](const std::string& url, JwksFetchDone done) {
      fhir::FhirGet get;
      get.url = url;
      get.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      get.log_path = "jwks";
      fetcher->Get(std::move(get), [done](fhir::FhirResponse response) {
        if (response.status == 200) return done(response.body);
        done(Error{ErrorCode::kUpstreamFailure, "fetch failed"});
      });
    };
    options.on_outcome = [this](const AuthOutcome& outcome) {
      std::lock_guard<std::mutex> lock(mutex);
      reasons.push_back(outcome.ok() ? "ok" : AuthFailureName(*outcome.failure));
    };
    auto created = Authenticator::Create(std::move(options));
    BOOST_REQUIRE_MESSAGE(created, (created ? "" : created.error().message));
    authenticator = std::move(created).value();
    cors = std::make_unique<CorsPolicy>(std::vector<std::string>{kOrigin});
    gate = std::make_unique<SecurityGate>(handler, authenticator.get(), cors.get());

    ServerOptions server_options;
    server_options.max_body_bytes = max_body_bytes;
    server_options.decorate = [this](const HttpRequestView& request, HttpResponseView& response) {
      gate->Decorate(request, response);
    };
    server = StartOnFreePort(*gate, server_options, port);
  }
  ~SecureServer() {
    if (server) BOOST_CHECK(server->Stop());
    if (jwks_http) BOOST_CHECK(jwks_http->Stop());
    std::filesystem::remove(jwks_file);
  }

  HttpTestResponse Send(const std::string& method, const std::string& path,
                        const std::string& token, const std::string& body = "",
                        std::vector<std::pair<std::string, std::string>> headers = {}) const {
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    if (method == "POST") headers.emplace_back("Content-Type", "application/json");
    return SendRaw(port, FormatRequest(method, path, body, headers));
  }
  HttpTestResponse Call(const std::string& token) const {
    return Send("POST", kService, token, SampleRequest());
  }
  std::string LastReason() {
    std::lock_guard<std::mutex> lock(mutex);
    return reasons.empty() ? "" : reasons.back();
  }

  RuleSetHolder holder;
  HookHandler handler;
  JwksServer jwks_server;
  std::unique_ptr<HttpServer> jwks_http;
  std::uint16_t jwks_port = 0;
  std::string jku;
  std::string jwks_file;
  std::unique_ptr<fhir::RestFhirClient> jwks_client;
  std::unique_ptr<Authenticator> authenticator;
  std::unique_ptr<CorsPolicy> cors;
  std::unique_ptr<SecurityGate> gate;
  std::unique_ptr<HttpServer> server;
  std::uint16_t port = 0;
  std::mutex mutex;
  std::vector<std::string> reasons;
};

std::string H(const HttpTestResponse& response, const std::string& name) {
  const auto it = response.headers.find(name);
  return it == response.headers.end() ? "" : it->second;
}

void ExpectBare401(const HttpTestResponse& response, const HttpTestResponse& reference) {
  BOOST_TEST(response.status == 401, response.error << response.body);
  // Every failure gets the same body: it never says which check failed.
  BOOST_TEST(response.body == reference.body);
  BOOST_TEST(response.headers.count("www-authenticate") == 1u);
}

BOOST_AUTO_TEST_SUITE(SecurityHttp)

// Issue #6 acceptance 1, every case over HTTP.
BOOST_AUTO_TEST_CASE(acceptance_1_valid_token_200_and_every_bad_token_401) {
  SecureServer s;
  int jti = 0;
  auto next = [&jti] { return "jti-" + std::to_string(++jti); };

  // Valid ES384 and RS384 tokens.
  const HttpTestResponse es =
      s.Call(MakeJwt(Header("ES384", "ec-1"), Claims(kService, next()), &Ec(), "ES384"));
  BOOST_TEST(es.status == 200, es.error << es.body);
  const HttpTestResponse rs =
      s.Call(MakeJwt(Header("RS384", "rsa-1"), Claims(kService, next()), &Rsa(), "RS384"));
  BOOST_TEST(rs.status == 200, rs.error << rs.body);

  const HttpTestResponse none = s.Call("");
  BOOST_TEST(none.status == 401);
  BOOST_TEST(s.LastReason() == "missing_token");
  BOOST_TEST(none.body.find("missing") == std::string::npos);

  struct Case {
    std::string name;
    std::string token;
    std::string reason;
  };
  const TestKey stranger = TestKey::Generate(TestKey::Type::kEcP384);
  const std::string replay =
      MakeJwt(Header("ES384", "ec-1"), Claims(kService, next()), &Ec(), "ES384");
  BOOST_REQUIRE(s.Call(replay).status == 200);
  const std::vector<Case> cases = {
      {"alg none", MakeJwt(Header("none", "ec-1"), Claims(kService, next()), nullptr, "none"),
       "algorithm_refused"},
      {"HS256 with the public key as secret",
       MakeJwt(Header("HS256", "rsa-1"), Claims(kService, next()), nullptr, "HS256",
               Rsa().PublicPem()),
       "algorithm_refused"},
      {"RS256 when only RS384 is allowed",
       MakeJwt(Header("RS256", "rsa-1"), Claims(kService, next()), &Rsa(), "RS256"),
       "algorithm_not_allowed"},
      {"expired",
       MakeJwt(Header("ES384", "ec-1"), Claims(kService, next(), kNow - 200, kNow - 1), &Ec(),
               "ES384"),
       "expired"},
      {"future iat",
       MakeJwt(Header("ES384", "ec-1"), Claims(kService, next(), kNow + 120, kNow + 240), &Ec(),
               "ES384"),
       "not_yet_valid"},
      {"over-long lifetime",
       MakeJwt(Header("ES384", "ec-1"), Claims(kService, next(), kNow - 5, kNow + 3600), &Ec(),
               "ES384"),
       "lifetime_too_long"},
      {"wrong aud",
       MakeJwt(Header("ES384", "ec-1"), Claims("/cds-services/other", next()), &Ec(), "ES384"),
       "wrong_audience"},
      {"unknown iss",
       MakeJwt(Header("ES384", "ec-1"),
               Claims(kService, next(), kNow - 5, kNow + 120, "https://evil.example"), &Ec(),
               "ES384"),
       "unknown_issuer"},
      {"bad signature",
       MakeJwt(Header("ES384", "ec-1"), Claims(kService, next()), &stranger, "ES384"),
       "bad_signature"},
      {"unknown kid",
       MakeJwt(Header("ES384", "nobody"), Claims(kService, next()), &stranger, "ES384"),
       "unknown_key"},
      {"replayed jti", replay, "replayed_jti"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const HttpTestResponse response = s.Call(c.token);
      ExpectBare401(response, none);
      BOOST_TEST(s.LastReason() == c.reason);
    }
  }
  // The unknown kid made exactly one re-fetch, of the allowlisted jku.
  BOOST_TEST(s.jwks_server.requests.load() == 1);
}

// Issue #6 acceptance 1: a jku off the allowlist gets 401 and no request.
BOOST_AUTO_TEST_CASE(non_allowlisted_jku_is_401_without_any_outbound_request) {
  SecureServer s;
  cds::testing::SilentListener attacker;
  const std::string evil = "http://127.0.0.1:" + std::to_string(attacker.port()) + "/jwks.json";
  const TestKey forged = TestKey::Generate(TestKey::Type::kEcP384);
  for (const std::string& kid : {std::string("ec-1"), std::string("forged")}) {
    const std::string token = MakeJwt(Header("ES384", kid, R"(,"jku":")" + evil + "\""),
                                      Claims(kService, "jku-" + kid), &forged, "ES384");
    const HttpTestResponse response = s.Call(token);
    BOOST_TEST(response.status == 401);
    BOOST_TEST(s.LastReason() == "jku_not_allowed");
  }
  BOOST_TEST(!attacker.HadConnection(std::chrono::milliseconds(300)));
  BOOST_TEST(s.jwks_server.requests.load() == 0);
}

BOOST_AUTO_TEST_CASE(key_rotation_is_picked_up_from_the_allowlisted_jku) {
  SecureServer s;
  const TestKey rotated = TestKey::Generate(TestKey::Type::kEcP384);
  s.jwks_server.Serve(cds::testing::JwkSetOf(rotated.PublicJwk("ec-2026")));
  const std::string token = MakeJwt(Header("ES384", "ec-2026", R"(,"jku":")" + s.jku + "\""),
                                    Claims(kService, "rotated-1"), &rotated, "ES384");
  const HttpTestResponse response = s.Call(token);
  BOOST_TEST(response.status == 200, response.error << response.body);
  BOOST_TEST(s.jwks_server.requests.load() == 1);
}

BOOST_AUTO_TEST_CASE(discovery_and_feedback_need_their_own_audience_and_ops_stay_open) {
  SecureServer s;
  BOOST_TEST(s.Send("GET", "/cds-services", "").status == 401);
  const HttpTestResponse discovery =
      s.Send("GET", "/cds-services",
             MakeJwt(Header("ES384", "ec-1"), Claims("/cds-services", "d1"), &Ec(), "ES384"));
  BOOST_TEST(discovery.status == 200, discovery.body);
  // A service token does not open discovery.
  BOOST_TEST(s.Send("GET", "/cds-services",
                    MakeJwt(Header("ES384", "ec-1"), Claims(kService, "d2"), &Ec(), "ES384"))
                 .status == 401);
  const std::string feedback =
      R"({"feedback":[{"card":"c","outcome":"accepted","outcomeTimestamp":"2026-11-22T12:00:00Z","acceptedSuggestions":[{"id":"s"}]}]})";
  BOOST_TEST(s.Send("POST", kService + "/feedback", "", feedback).status == 401);
  const HttpTestResponse fb =
      s.Send("POST", kService + "/feedback",
             MakeJwt(Header("ES384", "ec-1"), Claims(kService + "/feedback", "f1"), &Ec(), "ES384"),
             feedback);
  BOOST_TEST((fb.status == 200 || fb.status == 400), fb.status << fb.body);
  BOOST_TEST(s.LastReason() == "ok");
  // Operators' endpoints stay open.
  BOOST_TEST(s.Send("GET", "/healthz", "").status == 200);
  BOOST_TEST(s.Send("GET", "/readyz", "").status == 200);
}

BOOST_AUTO_TEST_CASE(cors_preflight_on_every_cds_endpoint_and_headers_on_every_response) {
  SecureServer s;
  for (const std::string& path : {std::string("/cds-services"), kService, kService + "/feedback"}) {
    BOOST_TEST_CONTEXT(path) {
      const HttpTestResponse preflight =
          s.Send("OPTIONS", path, "", "",
                 {{"Origin", kOrigin},
                  {"Access-Control-Request-Method", "POST"},
                  {"Access-Control-Request-Headers", "authorization, content-type"}});
      BOOST_TEST(preflight.status == 204);
      BOOST_TEST(H(preflight, "access-control-allow-origin") == kOrigin);
      BOOST_TEST(H(preflight, "access-control-allow-methods") == "GET, POST, OPTIONS");
      BOOST_TEST(H(preflight, "access-control-allow-headers") == "Authorization, Content-Type");
      BOOST_TEST(H(preflight, "vary") == "Origin");
      const HttpTestResponse other =
          s.Send("OPTIONS", path, "", "", {{"Origin", "https://evil.example"}});
      BOOST_TEST(other.status == 204);
      BOOST_TEST(other.headers.count("access-control-allow-origin") == 0u);
      BOOST_TEST(other.headers.count("access-control-allow-methods") == 0u);
    }
  }
  // POST responses carry it too: success, 401 and 400.
  const std::string token =
      MakeJwt(Header("ES384", "ec-1"), Claims(kService, "cors-1"), &Ec(), "ES384");
  const HttpTestResponse ok =
      s.Send("POST", kService, token, SampleRequest(), {{"Origin", kOrigin}});
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(H(ok, "access-control-allow-origin") == kOrigin);
  const HttpTestResponse unauthorized =
      s.Send("POST", kService, "", SampleRequest(), {{"Origin", kOrigin}});
  BOOST_TEST(unauthorized.status == 401);
  BOOST_TEST(H(unauthorized, "access-control-allow-origin") == kOrigin);
  const std::string token2 =
      MakeJwt(Header("ES384", "ec-1"), Claims(kService, "cors-2"), &Ec(), "ES384");
  const HttpTestResponse bad = s.Send("POST", kService, token2, "{", {{"Origin", kOrigin}});
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(H(bad, "access-control-allow-origin") == kOrigin);
  // The adapter's own 413 as well; never "*".
  const cds::testing::StreamingResult too_large = cds::testing::SendStreaming(
      s.port,
      "POST " + kService + " HTTP/1.1\r\nHost: x\r\nOrigin: " + kOrigin +
          "\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n",
      99999999);
  BOOST_TEST(too_large.status == 413);
  BOOST_TEST(
      too_large.response.find("Access-Control-Allow-Origin: " + kOrigin) != std::string::npos,
      too_large.response.substr(0, 300));
  const HttpTestResponse evil =
      s.Send("POST", kService, "", "{}", {{"Origin", "https://evil.example"}});
  BOOST_TEST(evil.headers.count("access-control-allow-origin") == 0u);
}

// Issue #6 acceptance 4 (in process): a body announced over the limit gets
// 413 after at most a few read chunks, while the client is still sending.
BOOST_AUTO_TEST_CASE(content_length_over_the_limit_is_413_without_reading_the_body) {
  SecureServer s;
  constexpr std::size_t k50MB = 50u * 1024 * 1024;
  const std::string head = "POST " + kService +
                           " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Content-Length: " +
                           std::to_string(k50MB) + "\r\n\r\n";
  const auto started = std::chrono::steady_clock::now();
  const cds::testing::StreamingResult result = cds::testing::SendStreaming(s.port, head, k50MB);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  BOOST_TEST(result.status == 413, result.error << result.response.substr(0, 200));
  // The server stopped reading: far less than the body went out (socket
  // buffers on both sides take a few MB at most).
  BOOST_TEST(result.body_sent < 16u * 1024 * 1024, "sent " << result.body_sent);
  BOOST_TEST_MESSAGE("50 MB Content-Length: 413 after " << ms << " ms, " << result.body_sent
                                                        << " body bytes accepted by the kernel");
  BOOST_TEST(s.Send("GET", "/healthz", "").status == 200);
}

BOOST_AUTO_TEST_CASE(chunked_body_over_the_limit_is_cut_off) {
  SecureServer s(256 * 1024);
  const std::string head = "POST " + kService +
                           " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n";
  const cds::testing::StreamingResult result =
      cds::testing::SendStreaming(s.port, head, 50u * 1024 * 1024, true, 16 * 1024);
  BOOST_TEST(result.status == 413, result.error << result.response.substr(0, 200));
  BOOST_TEST(result.body_sent < 16u * 1024 * 1024, "sent " << result.body_sent);
  // A chunked body within the limit still works (auth first: 401, not 413).
  const cds::testing::StreamingResult small =
      cds::testing::SendStreaming(s.port, head, 10 * 1024, true, 1024);
  BOOST_TEST(small.status == 401, small.response.substr(0, 200));
}

BOOST_AUTO_TEST_CASE(ten_thousand_deep_json_is_400_fast) {
  SecureServer s(1024 * 1024);
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  const std::string deep_object = [] {
    std::string text;
    for (int i = 0; i < 10000; ++i) text += "{\"a\":";
    text += "1";
    text += std::string(10000, '}');
    return text;
  }();
  int jti = 0;
  for (const std::string& body : {deep, deep_object}) {
    const std::string token = MakeJwt(
        Header("ES384", "ec-1"), Claims(kService, "deep-" + std::to_string(++jti)), &Ec(), "ES384");
    const auto started = std::chrono::steady_clock::now();
    const HttpTestResponse response = s.Send("POST", kService, token, body);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    BOOST_TEST(response.status == 400, response.body.substr(0, 200));
    BOOST_TEST(ms < 1000);
  }
}

BOOST_AUTO_TEST_CASE(wrong_methods_and_media_types_with_auth) {
  SecureServer s;
  int jti = 0;
  auto token = [&jti](const std::string& path) {
    return MakeJwt(Header("ES384", "ec-1"), Claims(path, "m-" + std::to_string(++jti)), &Ec(),
                   "ES384");
  };
  BOOST_TEST(s.Send("POST", "/cds-services", token("/cds-services"), "{}").status == 405);
  BOOST_TEST(s.Send("GET", kService, token(kService)).status == 405);
  BOOST_TEST(s.Send("PUT", kService + "/feedback", token(kService + "/feedback"), "{}").status ==
             405);
  BOOST_TEST(s.Send("DELETE", "/healthz", "").status == 405);
  const HttpTestResponse text =
      SendRaw(s.port, FormatRequest("POST", kService, SampleRequest(),
                                    {{"Content-Type", "text/plain"},
                                     {"Authorization", "Bearer " + token(kService)}}));
  BOOST_TEST(text.status == 415);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
