#pragma once

// Test-time signing keys and JWTs (issue #6 acceptance 1): fresh EC P-384 and
// RSA-2048 keys made with OpenSSL when a test runs, their public JWKs, and
// compact JWS tokens signed ES384/RS384/RS256, HS256 (with any secret) or not
// at all (alg "none"). Nothing here is used outside tests.

#include <cstdint>
#include <memory>
#include <string>

namespace cds::testing {

class TestKey {
 public:
  enum class Type { kEcP384, kEcP256, kRsa2048 };
  static TestKey Generate(Type type);
  // A private key from PEM text (PKCS#8 or SEC1 "EC PRIVATE KEY"), e.g. the
  // CDS Hooks sandbox's published demo key (tests/data/sandbox). Throws
  // std::runtime_error if it cannot be read or is not P-256/P-384/RSA.
  static TestKey FromPrivatePem(const std::string& pem);

  // {"kty":"EC","crv":"P-384","x":..,"y":..,"kid":kid} or RSA n/e; `alg` added when not "".
  std::string PublicJwk(const std::string& kid, const std::string& alg = "") const;
  // The SubjectPublicKeyInfo PEM (what a confused verifier might use as an HMAC secret).
  std::string PublicPem() const;
  // JWS signature over `input` for ES256/ES384 (raw r||s), RS256/RS384/RS512.
  std::string Sign(const std::string& alg, const std::string& input) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  Type type_ = Type::kEcP384;
};

// {"keys":[jwk, ...]} from PublicJwk strings.
std::string JwkSetOf(const std::string& jwk_a, const std::string& jwk_b = "");

std::string HmacSha256(const std::string& secret, const std::string& data);

// Builds "b64(header).b64(payload).b64(signature)". `header` and `payload`
// are JSON texts; the signature is made by `key` with the header's alg, or is
// empty for "none", or HMAC-SHA256 with `hmac_secret` for "HS256".
std::string MakeJwt(const std::string& header, const std::string& payload, const TestKey* key,
                    const std::string& alg, const std::string& hmac_secret = "");

}  // namespace cds::testing
