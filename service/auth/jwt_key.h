#pragma once

// Public keys of CDS clients and their JWK Sets (RFC 7517; checklist S-20…S-22),
// and JWS signature verification with OpenSSL 3 (EVP_DigestVerify). No OpenSSL
// type appears here: a JwtPublicKey holds its EVP_PKEY behind a shared pointer.
//
// Supported keys: EC on P-256/P-384/P-521 ("kty":"EC", "crv", "x", "y"; the
// point must be on the curve) and RSA of at least 2048 bits ("kty":"RSA", "n",
// "e"). A key is only used with the algorithms that fit it: ES256/P-256,
// ES384/P-384, ES512/P-521, RS* with RSA; and only with its own "alg" when the
// JWK names one.
//
// Thread-safety: keys and key sets are immutable; Verify may be called from
// many threads at once.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "service/auth/jwt.h"

namespace cds::service {

class JwtPublicKey {
 public:
  struct Impl;

  // `x` and `y` are the big-endian coordinates, each exactly the curve's size.
  // kInvalidRequest when the curve is unknown or the point is not on it.
  static Result<JwtPublicKey> FromEc(std::string_view crv, std::string_view x, std::string_view y);
  // `n` and `e` big-endian. kInvalidRequest when n is under 2048 bits or e is
  // not an odd number above 1.
  static Result<JwtPublicKey> FromRsa(std::string_view n, std::string_view e);

  const std::string& kid() const { return kid_; }
  void set_kid(std::string kid) { kid_ = std::move(kid); }
  // The JWK's "alg", when it named one.
  const std::optional<JwtAlgorithm>& alg() const { return alg_; }
  void set_alg(std::optional<JwtAlgorithm> alg) { alg_ = alg; }

  // True when this key can be used with `algorithm` (type, curve and "alg").
  bool Fits(JwtAlgorithm algorithm) const;

  // True when `signature` is a valid `algorithm` signature of `signing_input`
  // by this key. ES* signatures are the JWS raw r||s form (RFC 7518 §3.4),
  // converted to DER here. False for a key that does not fit `algorithm`.
  bool Verify(JwtAlgorithm algorithm, std::string_view signing_input,
              std::string_view signature) const;

 private:
  std::shared_ptr<const Impl> impl_;
  std::string kid_;
  std::optional<JwtAlgorithm> alg_;
};

struct JwkSet {
  std::vector<JwtPublicKey> keys;
  // Keys that were left out, with why (e.g. "kid 'k2': kty 'oct' is not supported").
  std::vector<std::string> skipped;

  // The key with this kid, or nullptr.
  const JwtPublicKey* Find(std::string_view kid) const;
};

// Parses a JWK Set document {"keys":[...]}. Keys that are not usable signature
// keys (other kty, "use" not "sig", "key_ops" without "verify", private
// parameters present, no kid, bad coordinates) are skipped and listed; a
// duplicate kid is an error. kInvalidRequest when the text is not a JWK Set.
Result<JwkSet> ParseJwkSet(std::string_view json);

}  // namespace cds::service
