#pragma once

// The security parts of `magcds serve` (issue #6), built from the config:
// the JWK Set fetcher for allowlisted jku URLs (a RestFhirClient whose policy
// is exactly those URLs, so nothing else can be fetched), the Authenticator
// and the CORS policy. Part of the magcds executable (it links cpprestsdk's
// client through fhir/rest_fhir_client.h).

#include <functional>
#include <memory>

#include "common/result.h"
#include "fhir/rest_fhir_client.h"
#include "service/app/config.h"
#include "service/auth/auth.h"
#include "service/auth/shared_replay_cache.h"
#include "service/http/cors.h"

namespace cds::service {

struct SecurityParts {
  std::unique_ptr<fhir::RestFhirClient> jwks_client;  // null when no issuer has jku URLs
  std::unique_ptr<Authenticator> authenticator;       // null when no issuer is configured
  std::unique_ptr<CorsPolicy> cors;                   // null without cors.allowedOrigins
};

// kRuleConfig when a jwks file cannot be loaded. `on_outcome` (optional) sees
// every authentication outcome, e.g. to count failures by reason.
// `shared_replay` (optional, not owned; issue #16) makes the jti replay check
// span every replica on the same PostgreSQL store.
Result<SecurityParts> BuildSecurityParts(const ServiceConfig& config,
                                         std::function<void(const AuthOutcome&)> on_outcome,
                                         SharedReplayCache* shared_replay = nullptr);

}  // namespace cds::service
