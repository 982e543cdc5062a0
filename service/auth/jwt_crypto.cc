// OpenSSL 3 side of service/auth/jwt_key.h: JWK coordinates -> EVP_PKEY through
// OSSL_PARAM_BLD + EVP_PKEY_fromdata, and EVP_DigestVerify (stack notes §6).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <optional>
#include <string>

#include "service/auth/jwt_key.h"

namespace cds::service {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

enum class KeyKind { kEcP256, kEcP384, kEcP521, kRsa };

Error BadKey(std::string what) { return Error{ErrorCode::kInvalidRequest, std::move(what)}; }

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

BnPtr ToBn(std::string_view big_endian) {
  return BnPtr(BN_bin2bn(Bytes(big_endian), static_cast<int>(big_endian.size()), nullptr));
}

// Builds a public key of `type` ("EC" or "RSA") from the built parameters.
std::unique_ptr<EVP_PKEY, PkeyFree> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return nullptr;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return nullptr;
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) return nullptr;
  return std::unique_ptr<EVP_PKEY, PkeyFree>(key);
}

std::size_t CoordinateBytes(KeyKind kind) {
  switch (kind) {
    case KeyKind::kEcP256:
      return 32;
    case KeyKind::kEcP384:
      return 48;
    case KeyKind::kEcP521:
      return 66;
    case KeyKind::kRsa:
      return 0;
  }
  return 0;
}

const EVP_MD* DigestFor(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kES256:
    case JwtAlgorithm::kRS256:
      return EVP_sha256();
    case JwtAlgorithm::kES384:
    case JwtAlgorithm::kRS384:
      return EVP_sha384();
    case JwtAlgorithm::kES512:
    case JwtAlgorithm::kRS512:
      return EVP_sha512();
  }
  return nullptr;
}

// JWS raw r||s (RFC 7518 §3.4) -> DER ECDSA-Sig-Value, as OpenSSL verifies it.
std::optional<std::string> RawEcdsaToDer(std::string_view raw, std::size_t coordinate_bytes) {
  if (raw.size() != 2 * coordinate_bytes) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BnPtr r = ToBn(raw.substr(0, coordinate_bytes));
  BnPtr s = ToBn(raw.substr(coordinate_bytes));
  if (!sig || !r || !s) return std::nullopt;
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  static_cast<void>(r.release());  // owned by sig now
  static_cast<void>(s.release());
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(length), '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) return std::nullopt;
  return der;
}

}  // namespace

struct JwtPublicKey::Impl {
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  KeyKind kind = KeyKind::kRsa;
};

Result<JwtPublicKey> JwtPublicKey::FromEc(std::string_view crv, std::string_view x,
                                          std::string_view y) {
  KeyKind kind;
  const char* group;
  if (crv == "P-256") {
    kind = KeyKind::kEcP256;
    group = SN_X9_62_prime256v1;
  } else if (crv == "P-384") {
    kind = KeyKind::kEcP384;
    group = SN_secp384r1;
  } else if (crv == "P-521") {
    kind = KeyKind::kEcP521;
    group = SN_secp521r1;
  } else {
    return BadKey("crv is not P-256, P-384 or P-521");
  }
  const std::size_t size = CoordinateBytes(kind);
  if (x.size() != size || y.size() != size) return BadKey("x or y has the wrong length for crv");
  std::string point = "\x04";  // uncompressed SEC1 point
  point.append(x);
  point.append(y);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Error{ErrorCode::kInternal, "cannot build EC key parameters"};
  }
  auto key = FromData("EC", bld.get());
  if (!key) return BadKey("the EC point is not valid");
  // EVP_PKEY_fromdata accepts any encodable point: check it is on the curve.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return BadKey("the EC point is not on the curve");
  auto impl = std::make_shared<Impl>();
  impl->key = std::move(key);
  impl->kind = kind;
  JwtPublicKey out;
  out.impl_ = std::move(impl);
  return out;
}

Result<JwtPublicKey> JwtPublicKey::FromRsa(std::string_view n, std::string_view e) {
  BnPtr modulus = ToBn(n);
  BnPtr exponent = ToBn(e);
  if (!modulus || !exponent) return Error{ErrorCode::kInternal, "out of memory"};
  if (BN_num_bits(modulus.get()) < 2048) return BadKey("RSA modulus is under 2048 bits");
  if (BN_num_bits(modulus.get()) > 16384) return BadKey("RSA modulus is over 16384 bits");
  if (!BN_is_odd(exponent.get()) || BN_is_one(exponent.get()) || BN_num_bits(exponent.get()) > 64) {
    return BadKey("RSA exponent is not valid");
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    return Error{ErrorCode::kInternal, "cannot build RSA key parameters"};
  }
  auto key = FromData("RSA", bld.get());
  if (!key) return BadKey("the RSA key is not valid");
  auto impl = std::make_shared<Impl>();
  impl->key = std::move(key);
  impl->kind = KeyKind::kRsa;
  JwtPublicKey out;
  out.impl_ = std::move(impl);
  return out;
}

bool JwtPublicKey::Fits(JwtAlgorithm algorithm) const {
  if (!impl_) return false;
  if (alg_ && *alg_ != algorithm) return false;
  switch (algorithm) {
    case JwtAlgorithm::kES256:
      return impl_->kind == KeyKind::kEcP256;
    case JwtAlgorithm::kES384:
      return impl_->kind == KeyKind::kEcP384;
    case JwtAlgorithm::kES512:
      return impl_->kind == KeyKind::kEcP521;
    case JwtAlgorithm::kRS256:
    case JwtAlgorithm::kRS384:
    case JwtAlgorithm::kRS512:
      return impl_->kind == KeyKind::kRsa;
  }
  return false;
}

bool JwtPublicKey::Verify(JwtAlgorithm algorithm, std::string_view signing_input,
                          std::string_view signature) const {
  if (!Fits(algorithm)) return false;
  std::string der;
  std::string_view to_check = signature;
  if (IsEcAlgorithm(algorithm)) {
    std::optional<std::string> converted = RawEcdsaToDer(signature, CoordinateBytes(impl_->kind));
    if (!converted) return false;
    der = std::move(*converted);
    to_check = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  // RS*: the RSA default padding is PKCS #1 v1.5, as RFC 7518 §3.3 requires.
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(algorithm), nullptr, impl_->key.get()) !=
      1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), Bytes(to_check), to_check.size(), Bytes(signing_input),
                          signing_input.size()) == 1;
}

const JwtPublicKey* JwkSet::Find(std::string_view kid) const {
  for (const JwtPublicKey& key : keys) {
    if (key.kid() == kid) return &key;
  }
  return nullptr;
}

}  // namespace cds::service
