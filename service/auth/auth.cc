// JWT client authentication: see service/auth/auth.h.
#include "service/auth/auth.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "service/auth/jwt.h"
#include "service/auth/jwt_key.h"
#include "service/http/endpoint.h"
#include "service/log/log.h"

namespace cds::service {
namespace {

constexpr std::size_t kMaxLoggedChars = 128;

// Token-supplied text for a log line: printable ASCII only, clipped.
std::string Clip(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, kMaxLoggedChars)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (text.size() > kMaxLoggedChars) out += "...";
  return out;
}

std::string_view StripTrailingSlashes(std::string_view text) {
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  return text;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "Bearer <token>" (RFC 6750 §2.1; the scheme is case-insensitive).
std::optional<std::string_view> BearerToken(std::string_view header) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t'))
    header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t'))
    header.remove_suffix(1);
  if (header.size() < 8 || !EqualsIgnoreCase(header.substr(0, 6), "bearer") || header[6] != ' ') {
    return std::nullopt;
  }
  std::string_view token = header.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  // One token only: a space or comma means several headers were joined.
  if (token.empty() || token.find_first_of(" \t,") != std::string_view::npos) return std::nullopt;
  return token;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kRuleConfig, "cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Error{ErrorCode::kRuleConfig, "cannot read " + path};
  return text.str();
}

// One place keys come from: a JWK Set file or an allowlisted jku URL.
struct KeySource {
  bool is_file = false;
  std::string location;
  std::shared_ptr<const JwkSet> keys;     // null until loaded
  std::optional<std::int64_t> last_load;  // when the last re-load started
  bool loading = false;
  std::string last_error;                      // of the last load, "" if it worked
  std::vector<std::function<void()>> waiters;  // run when the load in flight ends
};

struct IssuerState {
  AuthIssuerConfig config;
  std::vector<JwtAlgorithm> algorithms;
  std::vector<std::shared_ptr<KeySource>> sources;  // the file first, then jku URLs

  std::shared_ptr<KeySource> UrlSource(std::string_view url) const {
    for (const auto& source : sources) {
      if (!source->is_file && source->location == url) return source;
    }
    return nullptr;
  }
};

}  // namespace

const char* AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kMissingToken:
      return "missing_token";
    case AuthFailure::kMalformedToken:
      return "malformed_token";
    case AuthFailure::kAlgorithmRefused:
      return "algorithm_refused";
    case AuthFailure::kUnknownIssuer:
      return "unknown_issuer";
    case AuthFailure::kAlgorithmNotAllowed:
      return "algorithm_not_allowed";
    case AuthFailure::kJkuNotAllowed:
      return "jku_not_allowed";
    case AuthFailure::kWrongAudience:
      return "wrong_audience";
    case AuthFailure::kExpired:
      return "expired";
    case AuthFailure::kNotYetValid:
      return "not_yet_valid";
    case AuthFailure::kLifetimeTooLong:
      return "lifetime_too_long";
    case AuthFailure::kUnknownKey:
      return "unknown_key";
    case AuthFailure::kKeyUnavailable:
      return "key_unavailable";
    case AuthFailure::kBadSignature:
      return "bad_signature";
    case AuthFailure::kReplayed:
      return "replayed_jti";
    case AuthFailure::kReplayCacheFull:
      return "replay_cache_full";
  }
  return "unknown";
}

std::optional<std::string> CdsEndpointPath(std::string_view path) {
  // The one route table (service/http/endpoint.h) says which endpoints need a JWT.
  const Route route = RouteOf(path);
  if (!SpecOf(route.endpoint).authenticated) return std::nullopt;
  return std::string(route.path);
}

// One Authenticate call in progress.
struct Check {
  std::string endpoint;  // canonical CDS endpoint path
  ParsedJwt jwt;
  JwtAlgorithm algorithm = JwtAlgorithm::kES384;
  const IssuerState* issuer = nullptr;
  std::vector<std::shared_ptr<KeySource>> sources;
  // The issuer's pinned files, for a token naming an allowlisted jku: used
  // only when that jku set cannot be had (issue #13).
  std::vector<std::shared_ptr<KeySource>> fallback;
  bool reloaded = false;
  AuthOutcome outcome;
  std::function<void(AuthOutcome)> done;
};

struct Authenticator::State : std::enable_shared_from_this<Authenticator::State> {
  AuthenticatorOptions options;
  std::map<std::string, IssuerState, std::less<>> issuers;

  std::mutex mutex;  // guards the key sources' mutable members and the jti cache
  std::unordered_map<std::string, std::int64_t> seen_jti;  // iss '\n' jti -> expiry
  std::multimap<std::int64_t, std::string> jti_by_expiry;

  void Finish(const std::shared_ptr<Check>& check) const {
    const AuthOutcome& outcome = check->outcome;
    if (outcome.failure && options.log_rejections) {
      LogEvent("warn", "auth_rejected",
               {{"reason", AuthFailureName(*outcome.failure)},
                {"detail", outcome.detail},
                {"endpoint", Clip(check->endpoint)},
                {"iss", outcome.iss},
                {"kid", outcome.kid},
                {"jti", outcome.jti}});
    }
    if (options.on_outcome) options.on_outcome(outcome);
    check->done(outcome);
  }

  void Fail(const std::shared_ptr<Check>& check, AuthFailure failure, std::string detail) const {
    check->outcome.failure = failure;
    check->outcome.detail = std::move(detail);
    Finish(check);
  }

  void ResolveKey(const std::shared_ptr<Check>& check);
  void Load(const std::shared_ptr<KeySource>& source);
  void Loaded(const std::shared_ptr<KeySource>& source, Result<std::string> text);
  void VerifyAndRecord(const std::shared_ptr<Check>& check, const JwtPublicKey& key);
};

void Authenticator::State::ResolveKey(const std::shared_ptr<Check>& check) {
  const std::string& kid = check->jwt.header.kid;
  std::optional<JwtPublicKey> key;
  std::vector<std::shared_ptr<KeySource>> to_load;
  std::string load_errors;
  bool any_keys = false;
  auto pending = std::make_shared<std::atomic<int>>(0);
  bool waiting = false;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& source : check->sources) {
      if (source->keys) any_keys = true;
      if (!source->last_error.empty())
        load_errors += source->location + ": " + source->last_error + "; ";
      const JwtPublicKey* found = source->keys ? source->keys->Find(kid) : nullptr;
      if (found != nullptr) {
        key = *found;
        break;
      }
    }
    if (!key && !check->reloaded) {
      // An unknown kid: re-load each source once (rate-limited), then look again.
      check->reloaded = true;
      const std::int64_t now = options.clock();
      std::vector<std::shared_ptr<KeySource>> wait_for;
      for (const auto& source : check->sources) {
        if (source->loading) {
          wait_for.push_back(source);
        } else if (!source->last_load ||
                   now - *source->last_load >= options.config.jwks_min_refresh_seconds) {
          source->loading = true;
          source->last_load = now;
          wait_for.push_back(source);
          to_load.push_back(source);
        }
      }
      pending->store(static_cast<int>(wait_for.size()));
      auto self = shared_from_this();
      for (const auto& source : wait_for) {
        source->waiters.push_back([self, check, pending] {
          if (pending->fetch_sub(1) == 1) self->ResolveKey(check);
        });
      }
      waiting = !wait_for.empty();
    }
    if (!key && !waiting && !check->fallback.empty() &&
        std::all_of(check->sources.begin(), check->sources.end(),
                    [](const std::shared_ptr<KeySource>& source) {
                      return !source->keys || !source->last_error.empty();
                    })) {
      // The named jku set is unavailable: the pinned keys stand in for it.
      for (const auto& source : check->fallback) {
        if (source->keys) any_keys = true;
        const JwtPublicKey* found = source->keys ? source->keys->Find(kid) : nullptr;
        if (found != nullptr) {
          key = *found;
          break;
        }
      }
    }
  }
  if (waiting) {
    for (const auto& source : to_load) Load(source);  // may call back at once
    return;
  }
  if (key) return VerifyAndRecord(check, *key);
  if (!any_keys && !load_errors.empty()) {
    return Fail(check, AuthFailure::kKeyUnavailable, "JWK Set not loaded: " + Clip(load_errors));
  }
  Fail(check, AuthFailure::kUnknownKey, "no key with this kid for the issuer");
}

void Authenticator::State::Load(const std::shared_ptr<KeySource>& source) {
  if (source->is_file) return Loaded(source, ReadWholeFile(source->location));
  if (!options.fetch) {
    return Loaded(source, Error{ErrorCode::kInternal, "no JWK Set fetcher configured"});
  }
  auto self = shared_from_this();
  try {
    options.fetch(source->location, [self, source](Result<std::string> text) {
      self->Loaded(source, std::move(text));
    });
  } catch (const std::exception& e) {
    Loaded(source, Error{ErrorCode::kInternal, std::string("fetch failed: ") + e.what()});
  }
}

void Authenticator::State::Loaded(const std::shared_ptr<KeySource>& source,
                                  Result<std::string> text) {
  std::shared_ptr<const JwkSet> keys;
  std::string error;
  if (text) {
    Result<JwkSet> parsed = ParseJwkSet(*text);
    if (parsed) {
      keys = std::make_shared<const JwkSet>(std::move(*parsed));
    } else {
      error = parsed.error().message;
    }
  } else {
    error = text.error().message;
  }
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (keys) source->keys = keys;  // a failed re-load keeps the keys we had
    source->last_error = error;
    source->loading = false;
    waiters.swap(source->waiters);
  }
  LogEvent(error.empty() ? "info" : "warn", "jwks_loaded",
           {{"source", source->location},
            {"keys", keys ? std::to_string(keys->keys.size()) : "0"},
            {"skipped", keys ? std::to_string(keys->skipped.size()) : "0"},
            {"error", Clip(error)}});
  for (auto& waiter : waiters) waiter();
}

void Authenticator::State::VerifyAndRecord(const std::shared_ptr<Check>& check,
                                           const JwtPublicKey& key) {
  if (!key.Fits(check->algorithm)) {
    return Fail(check, AuthFailure::kUnknownKey, "the kid's key does not fit alg");
  }
  if (!key.Verify(check->algorithm, check->jwt.signing_input, check->jwt.signature)) {
    return Fail(check, AuthFailure::kBadSignature, "signature does not verify");
  }
  // Checklist S-23: the jti is checked and stored only for a token that verified,
  // so unsigned tokens cannot fill the cache or burn a client's jti.
  const std::string entry = check->jwt.claims.iss + '\n' + check->jwt.claims.jti;
  const std::int64_t now = options.clock();
  {
    std::lock_guard<std::mutex> lock(mutex);
    while (!jti_by_expiry.empty() && jti_by_expiry.begin()->first <= now) {
      seen_jti.erase(jti_by_expiry.begin()->second);
      jti_by_expiry.erase(jti_by_expiry.begin());
    }
    if (seen_jti.count(entry) != 0) {
      check->outcome.failure = AuthFailure::kReplayed;
    } else if (seen_jti.size() >= options.config.jti_cache_size) {
      check->outcome.failure = AuthFailure::kReplayCacheFull;
    } else {
      const std::int64_t expiry = check->jwt.claims.exp + options.config.clock_skew_seconds;
      seen_jti.emplace(entry, expiry);
      jti_by_expiry.emplace(expiry, entry);
    }
  }
  if (check->outcome.failure) {
    check->outcome.detail = *check->outcome.failure == AuthFailure::kReplayed
                                ? "jti was already used"
                                : "replay cache is full of live entries";
  } else if (options.shared_replay) {
    // Issue #16: the other replicas' view of this jti, off this thread.
    auto self = shared_from_this();
    options.shared_replay(check->jwt.claims.iss, check->jwt.claims.jti,
                          check->jwt.claims.exp + options.config.clock_skew_seconds, now,
                          [self, check](std::optional<bool> replayed) {
                            if (replayed.value_or(false)) {
                              check->outcome.failure = AuthFailure::kReplayed;
                              check->outcome.detail = "jti was already used on another replica";
                            }
                            self->Finish(check);
                          });
    return;
  }
  Finish(check);
}

Authenticator::Authenticator(std::shared_ptr<State> state) : state_(std::move(state)) {}
Authenticator::~Authenticator() = default;

Result<std::unique_ptr<Authenticator>> Authenticator::Create(AuthenticatorOptions options) {
  if (!options.clock) return Error{ErrorCode::kInternal, "Authenticator needs a clock"};
  auto state = std::make_shared<State>();
  for (const AuthIssuerConfig& config : options.config.issuers) {
    IssuerState issuer;
    issuer.config = config;
    for (const std::string& name : config.algorithms) {
      const std::optional<JwtAlgorithm> algorithm = JwtAlgorithmFromName(name);
      if (!algorithm) {
        return Error{ErrorCode::kRuleConfig, "auth: algorithm '" + name + "' is not supported"};
      }
      issuer.algorithms.push_back(*algorithm);
    }
    if (!config.jwks_file.empty()) {
      auto source = std::make_shared<KeySource>();
      source->is_file = true;
      source->location = config.jwks_file;
      Result<std::string> text = ReadWholeFile(config.jwks_file);
      if (!text)
        return Error{ErrorCode::kRuleConfig,
                     "auth: issuer '" + config.iss + "': " + text.error().message};
      Result<JwkSet> keys = ParseJwkSet(*text);
      if (!keys) {
        return Error{ErrorCode::kRuleConfig,
                     "auth: " + config.jwks_file + ": " + keys.error().message};
      }
      if (keys->keys.empty()) {
        return Error{ErrorCode::kRuleConfig,
                     "auth: " + config.jwks_file + " holds no usable signature key" +
                         (keys->skipped.empty() ? "" : " (" + keys->skipped.front() + ")")};
      }
      source->keys = std::make_shared<const JwkSet>(std::move(*keys));
      issuer.sources.push_back(std::move(source));
    }
    for (const std::string& url : config.jku) {
      if (!options.fetch) {
        return Error{ErrorCode::kRuleConfig,
                     "auth: issuer '" + config.iss + "' has jku URLs but no fetcher is configured"};
      }
      auto source = std::make_shared<KeySource>();
      source->location = url;
      issuer.sources.push_back(std::move(source));
    }
    state->issuers.emplace(config.iss, std::move(issuer));
  }
  state->options = std::move(options);
  return std::unique_ptr<Authenticator>(new Authenticator(std::move(state)));
}

bool Authenticator::required() const { return state_->options.config.required; }

void Authenticator::Authenticate(std::string_view path, std::string_view authorization,
                                 std::function<void(AuthOutcome)> done) const {
  State& state = *state_;
  auto check = std::make_shared<Check>();
  check->done = std::move(done);
  check->endpoint = CdsEndpointPath(path).value_or(std::string(path));

  const std::optional<std::string_view> token = BearerToken(authorization);
  if (!token) {
    return state.Fail(check, AuthFailure::kMissingToken,
                      authorization.empty() ? "no Authorization header"
                                            : "Authorization is not 'Bearer <token>'");
  }
  Result<ParsedJwt> parsed = ParseJwt(*token);
  if (!parsed) return state.Fail(check, AuthFailure::kMalformedToken, parsed.error().message);
  check->jwt = std::move(*parsed);
  const JwtHeader& header = check->jwt.header;
  const JwtClaims& claims = check->jwt.claims;
  check->outcome.iss = Clip(claims.iss);
  check->outcome.kid = Clip(header.kid);
  check->outcome.jti = Clip(claims.jti);
  check->outcome.tenant = claims.tenant ? Clip(*claims.tenant) : "";

  if (!header.typ.empty() && !EqualsIgnoreCase(header.typ, "JWT")) {
    return state.Fail(check, AuthFailure::kMalformedToken, "typ is not JWT");
  }
  const std::optional<JwtAlgorithm> algorithm = JwtAlgorithmFromName(header.alg);
  if (!algorithm) {
    // Checklist S-13: none and every HS* (and anything unknown) are refused.
    return state.Fail(check, AuthFailure::kAlgorithmRefused,
                      "alg '" + Clip(header.alg) + "' is never accepted");
  }
  check->algorithm = *algorithm;
  const auto issuer = state.issuers.find(claims.iss);
  if (issuer == state.issuers.end()) {
    return state.Fail(check, AuthFailure::kUnknownIssuer, "iss is not a configured issuer");
  }
  check->issuer = &issuer->second;
  const auto& allowed = issuer->second.algorithms;
  if (std::find(allowed.begin(), allowed.end(), *algorithm) == allowed.end()) {
    return state.Fail(
        check, AuthFailure::kAlgorithmNotAllowed,
        std::string("alg ") + JwtAlgorithmName(*algorithm) + " is not allowed for this issuer");
  }
  if (header.jku && !issuer->second.config.jku.empty()) {
    // Checklist S-22: a jku off the issuer's allowlist is never fetched.
    std::shared_ptr<KeySource> source = issuer->second.UrlSource(*header.jku);
    if (!source) {
      return state.Fail(check, AuthFailure::kJkuNotAllowed,
                        "jku '" + Clip(*header.jku) + "' is not allowlisted for this issuer");
    }
    check->sources.push_back(std::move(source));
    for (const auto& pinned : issuer->second.sources) {
      if (pinned->is_file) check->fallback.push_back(pinned);
    }
  } else {
    // No jku, or an issuer whose keys are pinned (no allowlist, issue #13):
    // a jku header is not trusted and never fetched; the issuer's own key
    // sources decide, as they would for a token without one.
    check->sources = issuer->second.sources;
  }

  // CDS Hooks 2.0: aud is the URL of the endpoint being called (checklist §11.5, §11.7).
  const std::string base = state.options.public_base_url;
  const std::string expected = base + check->endpoint;
  std::string service_audience;
  if (const Route route = RouteOf(check->endpoint);
      issuer->second.config.feedback_accepts_service_audience &&
      route.endpoint == Endpoint::kFeedback) {
    service_audience = base + ServiceCallPath(route.service_id);
  }
  const bool audience_ok =
      std::any_of(claims.aud.begin(), claims.aud.end(), [&](const std::string& aud) {
        const std::string_view value = StripTrailingSlashes(aud);
        return value == expected || (!service_audience.empty() && value == service_audience);
      });
  if (!audience_ok) {
    return state.Fail(check, AuthFailure::kWrongAudience, "aud is not " + Clip(expected));
  }

  const std::int64_t now = state.options.clock();
  const std::int64_t skew = state.options.config.clock_skew_seconds;
  if (now >= claims.exp) return state.Fail(check, AuthFailure::kExpired, "exp has passed");
  if (claims.iat > now + skew) {
    return state.Fail(check, AuthFailure::kNotYetValid, "iat is in the future");
  }
  if (claims.nbf && *claims.nbf > now + skew) {
    return state.Fail(check, AuthFailure::kNotYetValid, "nbf is in the future");
  }
  // iat <= now + skew here, so iat + max cannot overflow.
  if (claims.exp <= claims.iat ||
      claims.exp > claims.iat + issuer->second.config.max_lifetime_seconds) {
    return state.Fail(check, AuthFailure::kLifetimeTooLong,
                      "exp - iat is not within 1.." +
                          std::to_string(issuer->second.config.max_lifetime_seconds) + " s");
  }
  state.ResolveKey(check);
}

}  // namespace cds::service
