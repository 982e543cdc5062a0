// Parsing of compact JWS tokens (service/auth/jwt.h).
#include <cmath>
#include <set>
#include <utility>

#include "common/json_internal.h"
#include "service/auth/jwt.h"

namespace cds::service {
namespace {

constexpr std::size_t kMaxJwtJsonDepth = 16;

Error Malformed(std::string what) { return Error{ErrorCode::kUnauthorized, std::move(what)}; }

// The decoded JSON object of one token part, kept alive with its document.
Result<std::shared_ptr<const JsonDocument>> DecodeObject(std::string_view part, const char* name) {
  const std::optional<std::string> json = Base64UrlDecode(part);
  if (!json) return Malformed(std::string(name) + " is not base64url");
  auto document = JsonDocument::Parse(*json, kMaxJwtJsonDepth);
  if (!document) return Malformed(std::string(name) + " is not JSON");
  const rapidjson::Value& root = json_internal::AsValue((*document)->root());
  if (!root.IsObject()) return Malformed(std::string(name) + " is not a JSON object");
  // A duplicate member could be read one way here and another way by the
  // client's library: refuse the ambiguity.
  std::set<std::string_view> names;
  for (const auto& member : root.GetObject()) {
    if (!names.emplace(member.name.GetString(), member.name.GetStringLength()).second) {
      return Malformed(std::string(name) + " has a duplicate member");
    }
  }
  return document;
}

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string Str(const rapidjson::Value& value) {
  return std::string(value.GetString(), value.GetStringLength());
}

// A required or optional non-empty string member.
Status ReadString(const rapidjson::Value& object, const char* name, bool required, std::string& out,
                  bool& present) {
  const rapidjson::Value* value = Member(object, name);
  present = value != nullptr;
  if (value == nullptr) {
    if (required) return Malformed(std::string("'") + name + "' is missing");
    return OkStatus();
  }
  if (!value->IsString() || value->GetStringLength() == 0) {
    return Malformed(std::string("'") + name + "' is not a non-empty string");
  }
  out = Str(*value);
  return OkStatus();
}

// NumericDate (RFC 7519 §2): a JSON number of seconds; fractions are dropped.
Result<std::optional<std::int64_t>> ReadTime(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr) return std::optional<std::int64_t>();
  if (value->IsInt64()) return std::optional<std::int64_t>(value->GetInt64());
  if (value->IsDouble()) {
    const double seconds = value->GetDouble();
    // Within +-2^53: exactly representable, far beyond any real date.
    if (std::isfinite(seconds) && std::fabs(seconds) < 9007199254740992.0) {
      return std::optional<std::int64_t>(static_cast<std::int64_t>(std::floor(seconds)));
    }
  }
  return Malformed(std::string("'") + name + "' is not a NumericDate");
}

}  // namespace

Result<ParsedJwt> ParseJwt(std::string_view compact) {
  if (compact.empty()) return Malformed("empty token");
  if (compact.size() > kMaxJwtBytes) return Malformed("token is too long");
  const std::size_t first = compact.find('.');
  const std::size_t second =
      first == std::string_view::npos ? std::string_view::npos : compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos) {
    return Malformed("not a compact JWS (three dot-separated parts)");
  }
  ParsedJwt jwt;
  jwt.signing_input = std::string(compact.substr(0, second));
  const std::optional<std::string> signature = Base64UrlDecode(compact.substr(second + 1));
  if (!signature) return Malformed("signature is not base64url");
  jwt.signature = *signature;

  auto header_doc = DecodeObject(compact.substr(0, first), "header");
  if (!header_doc) return header_doc.error();
  const rapidjson::Value& header = json_internal::AsValue((*header_doc)->root());
  bool present = false;
  if (Status s = ReadString(header, "alg", true, jwt.header.alg, present); !s) return s.error();
  if (Status s = ReadString(header, "kid", true, jwt.header.kid, present); !s) return s.error();
  if (Status s = ReadString(header, "typ", false, jwt.header.typ, present); !s) return s.error();
  std::string jku;
  if (Status s = ReadString(header, "jku", false, jku, present); !s) return s.error();
  if (present) jwt.header.jku = std::move(jku);
  // RFC 7515 §4.1.11: an extension we do not understand must be refused.
  if (Member(header, "crit") != nullptr) return Malformed("'crit' header is not supported");

  auto payload_doc = DecodeObject(compact.substr(first + 1, second - first - 1), "payload");
  if (!payload_doc) return payload_doc.error();
  const rapidjson::Value& claims = json_internal::AsValue((*payload_doc)->root());
  if (Status s = ReadString(claims, "iss", true, jwt.claims.iss, present); !s) return s.error();
  if (Status s = ReadString(claims, "jti", true, jwt.claims.jti, present); !s) return s.error();
  std::string tenant;
  if (Status s = ReadString(claims, "tenant", false, tenant, present); !s) return s.error();
  if (present) jwt.claims.tenant = std::move(tenant);

  const rapidjson::Value* aud = Member(claims, "aud");
  if (aud == nullptr) return Malformed("'aud' is missing");
  if (aud->IsString()) {
    jwt.claims.aud.push_back(Str(*aud));
  } else if (aud->IsArray() && !aud->Empty()) {
    for (const rapidjson::Value& entry : aud->GetArray()) {
      if (!entry.IsString()) return Malformed("'aud' is not a string or array of strings");
      jwt.claims.aud.push_back(Str(entry));
    }
  } else {
    return Malformed("'aud' is not a string or array of strings");
  }

  auto exp = ReadTime(claims, "exp");
  if (!exp) return exp.error();
  if (!*exp) return Malformed("'exp' is missing");
  jwt.claims.exp = **exp;
  auto iat = ReadTime(claims, "iat");
  if (!iat) return iat.error();
  if (!*iat) return Malformed("'iat' is missing");
  jwt.claims.iat = **iat;
  auto nbf = ReadTime(claims, "nbf");
  if (!nbf) return nbf.error();
  jwt.claims.nbf = *nbf;
  return jwt;
}

}  // namespace cds::service
