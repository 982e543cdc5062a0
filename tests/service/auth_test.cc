// Issue #6 acceptance 1 at the unit level: the Authenticator with keys minted
// at test time (tests/support/jwt_mint.h), a fixed clock and a fake JWK Set
// fetcher that counts what it is asked for. The same cases run over a real
// listener in security_http_test.cc.

#include "service/auth/auth.h"

#include <rapidjson/document.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "common/json_document.h"
#include "common/json_internal.h"
#include "service/app/config.h"
#include "service/auth/jwt.h"
#include "service/auth/jwt_key.h"
#include "tests/support/jwt_mint.h"

namespace cds::service {
namespace {

using testing::MakeJwt;
using testing::TestKey;

constexpr std::int64_t kNow = 1800000000;
const std::string kIss = "https://ehr.example/auth";
const std::string kBase = "https://cds.example.org/magcds";
const std::string kServicePath = "/cds-services/magnesium-advisor";
const std::string kJku = "https://ehr.example/.well-known/jwks.json";

// One key pair of each kind for the whole test binary (RSA generation is slow).
const TestKey& Ec() {
  static const TestKey key = TestKey::Generate(TestKey::Type::kEcP384);
  return key;
}
const TestKey& Rsa() {
  static const TestKey key = TestKey::Generate(TestKey::Type::kRsa2048);
  return key;
}

// A private directory for the test's JWK Set files, removed at exit.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("magcds-auth-test-" + std::to_string(::getpid()));
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

std::string WriteTemp(const std::string& name, const std::string& text) {
  static const TempDir temp;
  const std::filesystem::path& dir = temp.path;
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

struct Claims {
  std::string iss = kIss;
  std::string aud = "\"" + kBase + kServicePath + "\"";  // JSON value
  std::int64_t iat = kNow - 10;
  std::int64_t exp = kNow + 240;
  std::string jti;
  std::string extra;  // more members, e.g. ,"nbf":1

  std::string Json() const {
    return R"({"iss":")" + iss + R"(","sub":"client","aud":)" + aud + R"(,"iat":)" +
           std::to_string(iat) + R"(,"exp":)" + std::to_string(exp) + R"(,"jti":")" + jti + "\"" +
           extra + "}";
  }
};

Claims WithJti(const std::string& jti) {
  Claims claims;
  claims.jti = jti;
  return claims;
}

Claims WithIss(const std::string& iss) {
  Claims claims;
  claims.iss = iss;
  return claims;
}

std::string Header(const std::string& alg, const std::string& kid, const std::string& extra = "") {
  return R"({"alg":")" + alg + R"(","typ":"JWT","kid":")" + kid + "\"" + extra + "}";
}

struct Fixture {
  std::atomic<std::int64_t> now{kNow};
  std::mutex mutex;
  std::map<std::string, std::string> served;  // jku URL -> JWK Set
  std::vector<std::string> fetched;
  int jti_counter = 0;
  std::unique_ptr<Authenticator> auth;
  std::vector<AuthOutcome> outcomes;

  explicit Fixture(std::function<void(AuthConfig&)> adjust = nullptr) {
    AuthConfig config;
    config.required = true;
    AuthIssuerConfig issuer;
    issuer.iss = kIss;
    issuer.jwks_file = WriteTemp(
        "jwks.json", testing::JwkSetOf(Ec().PublicJwk("ec-1"), Rsa().PublicJwk("rsa-1", "RS384")));
    issuer.jku = {kJku};
    config.issuers.push_back(issuer);
    if (adjust) adjust(config);
    AuthenticatorOptions options;
    options.config = config;
    options.public_base_url = kBase;
    options.clock = [this] { return now.load(); };
    options.fetch = [this](const std::string& url, JwksFetchDone done) {
      std::string body;
      {
        std::lock_guard<std::mutex> lock(mutex);
        fetched.push_back(url);
        const auto it = served.find(url);
        if (it == served.end()) return done(Error{ErrorCode::kUpstreamFailure, "HTTP 404"});
        body = it->second;
      }
      done(body);
    };
    options.on_outcome = [this](const AuthOutcome& outcome) { outcomes.push_back(outcome); };
    options.log_rejections = false;
    auto created = Authenticator::Create(std::move(options));
    BOOST_REQUIRE_MESSAGE(created, (created ? "" : created.error().message));
    auth = std::move(created).value();
  }

  std::string NextJti() { return "jti-" + std::to_string(++jti_counter); }

  // A token as a well-behaved client makes it, then adjusted.
  std::string Token(const std::string& alg = "ES384", Claims claims = Claims(),
                    const std::string& kid = "", const std::string& header_extra = "") {
    if (claims.jti.empty()) claims.jti = NextJti();
    const TestKey& key = alg[0] == 'E' ? Ec() : Rsa();
    const std::string use_kid = !kid.empty() ? kid : (alg[0] == 'E' ? "ec-1" : "rsa-1");
    return MakeJwt(Header(alg, use_kid, header_extra), claims.Json(), &key, alg);
  }

  AuthOutcome Check(const std::string& authorization, const std::string& path = kServicePath) {
    std::optional<AuthOutcome> result;
    auth->Authenticate(path, authorization, [&](AuthOutcome outcome) { result = outcome; });
    BOOST_REQUIRE_MESSAGE(result, "the fake fetcher is synchronous: an answer is due at once");
    return *result;
  }
  AuthOutcome Bearer(const std::string& token, const std::string& path = kServicePath) {
    return Check("Bearer " + token, path);
  }
};

std::string ReasonOf(const AuthOutcome& outcome) {
  return outcome.ok() ? "ok" : AuthFailureName(*outcome.failure);
}

#define EXPECT_REASON(outcome, reason) BOOST_TEST(ReasonOf(outcome) == (reason))

BOOST_AUTO_TEST_SUITE(Auth)

BOOST_AUTO_TEST_CASE(valid_es384_and_rs384_tokens_pass) {
  Fixture f;
  const AuthOutcome es = f.Bearer(f.Token("ES384"));
  EXPECT_REASON(es, "ok");
  BOOST_TEST(es.iss == kIss);
  EXPECT_REASON(f.Bearer(f.Token("RS384")), "ok");
  BOOST_TEST(f.fetched.empty());  // the file's keys were enough
}

BOOST_AUTO_TEST_CASE(missing_or_non_bearer_authorization_is_refused) {
  Fixture f;
  EXPECT_REASON(f.Check(""), "missing_token");
  EXPECT_REASON(f.Check("Basic dXNlcjpwYXNz"), "missing_token");
  EXPECT_REASON(f.Check("Bearer"), "missing_token");
  EXPECT_REASON(f.Check("Bearer a b"), "missing_token");
  EXPECT_REASON(f.Check("Bearer " + f.Token() + ", Bearer " + f.Token()), "missing_token");
  EXPECT_REASON(f.Check("bearer " + f.Token()), "ok");  // the scheme is case-insensitive
}

BOOST_AUTO_TEST_CASE(alg_none_is_refused) {
  Fixture f;
  Claims claims;
  claims.jti = f.NextJti();
  const std::string token = MakeJwt(Header("none", "ec-1"), claims.Json(), nullptr, "none");
  EXPECT_REASON(f.Bearer(token), "algorithm_refused");
  // Also with a signature part appended, and with lower-case "None".
  const std::string none2 = MakeJwt(Header("None", "ec-1"), claims.Json(), nullptr, "none");
  EXPECT_REASON(f.Bearer(none2), "algorithm_refused");
}

BOOST_AUTO_TEST_CASE(hs256_signed_with_the_public_key_as_secret_is_refused) {
  Fixture f;
  for (const TestKey* key : {&Ec(), &Rsa()}) {
    Claims claims;
    claims.jti = f.NextJti();
    const std::string token = MakeJwt(Header("HS256", key == &Ec() ? "ec-1" : "rsa-1"),
                                      claims.Json(), nullptr, "HS256", key->PublicPem());
    EXPECT_REASON(f.Bearer(token), "algorithm_refused");
  }
}

BOOST_AUTO_TEST_CASE(rs256_when_only_rs384_is_allowed_is_refused) {
  Fixture f;
  // Validly signed by the registered RSA key, but with SHA-256.
  EXPECT_REASON(f.Bearer(f.Token("RS256")), "algorithm_not_allowed");
  // Allowed for the issuer, the key's own "alg":"RS384" still keeps it out.
  Fixture g([](AuthConfig& c) { c.issuers[0].algorithms = {"RS256", "RS384", "ES384"}; });
  EXPECT_REASON(g.Bearer(g.Token("RS256")), "unknown_key");
}

BOOST_AUTO_TEST_CASE(expired_token_is_refused) {
  Fixture f;
  Claims claims;
  claims.iat = kNow - 300;
  claims.exp = kNow;  // exp == now has passed
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "expired");
  claims.exp = kNow - 1;
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "expired");
}

BOOST_AUTO_TEST_CASE(iat_in_the_future_beyond_the_skew_is_refused) {
  Fixture f;
  Claims claims;
  claims.iat = kNow + 61;
  claims.exp = kNow + 200;
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "not_yet_valid");
  claims.iat = kNow + 60;  // within the 60 s skew
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "ok");
  Claims nbf;
  nbf.extra = R"(,"nbf":)" + std::to_string(kNow + 120);
  EXPECT_REASON(f.Bearer(f.Token("ES384", nbf)), "not_yet_valid");
}

BOOST_AUTO_TEST_CASE(lifetime_over_the_maximum_is_refused) {
  Fixture f;
  Claims claims;
  claims.iat = kNow - 10;
  claims.exp = claims.iat + 301;
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "lifetime_too_long");
  claims.exp = claims.iat + 300;
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "ok");
  claims.exp = claims.iat;  // not after iat
  claims.iat = kNow + 5;
  claims.exp = kNow + 5;
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "lifetime_too_long");
  Fixture longer([](AuthConfig& c) { c.issuers[0].max_lifetime_seconds = 3600; });
  Claims hour;
  hour.exp = hour.iat + 3600;
  EXPECT_REASON(longer.Bearer(longer.Token("ES384", hour)), "ok");
}

BOOST_AUTO_TEST_CASE(audience_must_be_the_called_endpoint) {
  Fixture f;
  Claims claims;
  claims.aud = "\"" + kBase + "/cds-services/other-service\"";
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "wrong_audience");
  claims.aud = "\"https://evil.example/magcds" + kServicePath + "\"";
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "wrong_audience");
  // Discovery's aud is {base}/cds-services; a service aud does not open it.
  EXPECT_REASON(f.Bearer(f.Token(), "/cds-services"), "wrong_audience");
  Claims discovery;
  discovery.aud = "\"" + kBase + "/cds-services/\"";  // trailing slash removed
  EXPECT_REASON(f.Bearer(f.Token("ES384", discovery), "/cds-services"), "ok");
  Claims array;
  array.aud = "[\"https://other.example\", \"" + kBase + kServicePath + "\"]";
  EXPECT_REASON(f.Bearer(f.Token("ES384", array)), "ok");
  // Feedback: its own URL; the service URL only when the issuer allows it (§11.5).
  Claims feedback;
  feedback.aud = "\"" + kBase + kServicePath + "/feedback\"";
  EXPECT_REASON(f.Bearer(f.Token("ES384", feedback), kServicePath + "/feedback"), "ok");
  EXPECT_REASON(f.Bearer(f.Token(), kServicePath + "/feedback"), "wrong_audience");
  Fixture lenient([](AuthConfig& c) { c.issuers[0].feedback_accepts_service_audience = true; });
  EXPECT_REASON(lenient.Bearer(lenient.Token(), kServicePath + "/feedback"), "ok");
}

BOOST_AUTO_TEST_CASE(unknown_issuer_is_refused) {
  Fixture f;
  Claims claims;
  claims.iss = "https://attacker.example";
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "unknown_issuer");
  claims.iss = kIss + "/";  // exact match only
  EXPECT_REASON(f.Bearer(f.Token("ES384", claims)), "unknown_issuer");
}

BOOST_AUTO_TEST_CASE(bad_signature_is_refused) {
  Fixture f;
  std::string token = f.Token("ES384");
  // Another key's signature over the same input.
  const TestKey other = TestKey::Generate(TestKey::Type::kEcP384);
  const std::string input = token.substr(0, token.rfind('.'));
  EXPECT_REASON(f.Bearer(input + "." + Base64UrlEncode(other.Sign("ES384", input))),
                "bad_signature");
  // A changed payload under the original signature.
  Claims claims;
  claims.jti = f.NextJti();
  const std::string good = f.Token("RS384", claims);
  claims.iat += 1;
  const std::string forged_input =
      Base64UrlEncode(Header("RS384", "rsa-1")) + "." + Base64UrlEncode(claims.Json());
  EXPECT_REASON(f.Bearer(forged_input + good.substr(good.rfind('.'))), "bad_signature");
  // A truncated ES384 signature.
  EXPECT_REASON(f.Bearer(input + "." + Base64UrlEncode(std::string(95, 'x'))), "bad_signature");
}

BOOST_AUTO_TEST_CASE(unknown_kid_reloads_its_sources_once_rate_limited) {
  Fixture f;
  const TestKey rotated = TestKey::Generate(TestKey::Type::kEcP384);
  // Not in the file, not served at the jku: re-read + one fetch, then 401.
  EXPECT_REASON(f.Bearer(MakeJwt(Header("ES384", "new-1"), WithJti("a").Json(), &rotated, "ES384")),
                "unknown_key");
  BOOST_TEST(f.fetched.size() == 1u);
  // Within jwksMinRefreshSeconds nothing is fetched again.
  EXPECT_REASON(f.Bearer(MakeJwt(Header("ES384", "new-1"), WithJti("b").Json(), &rotated, "ES384")),
                "unknown_key");
  BOOST_TEST(f.fetched.size() == 1u);
  // The client rotates its keys and publishes them; after the interval the
  // re-fetch finds the new kid.
  f.served[kJku] = testing::JwkSetOf(rotated.PublicJwk("new-1"));
  f.now += 61;
  Claims later;
  later.iat = f.now - 5;
  later.exp = f.now + 100;
  later.jti = "c";
  EXPECT_REASON(f.Bearer(MakeJwt(Header("ES384", "new-1"), later.Json(), &rotated, "ES384")), "ok");
  BOOST_TEST(f.fetched.size() == 2u);
  BOOST_TEST(f.fetched.back() == kJku);
}

BOOST_AUTO_TEST_CASE(jku_off_the_allowlist_is_never_fetched) {
  Fixture f;
  const std::string evil = "https://attacker.example/jwks.json";
  f.served[evil] = testing::JwkSetOf(Ec().PublicJwk("ec-1"));
  EXPECT_REASON(f.Bearer(f.Token("ES384", Claims(), "", R"(,"jku":")" + evil + "\"")),
                "jku_not_allowed");
  // Near misses of the allowlisted URL are not it either.
  EXPECT_REASON(f.Bearer(f.Token("ES384", Claims(), "", R"(,"jku":")" + kJku + "?x=1\"")),
                "jku_not_allowed");
  EXPECT_REASON(f.Bearer(f.Token("ES384", Claims(), "",
                                 R"(,"jku":"http://ehr.example/.well-known/jwks.json")")),
                "jku_not_allowed");
  BOOST_TEST(f.fetched.empty());
}

BOOST_AUTO_TEST_CASE(allowlisted_jku_is_fetched_and_used) {
  Fixture f;
  const TestKey published = TestKey::Generate(TestKey::Type::kEcP384);
  f.served[kJku] = testing::JwkSetOf(published.PublicJwk("pub-1"));
  Claims claims;
  claims.jti = "j1";
  const std::string token = MakeJwt(Header("ES384", "pub-1", R"(,"jku":")" + kJku + "\""),
                                    claims.Json(), &published, "ES384");
  EXPECT_REASON(f.Bearer(token), "ok");
  BOOST_TEST(f.fetched.size() == 1u);
  // A token naming the jku only looks in that set, not in the file.
  EXPECT_REASON(f.Bearer(f.Token("ES384", Claims(), "", R"(,"jku":")" + kJku + "\"")),
                "unknown_key");
}

// Issue #13: an issuer with pinned keys and no jku allowlist (how hospitals
// without egress trust the CDS Hooks sandbox) accepts tokens that carry a jku
// header, verifies them with the pinned file only and never fetches.
BOOST_AUTO_TEST_CASE(pinned_issuer_ignores_the_jku_header_and_never_fetches) {
  Fixture f([](AuthConfig& config) { config.issuers[0].jku.clear(); });
  const std::string elsewhere = "https://sandbox.example/.well-known/jwks.json";
  const TestKey other = TestKey::Generate(TestKey::Type::kEcP384);
  f.served[elsewhere] = testing::JwkSetOf(other.PublicJwk("ec-1"));
  EXPECT_REASON(f.Bearer(f.Token("ES384", Claims(), "", R"(,"jku":")" + elsewhere + "\"")), "ok");
  EXPECT_REASON(f.Bearer(f.Token("RS384", Claims(), "", R"(,"jku":")" + kJku + "\"")), "ok");
  // Another key under the pinned kid: the header's set is not consulted.
  EXPECT_REASON(f.Bearer(MakeJwt(Header("ES384", "ec-1", R"(,"jku":")" + elsewhere + "\""),
                                 WithJti("forged").Json(), &other, "ES384")),
                "bad_signature");
  // An unknown kid re-reads the file, nothing else.
  EXPECT_REASON(f.Bearer(MakeJwt(Header("ES384", "other", R"(,"jku":")" + elsewhere + "\""),
                                 WithJti("unknown").Json(), &other, "ES384")),
                "unknown_key");
  BOOST_TEST(f.fetched.empty());
}

// Issue #13: with an allowlist, a jku that cannot be fetched falls back to the
// pinned file, and the failure (rate-limited re-fetch) never blocks the issuer.
BOOST_AUTO_TEST_CASE(failed_jku_fetch_falls_back_to_the_pinned_file) {
  Fixture f;  // kJku allowlisted, nothing served there (404)
  const std::string jku = R"(,"jku":")" + kJku + "\"";
  EXPECT_REASON(f.Bearer(f.Token("ES384", Claims(), "", jku)), "ok");
  BOOST_TEST(f.fetched.size() == 1u);
  // Within jwksMinRefreshSeconds: no new fetch, the pinned keys still serve.
  EXPECT_REASON(f.Bearer(f.Token("RS384", Claims(), "", jku)), "ok");
  BOOST_TEST(f.fetched.size() == 1u);
  const TestKey other = TestKey::Generate(TestKey::Type::kEcP384);
  EXPECT_REASON(
      f.Bearer(MakeJwt(Header("ES384", "ec-1", jku), WithJti("forged").Json(), &other, "ES384")),
      "bad_signature");
  // Once the jku answers, its set is authoritative again.
  const TestKey published = TestKey::Generate(TestKey::Type::kEcP384);
  f.served[kJku] = testing::JwkSetOf(published.PublicJwk("pub-1"));
  f.now += 61;
  Claims later;
  later.iat = f.now - 5;
  later.exp = f.now + 100;
  later.jti = "after";
  EXPECT_REASON(f.Bearer(MakeJwt(Header("ES384", "pub-1", jku), later.Json(), &published, "ES384")),
                "ok");
  BOOST_TEST(f.fetched.size() == 2u);
}

BOOST_AUTO_TEST_CASE(replayed_jti_is_refused_until_it_expires) {
  Fixture f;
  const std::string token = f.Token("ES384");
  EXPECT_REASON(f.Bearer(token), "ok");
  EXPECT_REASON(f.Bearer(token), "replayed_jti");
  // Same jti, freshly signed by the other key: still a replay.
  Claims same;
  same.jti = "jti-1";
  EXPECT_REASON(f.Bearer(f.Token("RS384", same)), "replayed_jti");
  // An unsigned copy does not burn a jti: only verified tokens are recorded.
  Claims fresh;
  fresh.jti = "never-verified";
  const std::string bad = f.Token("ES384", fresh);
  EXPECT_REASON(
      f.Bearer(bad.substr(0, bad.rfind('.')) + "." + Base64UrlEncode(std::string(96, 'a'))),
      "bad_signature");
  EXPECT_REASON(f.Bearer(f.Token("ES384", fresh)), "ok");
}

BOOST_AUTO_TEST_CASE(replay_cache_is_bounded_and_fails_closed) {
  Fixture f([](AuthConfig& c) { c.jti_cache_size = 2; });
  EXPECT_REASON(f.Bearer(f.Token()), "ok");
  EXPECT_REASON(f.Bearer(f.Token()), "ok");
  EXPECT_REASON(f.Bearer(f.Token()), "replay_cache_full");
  // Entries leave at exp + skew (240 + 60 s after kNow): room again.
  f.now += 301;
  Claims later;
  later.iat = f.now - 5;
  later.exp = f.now + 100;
  EXPECT_REASON(f.Bearer(f.Token("ES384", later)), "ok");
}

BOOST_AUTO_TEST_CASE(malformed_tokens_are_refused) {
  Fixture f;
  const std::string good = f.Token();
  for (const std::string& token :
       {std::string("abc"), std::string("a.b"), std::string("a.b.c.d"), good + ".x",
        std::string("!!!.e30."), good.substr(1), std::string(20000, 'a'),
        MakeJwt(R"({"alg":"ES384","kid":"ec-1","typ":"JWT","crit":["exp"]})", WithJti("q").Json(),
                &Ec(), "ES384"),
        MakeJwt(R"({"alg":"ES384","alg":"none","kid":"ec-1"})", WithJti("q").Json(), &Ec(),
                "ES384"),
        MakeJwt(R"({"alg":"ES384","kid":"ec-1","typ":"JOSE+JSON"})", WithJti("q").Json(), &Ec(),
                "ES384"),
        MakeJwt(Header("ES384", "ec-1"),
                R"({"iss":")" + kIss + R"(","aud":1,"iat":1,"exp":2,"jti":"x"})", &Ec(), "ES384"),
        MakeJwt(Header("ES384", "ec-1"), R"({"iss":")" + kIss + R"(","aud":"a","exp":2,"jti":"x"})",
                &Ec(), "ES384"),
        MakeJwt(Header("ES384", "ec-1"),
                R"({"iss":")" + kIss + R"(","aud":"a","iat":1,"exp":"2","jti":"x"})", &Ec(),
                "ES384"),
        MakeJwt(Header("ES384", "ec-1"), R"([1,2])", &Ec(), "ES384")}) {
    const AuthOutcome outcome = f.Bearer(token);
    BOOST_TEST((ReasonOf(outcome) == "malformed_token"), ReasonOf(outcome)
                                                             << " for " << token.substr(0, 80));
  }
}

BOOST_AUTO_TEST_CASE(rejections_carry_no_token_and_outcomes_are_reported) {
  Fixture f;
  const std::string token = f.Token("ES384", WithIss("https://nobody.example"));
  const AuthOutcome outcome = f.Bearer(token);
  EXPECT_REASON(outcome, "unknown_issuer");
  BOOST_TEST(outcome.detail.find(token) == std::string::npos);
  BOOST_TEST(outcome.detail.find(token.substr(token.rfind('.') + 1)) == std::string::npos);
  BOOST_TEST(f.outcomes.size() == 1u);
}

BOOST_AUTO_TEST_CASE(cds_endpoint_paths) {
  BOOST_TEST(CdsEndpointPath("/cds-services").value_or("-") == "/cds-services");
  BOOST_TEST(CdsEndpointPath("/cds-services/").value_or("-") == "/cds-services");
  BOOST_TEST(CdsEndpointPath("/cds-services/x").value_or("-") == "/cds-services/x");
  BOOST_TEST(CdsEndpointPath("/cds-services/x/feedback/").value_or("-") ==
             "/cds-services/x/feedback");
  BOOST_TEST(!CdsEndpointPath("/cds-services/x/other"));
  BOOST_TEST(!CdsEndpointPath("/healthz"));
  BOOST_TEST(!CdsEndpointPath("/metrics"));
}

BOOST_AUTO_TEST_CASE(config_errors_name_the_problem) {
  AuthenticatorOptions options;
  options.clock = [] { return kNow; };
  AuthIssuerConfig issuer;
  issuer.iss = kIss;
  issuer.jwks_file = "/nonexistent/jwks.json";
  options.config.issuers.push_back(issuer);
  auto missing = Authenticator::Create(options);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().message.find("/nonexistent/jwks.json") != std::string::npos);
  options.config.issuers[0].jwks_file =
      WriteTemp("empty.json", R"({"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]})");
  auto no_keys = Authenticator::Create(options);
  BOOST_REQUIRE(!no_keys);
  BOOST_TEST(no_keys.error().message.find("no usable signature key") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Jwt)

BOOST_AUTO_TEST_CASE(base64url_is_strict) {
  BOOST_TEST(Base64UrlDecode("").value_or("?") == "");
  BOOST_TEST(Base64UrlDecode("YQ").value_or("?") == "a");
  BOOST_TEST(Base64UrlDecode("YWI").value_or("?") == "ab");
  BOOST_TEST(Base64UrlDecode("-_8").value_or("?") == "\xfb\xff");
  BOOST_TEST(!Base64UrlDecode("YQ=="));  // no padding
  BOOST_TEST(!Base64UrlDecode("YR"));    // non-zero trailing bits
  BOOST_TEST(!Base64UrlDecode("Y"));     // impossible length
  BOOST_TEST(!Base64UrlDecode("a+b/"));  // base64, not base64url
  for (const std::string text : {"", "a", "ab", "abc", "\x00\xff\x10"}) {
    BOOST_TEST(Base64UrlDecode(Base64UrlEncode(text)).value_or("?") == text);
  }
}

BOOST_AUTO_TEST_CASE(jwk_sets_skip_unusable_keys_and_refuse_duplicates) {
  const std::string ec = Ec().PublicJwk("ec-1");
  auto set = ParseJwkSet(testing::JwkSetOf(ec, R"({"kty":"oct","k":"AAAA","kid":"sym"})"));
  BOOST_REQUIRE(set);
  BOOST_TEST(set->keys.size() == 1u);
  BOOST_TEST(set->skipped.size() == 1u);
  BOOST_TEST(set->Find("ec-1") != nullptr);
  BOOST_TEST(!ParseJwkSet(testing::JwkSetOf(ec, ec)));
  BOOST_TEST(!ParseJwkSet("[]"));
  BOOST_TEST(!ParseJwkSet("{}"));
  // A point off the curve, a private key, a small RSA modulus are all skipped.
  std::string off_curve = ec;
  const std::size_t y = off_curve.find("\"y\":\"") + 5;
  off_curve[y] = off_curve[y] == 'A' ? 'B' : 'A';
  auto skipped = ParseJwkSet(testing::JwkSetOf(off_curve));
  BOOST_REQUIRE(skipped);
  BOOST_TEST(skipped->keys.empty());
  std::string with_d = ec;
  with_d.insert(1, R"("d":"AAAA",)");
  BOOST_TEST(ParseJwkSet(testing::JwkSetOf(with_d))->keys.empty());
  BOOST_TEST(
      ParseJwkSet(R"({"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]})")->keys.empty());
  // "alg" must fit the key.
  BOOST_TEST(ParseJwkSet(testing::JwkSetOf(Ec().PublicJwk("x", "RS384")))->keys.empty());
}

BOOST_AUTO_TEST_CASE(verification_matches_key_type_and_curve) {
  auto set = ParseJwkSet(testing::JwkSetOf(Ec().PublicJwk("ec-1"), Rsa().PublicJwk("rsa-1")));
  BOOST_REQUIRE(set);
  const JwtPublicKey& ec = *set->Find("ec-1");
  const JwtPublicKey& rsa = *set->Find("rsa-1");
  const std::string input = "header.payload";
  BOOST_TEST(ec.Verify(JwtAlgorithm::kES384, input, Ec().Sign("ES384", input)));
  BOOST_TEST(!ec.Verify(JwtAlgorithm::kES256, input, Ec().Sign("ES384", input)));
  BOOST_TEST(!ec.Verify(JwtAlgorithm::kRS384, input, Ec().Sign("ES384", input)));
  BOOST_TEST(rsa.Verify(JwtAlgorithm::kRS384, input, Rsa().Sign("RS384", input)));
  BOOST_TEST(!rsa.Verify(JwtAlgorithm::kRS256, input, Rsa().Sign("RS384", input)));
  BOOST_TEST(!rsa.Verify(JwtAlgorithm::kRS384, input + "x", Rsa().Sign("RS384", input)));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service

namespace cds::fhir {
namespace {

double ParseNumber(const std::string& text) {
  auto document = JsonDocument::Parse(text);
  BOOST_REQUIRE_MESSAGE(document, text);
  const rapidjson::Value& value = json_internal::AsValue((*document)->root());
  BOOST_REQUIRE(value.IsArray() && value.Size() == 1u && value[0].IsNumber());
  return value[0].GetDouble();
}

BOOST_AUTO_TEST_SUITE(JsonHardening)

// Found by tests/fuzz (issue #6): RapidJSON 1.1.0's full-precision parser
// segfaulted on 1.2345678901234567890123e-330 (one such number in a request
// crashed magcds) and made "0e95" 3.99e292. Numbers now parse as strtod does.
BOOST_AUTO_TEST_CASE(numbers_parse_like_strtod_and_never_crash) {
  for (const std::string number : {"1.2345678901234567890123e-330",
                                   "0.00333333333333333333e-333",
                                   "0e95",
                                   "0e47",
                                   "0e0047",
                                   "0.000e300",
                                   "-0e308",
                                   "0E+99",
                                   "0e-400",
                                   "0.000000000000000000000000000000000000",
                                   "-0.0",
                                   "0",
                                   "0.7",
                                   "1.7",
                                   "2.05",
                                   "0.74",
                                   "123.456",
                                   "1e2",
                                   "1.5e-3",
                                   "6.0221409e+23",
                                   "33333333333333333333e-340",
                                   "1e-400",
                                   "1e308",
                                   "0.1e-320",
                                   "12345678901234567"}) {
    BOOST_TEST(ParseNumber("[" + number + "]") == std::strtod(number.c_str(), nullptr), number);
  }
  // Strings are data, and malformed numbers stay malformed.
  BOOST_TEST(JsonDocument::Parse(R"({"a":"1.2345678901234567890123e-330"})").has_value());
  for (const std::string bad : {"[0e]", "[0e+]", "[0e+-5]", "[-]", "[00]", "[0.]", "[.0]"}) {
    BOOST_TEST(!JsonDocument::Parse(bad), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir

namespace cds::service {
namespace {

BOOST_AUTO_TEST_SUITE(SecurityConfig)

BOOST_AUTO_TEST_CASE(shipped_example_config_parses) {
  std::ifstream in(std::string(CDS_SOURCE_ROOT) + "/deploy/magcds.example.json");
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseServiceConfig(text.str());
  BOOST_REQUIRE_MESSAGE(config, (config ? "" : config.error().message));
  BOOST_TEST(config->public_base_url == "https://cds.hospital.example/magcds");
  BOOST_TEST(config->tls.enabled());
  BOOST_TEST(config->auth.required);
  BOOST_REQUIRE(config->auth.issuers.size() == 1u);
  BOOST_TEST(config->auth.issuers[0].algorithms.size() == 2u);
  BOOST_TEST(config->cors.allowed_origins.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_security_members_are_startup_errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"cors":{"allowedOrigins":["*"]}})", "never allowed"},
      {R"({"cors":{"allowedOrigins":["https://a.example/path"]}})", "is not an origin"},
      {R"({"cors":{"origins":[]}})", "unknown member 'cors.origins'"},
      {R"({"tls":{"cert":"a.pem"}})", "needs both"},
      {R"({"tls":{"cert":"a","key":"b","ca":"c"}})", "unknown member 'tls.ca'"},
      {R"({"publicBaseUrl":"cds.example.org"})", "publicBaseUrl"},
      {R"({"auth":{"required":true,"issuers":[{"iss":"a","jwks":"f"}]}})", "needs 'publicBaseUrl'"},
      {R"({"publicBaseUrl":"https://x","auth":{"required":true}})", "at least one"},
      {R"({"auth":{"issuers":[{"iss":"a"}]}})", "needs 'jwks'"},
      {R"({"auth":{"issuers":[{"jwks":"f"}]}})", "iss' is missing"},
      {R"({"auth":{"issuers":[{"iss":"a","jwks":"f"},{"iss":"a","jwks":"g"}]}})", "listed twice"},
      {R"({"auth":{"issuers":[{"iss":"a","jwks":"f","algorithms":["none"]}]}})", "never accepted"},
      {R"({"auth":{"issuers":[{"iss":"a","jwks":"f","algorithms":[]}]}})", "must not be empty"},
      {R"({"auth":{"issuers":[{"iss":"a","jwks":"f","maxLifetimeSeconds":0}]}})", "from 1 to 3600"},
      {R"({"auth":{"issuers":[{"iss":"a","jku":["http://ehr.example/j"]}]}})", "https URL"},
      {R"({"auth":{"clockSkewSeconds":-1}})", "clockSkewSeconds"},
      {R"({"auth":{"required":"yes"}})", "true or false"},
      {R"({"auth":{"issuers":[{"iss":"a","jwks":"f","kid":"x"}]}})",
       "unknown member 'auth.issuers[0].kid'"},
  };
  for (const auto& [json, expected] : cases) {
    auto config = ParseServiceConfig(json);
    BOOST_TEST(!config.has_value(), json);
    if (!config) {
      BOOST_TEST(config.error().message.find(expected) != std::string::npos,
                 json << " -> " << config.error().message);
    }
  }
  // http jku on loopback is allowed only with allowHttpLoopback (tests, dev).
  BOOST_TEST(
      ParseServiceConfig(
          R"({"auth":{"allowHttpLoopback":true,"issuers":[{"iss":"a","jku":["http://127.0.0.1:9/j"]}]}})")
          .has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
