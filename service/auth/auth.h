#pragma once

// Authenticator: JWT client authentication for the CDS endpoints (CDS Hooks 2.0
// §Trusting CDS Clients; checklist S-10…S-25, §11.5-§11.7).
//
// For a call to discovery, a service or its feedback endpoint it checks the
// "Authorization: Bearer <JWT>" header, in this order:
//   1. a well-formed compact JWS (service/auth/jwt.h) with typ "JWT" (or no typ);
//   2. alg is one of ES256/384/512, RS256/384/512 — never none or HS* (S-13);
//   3. iss is a configured issuer, and alg is on that issuer's list (S-14);
//   4. a jku header is trusted only when the issuer has a jku allowlist: then
//      it must be on it (S-22; never fetched otherwise). An issuer without an
//      allowlist has pinned keys (its jwks file, configured out of band): the
//      header is ignored, nothing is fetched, the file decides (issue #13);
//   5. aud (a string or any element of an array) equals the endpoint's URL under
//      publicBaseUrl: {base}/cds-services, {base}/cds-services/{id},
//      {base}/cds-services/{id}/feedback (trailing slashes removed; §11.7);
//   6. exp has not passed; iat (and nbf) are not in the future beyond the clock
//      skew; exp - iat is positive and at most the issuer's maxLifetimeSeconds;
//   7. the kid selects a key of the issuer (its jwks file and/or jku sets; only
//      the jku set when the token names an allowlisted one) that fits alg; an
//      unknown kid re-loads those sources once — a file is re-read, a jku URL
//      re-fetched — at most once per source per jwksMinRefreshSeconds. When a
//      named jku set cannot be had (its last fetch failed, or it was never
//      loaded and may not be re-fetched yet), the issuer's pinned jwks file is
//      used instead: a failed fetch never locks out a client whose keys are
//      pinned;
//   8. the signature verifies (EVP_DigestVerify);
//   9. (iss, jti) has not been seen; it is then remembered until exp + skew.
//      The cache holds at most jtiCacheSize entries: when full of live
//      entries, new tokens are refused (fail closed) rather than forgetting one.
// Any failure is an AuthOutcome with a reason (AuthFailure) for the log and for
// metrics; the HTTP answer is a bare 401 that never says which check failed.
// The token itself is never logged or kept.
//
// Thread-safety: Authenticate may be called from many threads at once; the
// replay cache and key sources are guarded by one mutex, never held while
// verifying a signature, fetching or calling back.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "service/auth/security_config.h"

namespace cds::service {

// Why a request was not authenticated. Stable names (AuthFailureName) are used
// in logs and as metric labels.
enum class AuthFailure {
  kMissingToken,         // "missing_token": no Authorization: Bearer header
  kMalformedToken,       // "malformed_token": not a well-formed JWT, or typ not JWT
  kAlgorithmRefused,     // "algorithm_refused": none, HS*, or an unknown alg
  kUnknownIssuer,        // "unknown_issuer"
  kAlgorithmNotAllowed,  // "algorithm_not_allowed": not on the issuer's list
  kJkuNotAllowed,        // "jku_not_allowed": never fetched
  kWrongAudience,        // "wrong_audience"
  kExpired,              // "expired"
  kNotYetValid,          // "not_yet_valid": iat or nbf in the future beyond the skew
  kLifetimeTooLong,      // "lifetime_too_long": exp - iat over the maximum, or not positive
  kUnknownKey,           // "unknown_key": no key with that kid (after any re-fetch)
  kKeyUnavailable,       // "key_unavailable": the JWK Set could not be loaded
  kBadSignature,         // "bad_signature"
  kReplayed,             // "replayed_jti"
  kReplayCacheFull,      // "replay_cache_full"
};
inline constexpr int kAuthFailureCount = 15;
const char* AuthFailureName(AuthFailure failure);

struct AuthOutcome {
  std::optional<AuthFailure> failure;  // nullopt: authenticated
  std::string detail;                  // for the log; never the token
  // What the token said, once known ("" otherwise). Attacker-controlled until
  // authenticated: log them, never trust them on failure.
  std::string iss;
  std::string kid;
  std::string jti;
  std::string tenant;

  bool ok() const { return !failure.has_value(); }
};

// Fetches a JWK Set document from an allowlisted URL; calls `done` exactly once
// (possibly on another thread) with the body, or an error.
using JwksFetchDone = std::function<void(Result<std::string>)>;
using JwksFetch = std::function<void(const std::string& url, JwksFetchDone done)>;

struct AuthenticatorOptions {
  AuthConfig config;
  std::string public_base_url;          // without a trailing slash
  std::function<std::int64_t()> clock;  // epoch seconds; required
  JwksFetch fetch;                      // required when an issuer has jku URLs
  // Called once per Authenticate with its outcome (e.g. metrics by reason, #8).
  std::function<void(const AuthOutcome&)> on_outcome;
  bool log_rejections = true;  // LogEvent("warn", "auth_rejected", ...)
  // Issue #16: a replay cache shared with the other replicas (check 9), asked
  // after the in-memory cache found the jti fresh. It calls `done` exactly
  // once, on any thread: true = already used on some replica (refused as
  // replayed_jti), false = fresh, nullopt = no answer in time (the in-memory
  // verdict stands). Null = in-memory only (the default).
  std::function<void(const std::string& iss, const std::string& jti, std::int64_t expires_at,
                     std::int64_t now, std::function<void(std::optional<bool>)> done)>
      shared_replay;
};

class Authenticator {
 public:
  // Loads every issuer's jwks file (kRuleConfig naming the file when it cannot
  // be read or holds no usable key). jku sets are fetched on first use.
  static Result<std::unique_ptr<Authenticator>> Create(AuthenticatorOptions options);
  ~Authenticator();

  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  bool required() const;

  // Checks `authorization` (the header's value, "" if absent) for a request to
  // `path` (a CDS endpoint path; see CdsEndpointPath). Calls `done` exactly
  // once: before returning, or later on a fetch thread after a jku re-fetch.
  void Authenticate(std::string_view path, std::string_view authorization,
                    std::function<void(AuthOutcome)> done) const;

  struct State;

 private:
  explicit Authenticator(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// The canonical CDS endpoint path for `path` ("/cds-services",
// "/cds-services/{id}", "/cds-services/{id}/feedback", one trailing slash
// ignored), or nullopt for any other path (e.g. /healthz, which stays open):
// the endpoints whose EndpointSpec::authenticated is set (service/http/endpoint.h).
std::optional<std::string> CdsEndpointPath(std::string_view path);

}  // namespace cds::service
