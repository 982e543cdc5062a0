#pragma once

// The security members of the service configuration (issue #6; see
// service/app/config.h for the file as a whole and README "Configuration"):
//   "publicBaseUrl": "https://cds.example.org",
//   "tls":  {"cert": "/etc/magcds/cert.pem", "key": "/etc/magcds/key.pem"},
//   "auth": {"required": true, "clockSkewSeconds": 60, "jtiCacheSize": 100000,
//            "jwksMinRefreshSeconds": 60, "allowHttpLoopback": false,
//            "issuers": [{"iss": "https://ehr.example", "jwks": "/etc/magcds/ehr-jwks.json",
//                         "jku": ["https://ehr.example/.well-known/jwks.json"],
//                         "algorithms": ["ES384", "RS384"], "maxLifetimeSeconds": 300,
//                         "feedbackAcceptsServiceAudience": false}]},
//   "cors": {"allowedOrigins": ["https://ehr.example"]}
// Plain values; parsed by ParseServiceConfig.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/json_document.h"
#include "common/result.h"

namespace cds::service {

struct TlsConfig {
  std::string cert_file;  // PEM certificate chain, leaf first
  std::string key_file;   // PEM private key
  bool enabled() const { return !cert_file.empty(); }
};

struct AuthIssuerConfig {
  std::string iss;               // exact "iss" value
  std::string jwks_file;         // JWK Set file; "" = none
  std::vector<std::string> jku;  // allowlisted JWK Set URLs; may be empty
  std::vector<std::string> algorithms = {"ES384", "RS384"};  // checklist S-14
  std::int64_t max_lifetime_seconds = 300;                   // exp - iat (S-24)
  // Checklist §11.5: also accept {base}/cds-services/{id} as the feedback aud.
  bool feedback_accepts_service_audience = false;
};

struct AuthConfig {
  bool required = false;
  std::vector<AuthIssuerConfig> issuers;
  std::int64_t clock_skew_seconds = 60;        // for iat and nbf (S-24)
  std::size_t jti_cache_size = 100000;         // replay cache entries (S-23)
  std::int64_t jwks_min_refresh_seconds = 60;  // at most one re-fetch per source per interval
  bool allow_http_loopback = false;            // dev/test: jku URLs on http://127.0.0.1 etc.
};

struct CorsConfig {
  std::vector<std::string> allowed_origins;  // "https://host[:port]", exact; never "*"
};

// Readers for ParseServiceConfig: `value` is the member's JSON value. They fail
// with kRuleConfig and a message naming the member ("config: 'auth.issuers[0].iss' ...").
Status ParseTlsConfig(JsonRef value, TlsConfig& out);
Status ParseAuthConfig(JsonRef value, AuthConfig& out);
Status ParseCorsConfig(JsonRef value, CorsConfig& out);
// "https://cds.example.org[/prefix]": absolute http(s), no query, no fragment;
// returned without a trailing slash.
Result<std::string> ParsePublicBaseUrl(JsonRef value);

// Cross-member checks after the whole file is read: auth.required needs
// publicBaseUrl and at least one issuer.
Status CheckSecurityConfig(const std::string& public_base_url, const AuthConfig& auth);

}  // namespace cds::service
