#include "tests/support/jwt_mint.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <string_view>
#include <vector>

namespace cds::testing {
namespace {

// RFC 4648 §5 without padding. The test's own encoder, not the service's
// (service/auth/jwt_base64.cc): tokens minted here are an independent check of the
// decoder, and the support library needs no service/ code.
std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                              static_cast<unsigned char>(bytes[i + 1]) << 8 |
                                              static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16);
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    if (rest == 2) out += kAlphabet[n >> 6 & 63];
  }
  return out;
}

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

std::string BnBytes(const BIGNUM* bn, int width) {
  std::string out(static_cast<std::size_t>(width > 0 ? width : BN_num_bytes(bn)), '\0');
  Check(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()),
                     static_cast<int>(out.size())) >= 0,
        "BN_bn2binpad");
  return out;
}

std::string BnParam(EVP_PKEY* key, const char* name, int width) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
  std::string out = BnBytes(bn, width);
  BN_free(bn);
  return out;
}

const EVP_MD* Digest(const std::string& alg) {
  if (alg.substr(2) == "256") return EVP_sha256();
  if (alg.substr(2) == "384") return EVP_sha384();
  return EVP_sha512();
}

}  // namespace

struct TestKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

TestKey TestKey::Generate(Type type) {
  TestKey out;
  out.type_ = type;
  out.impl_ = std::make_shared<Impl>();
  if (type == Type::kRsa2048) {
    out.impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  } else {
    out.impl_->key =
        EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", type == Type::kEcP384 ? "P-384" : "P-256");
  }
  Check(out.impl_->key != nullptr, "keygen");
  return out;
}

TestKey TestKey::FromPrivatePem(const std::string& pem) {
  TestKey out;
  out.impl_ = std::make_shared<Impl>();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Check(bio != nullptr, "BIO_new_mem_buf");
  out.impl_->key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  Check(out.impl_->key != nullptr, "PEM_read_bio_PrivateKey");
  if (EVP_PKEY_is_a(out.impl_->key, "RSA")) {
    out.type_ = Type::kRsa2048;
  } else {
    Check(EVP_PKEY_is_a(out.impl_->key, "EC"), "not an EC or RSA key");
    const int bits = EVP_PKEY_get_bits(out.impl_->key);
    Check(bits == 384 || bits == 256, "EC curve is not P-256 or P-384");
    out.type_ = bits == 384 ? Type::kEcP384 : Type::kEcP256;
  }
  return out;
}

std::string TestKey::PublicJwk(const std::string& kid, const std::string& alg) const {
  std::string jwk;
  if (type_ == Type::kRsa2048) {
    jwk = R"({"kty":"RSA","n":")" + Base64UrlEncode(BnParam(impl_->key, OSSL_PKEY_PARAM_RSA_N, 0)) +
          R"(","e":")" + Base64UrlEncode(BnParam(impl_->key, OSSL_PKEY_PARAM_RSA_E, 0)) + "\"";
  } else {
    const int width = type_ == Type::kEcP384 ? 48 : 32;
    jwk = R"({"kty":"EC","crv":")" + std::string(type_ == Type::kEcP384 ? "P-384" : "P-256") +
          R"(","x":")" + Base64UrlEncode(BnParam(impl_->key, OSSL_PKEY_PARAM_EC_PUB_X, width)) +
          R"(","y":")" + Base64UrlEncode(BnParam(impl_->key, OSSL_PKEY_PARAM_EC_PUB_Y, width)) +
          "\"";
  }
  jwk += R"(,"use":"sig","kid":")" + kid + "\"";
  if (!alg.empty()) jwk += R"(,"alg":")" + alg + "\"";
  return jwk + "}";
}

std::string TestKey::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(bio != nullptr && PEM_write_bio_PUBKEY(bio, impl_->key) == 1, "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return pem;
}

std::string TestKey::Sign(const std::string& alg, const std::string& input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Check(EVP_DigestSignInit(ctx, nullptr, Digest(alg), nullptr, impl_->key) == 1, "DigestSignInit");
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  Check(EVP_DigestSign(ctx, nullptr, &length, data, input.size()) == 1, "DigestSign size");
  std::string der(length, '\0');
  Check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &length, data,
                       input.size()) == 1,
        "DigestSign");
  der.resize(length);
  EVP_MD_CTX_free(ctx);
  if (alg[0] != 'E') return der;
  // DER ECDSA-Sig-Value -> JWS raw r||s.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  Check(sig != nullptr, "d2i_ECDSA_SIG");
  const int width = type_ == Type::kEcP384 ? 48 : 32;
  std::string raw = BnBytes(ECDSA_SIG_get0_r(sig), width) + BnBytes(ECDSA_SIG_get0_s(sig), width);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string JwkSetOf(const std::string& jwk_a, const std::string& jwk_b) {
  return R"({"keys":[)" + jwk_a + (jwk_b.empty() ? "" : "," + jwk_b) + "]}";
}

std::string HmacSha256(const std::string& secret, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Check(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
             &length) != nullptr,
        "HMAC");
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string MakeJwt(const std::string& header, const std::string& payload, const TestKey* key,
                    const std::string& alg, const std::string& hmac_secret) {
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  std::string signature;
  if (alg == "HS256") {
    signature = HmacSha256(hmac_secret, input);
  } else if (alg != "none" && key != nullptr) {
    signature = key->Sign(alg, input);
  }
  return input + "." + Base64UrlEncode(signature);
}

}  // namespace cds::testing
