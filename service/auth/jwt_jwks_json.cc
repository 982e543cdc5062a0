// JWK Set parsing (service/auth/jwt_key.h).
#include <set>
#include <utility>

#include "common/json_internal.h"
#include "service/auth/jwt_key.h"

namespace cds::service {
namespace {

constexpr std::size_t kMaxJwksDepth = 8;
constexpr std::size_t kMaxKeys = 100;

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string> StringMember(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || !value->IsString()) return std::nullopt;
  return std::string(value->GetString(), value->GetStringLength());
}

// A base64url member decoded, or nullopt.
std::optional<std::string> Base64Member(const rapidjson::Value& object, const char* name) {
  std::optional<std::string> text = StringMember(object, name);
  if (!text) return std::nullopt;
  return Base64UrlDecode(*text);
}

// One JWK -> key, or why it is not usable.
Result<JwtPublicKey> ReadKey(const rapidjson::Value& jwk) {
  const std::optional<std::string> kty = StringMember(jwk, "kty");
  if (!kty) return Error{ErrorCode::kInvalidRequest, "no kty"};
  if (const rapidjson::Value* use = Member(jwk, "use"); use != nullptr) {
    if (!use->IsString() || std::string_view(use->GetString(), use->GetStringLength()) != "sig") {
      return Error{ErrorCode::kInvalidRequest, "use is not 'sig'"};
    }
  }
  if (const rapidjson::Value* ops = Member(jwk, "key_ops"); ops != nullptr) {
    bool verify = false;
    if (ops->IsArray()) {
      for (const rapidjson::Value& op : ops->GetArray()) {
        verify = verify || (op.IsString() && std::string_view(op.GetString()) == "verify");
      }
    }
    if (!verify) return Error{ErrorCode::kInvalidRequest, "key_ops does not include 'verify'"};
  }
  // A published private key is a compromised key: never use it.
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "k"}) {
    if (Member(jwk, secret) != nullptr) {
      return Error{ErrorCode::kInvalidRequest, "holds private key material"};
    }
  }
  Result<JwtPublicKey> key =
      Error{ErrorCode::kInvalidRequest, "kty '" + *kty + "' is not supported"};
  if (*kty == "EC") {
    const std::optional<std::string> crv = StringMember(jwk, "crv");
    const std::optional<std::string> x = Base64Member(jwk, "x");
    const std::optional<std::string> y = Base64Member(jwk, "y");
    if (!crv || !x || !y) return Error{ErrorCode::kInvalidRequest, "EC key needs crv, x and y"};
    key = JwtPublicKey::FromEc(*crv, *x, *y);
  } else if (*kty == "RSA") {
    const std::optional<std::string> n = Base64Member(jwk, "n");
    const std::optional<std::string> e = Base64Member(jwk, "e");
    if (!n || !e) return Error{ErrorCode::kInvalidRequest, "RSA key needs n and e"};
    key = JwtPublicKey::FromRsa(*n, *e);
  }
  if (!key) return key.error();
  if (const rapidjson::Value* alg = Member(jwk, "alg"); alg != nullptr) {
    const std::optional<JwtAlgorithm> algorithm =
        alg->IsString()
            ? JwtAlgorithmFromName(std::string_view(alg->GetString(), alg->GetStringLength()))
            : std::nullopt;
    if (!algorithm) return Error{ErrorCode::kInvalidRequest, "alg is not a supported algorithm"};
    key->set_alg(algorithm);
    if (!key->Fits(*algorithm))
      return Error{ErrorCode::kInvalidRequest, "alg does not fit the key"};
  }
  return key;
}

}  // namespace

Result<JwkSet> ParseJwkSet(std::string_view json) {
  auto document = JsonDocument::Parse(json, kMaxJwksDepth);
  if (!document) return Error{ErrorCode::kInvalidRequest, "JWK Set: " + document.error().message};
  const rapidjson::Value& root = json_internal::AsValue((*document)->root());
  const rapidjson::Value* keys = root.IsObject() ? Member(root, "keys") : nullptr;
  if (keys == nullptr || !keys->IsArray()) {
    return Error{ErrorCode::kInvalidRequest, "JWK Set: not an object with a 'keys' array"};
  }
  if (keys->Size() > kMaxKeys) {
    return Error{ErrorCode::kInvalidRequest, "JWK Set: more than 100 keys"};
  }
  JwkSet set;
  std::set<std::string> kids;
  for (const rapidjson::Value& jwk : keys->GetArray()) {
    const std::optional<std::string> kid = jwk.IsObject() ? StringMember(jwk, "kid") : std::nullopt;
    if (!kid || kid->empty()) {
      set.skipped.push_back("a key without a kid");
      continue;
    }
    // A kid must select one key (checklist S-20); two with one kid is a broken set.
    if (!kids.insert(*kid).second) {
      return Error{ErrorCode::kInvalidRequest, "JWK Set: kid '" + *kid + "' appears twice"};
    }
    Result<JwtPublicKey> key = ReadKey(jwk);
    if (!key) {
      set.skipped.push_back("kid '" + *kid + "': " + key.error().message);
      continue;
    }
    key->set_kid(*kid);
    set.keys.push_back(std::move(*key));
  }
  return set;
}

}  // namespace cds::service
