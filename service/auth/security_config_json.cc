// Parsing of the security members of the service configuration
// (service/auth/security_config.h).
#include <set>
#include <utility>

#include "common/json_internal.h"
#include "fhir/fhir_url.h"
#include "service/auth/jwt.h"
#include "service/auth/security_config.h"

namespace cds::service {
namespace {

Error Bad(std::string message) {
  return Error{ErrorCode::kRuleConfig, "config: " + std::move(message)};
}

std::string Name(const rapidjson::Value& name) {
  return std::string(name.GetString(), name.GetStringLength());
}

Status NonEmptyString(const rapidjson::Value& value, const std::string& path, std::string& out) {
  if (!value.IsString() || value.GetStringLength() == 0) {
    return Bad("'" + path + "' must be a non-empty string");
  }
  out = std::string(value.GetString(), value.GetStringLength());
  return OkStatus();
}

Status Bool(const rapidjson::Value& value, const std::string& path, bool& out) {
  if (!value.IsBool()) return Bad("'" + path + "' must be true or false");
  out = value.GetBool();
  return OkStatus();
}

template <class T>
Status Integer(const rapidjson::Value& value, const std::string& path, std::uint64_t min,
               std::uint64_t max, T& out) {
  if (!value.IsUint64() || value.GetUint64() < min || value.GetUint64() > max) {
    return Bad("'" + path + "' must be an integer from " + std::to_string(min) + " to " +
               std::to_string(max));
  }
  out = static_cast<T>(value.GetUint64());
  return OkStatus();
}

Status StringArray(const rapidjson::Value& value, const std::string& path,
                   std::vector<std::string>& out) {
  if (!value.IsArray()) return Bad("'" + path + "' must be an array of strings");
  out.clear();
  for (const rapidjson::Value& entry : value.GetArray()) {
    if (!entry.IsString() || entry.GetStringLength() == 0) {
      return Bad("'" + path + "' must be an array of non-empty strings");
    }
    out.emplace_back(entry.GetString(), entry.GetStringLength());
  }
  return OkStatus();
}

// An origin as browsers send it: scheme://host[:port], nothing after.
bool IsOrigin(const std::string& text) {
  const std::optional<fhir::HttpUrl> url = fhir::ParseHttpUrl(text);
  if (!url || !url->path.empty() || !url->query.empty()) return false;
  return text.find('/', text.find("//") + 2) == std::string::npos;
}

Status ParseIssuer(const rapidjson::Value& value, const std::string& path, bool allow_http_loopback,
                   AuthIssuerConfig& issuer) {
  if (!value.IsObject()) return Bad("'" + path + "' must be an object");
  bool has_iss = false;
  for (const auto& member : value.GetObject()) {
    const std::string name = Name(member.name);
    const std::string at = path + "." + name;
    const rapidjson::Value& v = member.value;
    Status status = OkStatus();
    if (name == "iss") {
      status = NonEmptyString(v, at, issuer.iss);
      has_iss = true;
    } else if (name == "jwks") {
      status = NonEmptyString(v, at, issuer.jwks_file);
    } else if (name == "jku") {
      status = StringArray(v, at, issuer.jku);
      for (std::size_t i = 0; status && i < issuer.jku.size(); ++i) {
        const std::optional<fhir::HttpUrl> url = fhir::ParseHttpUrl(issuer.jku[i]);
        if (!url || !fhir::TransportAllowed(*url, allow_http_loopback)) {
          status = Bad("'" + at + "[" + std::to_string(i) +
                       "]' must be an https URL (http only on a loopback host with "
                       "auth.allowHttpLoopback)");
        }
      }
    } else if (name == "algorithms") {
      status = StringArray(v, at, issuer.algorithms);
      if (status && issuer.algorithms.empty()) status = Bad("'" + at + "' must not be empty");
      for (const std::string& algorithm : issuer.algorithms) {
        if (status && !JwtAlgorithmFromName(algorithm)) {
          status = Bad("'" + at + "': '" + algorithm +
                       "' is not one of ES256, ES384, ES512, RS256, RS384, RS512 (none and HS* "
                       "are never accepted)");
        }
      }
    } else if (name == "maxLifetimeSeconds") {
      status = Integer(v, at, 1, 3600, issuer.max_lifetime_seconds);
    } else if (name == "feedbackAcceptsServiceAudience") {
      status = Bool(v, at, issuer.feedback_accepts_service_audience);
    } else {
      status = Bad("unknown member '" + at + "'");
    }
    if (!status) return status;
  }
  if (!has_iss) return Bad("'" + path + ".iss' is missing");
  if (issuer.jwks_file.empty() && issuer.jku.empty()) {
    return Bad("'" + path + "' needs 'jwks' (a JWK Set file) and/or 'jku' (allowlisted URLs)");
  }
  return OkStatus();
}

}  // namespace

Status ParseTlsConfig(JsonRef ref, TlsConfig& out) {
  const rapidjson::Value& value = json_internal::AsValue(ref);
  if (!value.IsObject()) return Bad("'tls' must be an object with 'cert' and 'key'");
  for (const auto& member : value.GetObject()) {
    const std::string name = Name(member.name);
    Status status = name == "cert"  ? NonEmptyString(member.value, "tls.cert", out.cert_file)
                    : name == "key" ? NonEmptyString(member.value, "tls.key", out.key_file)
                                    : Bad("unknown member 'tls." + name + "'");
    if (!status) return status;
  }
  if (out.cert_file.empty() || out.key_file.empty()) {
    return Bad("'tls' needs both 'cert' and 'key' (PEM files)");
  }
  return OkStatus();
}

Status ParseAuthConfig(JsonRef ref, AuthConfig& out) {
  const rapidjson::Value& value = json_internal::AsValue(ref);
  if (!value.IsObject()) return Bad("'auth' must be an object");
  // allowHttpLoopback first: it decides whether http jku URLs are accepted.
  if (const auto it = value.FindMember("allowHttpLoopback"); it != value.MemberEnd()) {
    if (Status s = Bool(it->value, "auth.allowHttpLoopback", out.allow_http_loopback); !s) return s;
  }
  for (const auto& member : value.GetObject()) {
    const std::string name = Name(member.name);
    const std::string at = "auth." + name;
    const rapidjson::Value& v = member.value;
    Status status = OkStatus();
    if (name == "required") {
      status = Bool(v, at, out.required);
    } else if (name == "allowHttpLoopback") {
      // Read above.
    } else if (name == "clockSkewSeconds") {
      status = Integer(v, at, 0, 600, out.clock_skew_seconds);
    } else if (name == "jtiCacheSize") {
      status = Integer(v, at, 1, 10000000, out.jti_cache_size);
    } else if (name == "jwksMinRefreshSeconds") {
      status = Integer(v, at, 1, 86400, out.jwks_min_refresh_seconds);
    } else if (name == "issuers") {
      if (!v.IsArray()) {
        status = Bad("'" + at + "' must be an array of objects");
      } else {
        out.issuers.clear();
        std::set<std::string> seen;
        for (rapidjson::SizeType i = 0; status && i < v.Size(); ++i) {
          AuthIssuerConfig issuer;
          status = ParseIssuer(v[i], at + "[" + std::to_string(i) + "]", out.allow_http_loopback,
                               issuer);
          if (status && !seen.insert(issuer.iss).second) {
            status = Bad("'" + at + "': iss '" + issuer.iss + "' is listed twice");
          }
          if (status) out.issuers.push_back(std::move(issuer));
        }
      }
    } else {
      status = Bad("unknown member '" + at + "'");
    }
    if (!status) return status;
  }
  return OkStatus();
}

Status ParseCorsConfig(JsonRef ref, CorsConfig& out) {
  const rapidjson::Value& value = json_internal::AsValue(ref);
  if (!value.IsObject()) return Bad("'cors' must be an object");
  for (const auto& member : value.GetObject()) {
    const std::string name = Name(member.name);
    if (name != "allowedOrigins") return Bad("unknown member 'cors." + name + "'");
    if (Status s = StringArray(member.value, "cors.allowedOrigins", out.allowed_origins); !s) {
      return s;
    }
    for (const std::string& origin : out.allowed_origins) {
      if (origin == "*") {
        return Bad(
            "'cors.allowedOrigins' must list origins; '*' is never allowed (checklist S-31)");
      }
      if (!IsOrigin(origin)) {
        return Bad("'cors.allowedOrigins': '" + origin +
                   "' is not an origin (scheme://host[:port], no path)");
      }
    }
  }
  return OkStatus();
}

Result<std::string> ParsePublicBaseUrl(JsonRef ref) {
  const rapidjson::Value& value = json_internal::AsValue(ref);
  std::string text;
  if (Status s = NonEmptyString(value, "publicBaseUrl", text); !s) return s.error();
  const std::optional<fhir::HttpUrl> url = fhir::ParseHttpUrl(text);
  if (!url || !url->query.empty()) {
    return Bad(
        "'publicBaseUrl' must be an absolute http(s) URL without a query, e.g. "
        "\"https://cds.example.org\"");
  }
  while (!text.empty() && text.back() == '/') text.pop_back();
  return text;
}

Status CheckSecurityConfig(const std::string& public_base_url, const AuthConfig& auth) {
  if (!auth.required) return OkStatus();
  if (public_base_url.empty()) {
    return Bad("'auth.required' needs 'publicBaseUrl' (the JWT aud is checked against it)");
  }
  if (auth.issuers.empty())
    return Bad("'auth.required' needs at least one entry in 'auth.issuers'");
  return OkStatus();
}

}  // namespace cds::service
