// Security parts of `magcds serve`: see service/app/cli_security.h.
#include "service/app/cli_security.h"

#include <chrono>
#include <utility>
#include <vector>

#include "service/app/cli_common.h"
#include "service/log/log.h"

namespace cds::service {
namespace {

// A JWK Set is small; anything bigger is not one.
constexpr std::size_t kMaxJwksBytes = 256 * 1024;
constexpr std::chrono::seconds kJwksDeadline{5};

}  // namespace

Result<SecurityParts> BuildSecurityParts(const ServiceConfig& config,
                                         std::function<void(const AuthOutcome&)> on_outcome,
                                         SharedReplayCache* shared_replay) {
  SecurityParts parts;
  if (!config.cors.allowed_origins.empty()) {
    parts.cors = std::make_unique<CorsPolicy>(config.cors.allowed_origins);
  }
  if (config.auth.issuers.empty()) return parts;

  std::vector<std::string> jku_urls;
  for (const AuthIssuerConfig& issuer : config.auth.issuers) {
    jku_urls.insert(jku_urls.end(), issuer.jku.begin(), issuer.jku.end());
  }
  AuthenticatorOptions options;
  if (!jku_urls.empty()) {
    // Checklist S-22: the client may contact exactly the allowlisted jku URLs'
    // origins over https (http on loopback only with auth.allowHttpLoopback);
    // the Authenticator only ever asks for an allowlisted URL.
    Result<fhir::FhirServerPolicy> policy =
        fhir::FhirServerPolicy::Create(jku_urls, config.auth.allow_http_loopback);
    if (!policy) return Error{ErrorCode::kRuleConfig, "auth: jku: " + policy.error().message};
    fhir::RestFhirClientOptions client_options;
    client_options.policy = *policy;
    client_options.ca_file = config.fhir.ca_file;
    client_options.max_body_bytes = kMaxJwksBytes;
    Result<std::unique_ptr<fhir::RestFhirClient>> client =
        fhir::RestFhirClient::Create(std::move(client_options));
    if (!client) return client.error();
    parts.jwks_client = std::move(client).value();
    fhir::RestFhirClient* fetcher = parts.jwks_client.get();
    options.fetch = [fetcher](const std::string& url, JwksFetchDone done) {
      fhir::FhirGet get;
      get.url = url;
      get.deadline = std::chrono::steady_clock::now() + kJwksDeadline;
      get.log_path = "jwks";
      fetcher->Get(std::move(get), [done = std::move(done)](fhir::FhirResponse response) {
        if (response.status == 200) return done(std::move(response.body));
        done(Error{ErrorCode::kUpstreamFailure, response.status != 0
                                                    ? "HTTP " + std::to_string(response.status)
                                                    : response.error});
      });
    };
  }
  options.config = config.auth;
  options.public_base_url = config.public_base_url;
  options.clock = [] { return static_cast<std::int64_t>(SystemNow()); };
  options.on_outcome = std::move(on_outcome);
  if (shared_replay != nullptr) {
    options.shared_replay = [shared_replay](const std::string& iss, const std::string& jti,
                                            std::int64_t expires_at, std::int64_t now,
                                            std::function<void(std::optional<bool>)> done) {
      shared_replay->Check(iss, jti, expires_at, now, std::move(done));
    };
  }
  Result<std::unique_ptr<Authenticator>> authenticator = Authenticator::Create(std::move(options));
  if (!authenticator) return authenticator.error();
  parts.authenticator = std::move(authenticator).value();
  return parts;
}

}  // namespace cds::service
