#pragma once

// JSON Web Tokens as CDS clients send them (CDS Hooks 2.0 §Trusting CDS
// Clients; checklist S-12…S-25): a compact JWS "header.payload.signature",
// parsed into plain values and checked for shape only. Signatures are checked
// with JwtPublicKey (service/auth/jwt_key.h); trust decisions (issuer, audience,
// times, replay) are made by the Authenticator (service/auth/auth.h).
//
// Parsing is strict: base64url without padding, UTF-8 JSON objects no deeper
// than 16 levels, no duplicate member names, required members of the right
// type, and no "crit" header (no extension is understood). Tokens over
// kMaxJwtBytes are refused before any decoding.
//
// Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cds::service {

inline constexpr std::size_t kMaxJwtBytes = 16 * 1024;

// The signature algorithms magcds can verify. HS* and "none" are not among
// them: they are never accepted (checklist S-13).
enum class JwtAlgorithm { kES256, kES384, kES512, kRS256, kRS384, kRS512 };

// "ES384" -> kES384; nullopt for anything else (including "none" and "HS256").
std::optional<JwtAlgorithm> JwtAlgorithmFromName(std::string_view name);
const char* JwtAlgorithmName(JwtAlgorithm algorithm);
bool IsEcAlgorithm(JwtAlgorithm algorithm);

struct JwtHeader {
  std::string alg;                 // as sent; may name an algorithm we refuse
  std::string kid;                 // required, non-empty
  std::string typ;                 // "" when absent
  std::optional<std::string> jku;  // the JWK Set URL, when sent
};

struct JwtClaims {
  std::string iss;
  std::vector<std::string> aud;  // a string claim becomes one element
  std::int64_t exp = 0;          // NumericDate, seconds (fractions dropped)
  std::int64_t iat = 0;
  std::optional<std::int64_t> nbf;
  std::string jti;
  std::optional<std::string> tenant;
};

struct ParsedJwt {
  JwtHeader header;
  JwtClaims claims;
  std::string signing_input;  // "header.payload" exactly as received
  std::string signature;      // decoded bytes
};

// Parses a compact JWS. Fails with kUnauthorized and a message for the log
// (never containing the token) when the text is not a well-formed JWT with
// string iss, kid, alg and jti, numeric exp and iat, and aud a string or an
// array of strings.
Result<ParsedJwt> ParseJwt(std::string_view compact);

// Strict base64url (RFC 7515 §2): alphabet A-Z a-z 0-9 - _, no padding, no
// whitespace, no non-zero trailing bits. nullopt if the text is not that.
std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace cds::service
