// base64url and the algorithm names of service/auth/jwt.h.
#include <array>
#include <cstdint>

#include "service/auth/jwt.h"

namespace cds::service {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> MakeDecodeTable() {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return table;
}

constexpr std::array<std::int8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;  // never a valid length
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const std::int8_t value = kDecode[static_cast<unsigned char>(c)];
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFFu));
    }
  }
  // The leftover bits must be zero (canonical encoding only).
  if (bits > 0 && (buffer & ((1u << bits) - 1u)) != 0) return std::nullopt;
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3Fu]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3Fu]);
  return out;
}

std::optional<JwtAlgorithm> JwtAlgorithmFromName(std::string_view name) {
  if (name == "ES256") return JwtAlgorithm::kES256;
  if (name == "ES384") return JwtAlgorithm::kES384;
  if (name == "ES512") return JwtAlgorithm::kES512;
  if (name == "RS256") return JwtAlgorithm::kRS256;
  if (name == "RS384") return JwtAlgorithm::kRS384;
  if (name == "RS512") return JwtAlgorithm::kRS512;
  return std::nullopt;
}

const char* JwtAlgorithmName(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kES256:
      return "ES256";
    case JwtAlgorithm::kES384:
      return "ES384";
    case JwtAlgorithm::kES512:
      return "ES512";
    case JwtAlgorithm::kRS256:
      return "RS256";
    case JwtAlgorithm::kRS384:
      return "RS384";
    case JwtAlgorithm::kRS512:
      return "RS512";
  }
  return "?";
}

bool IsEcAlgorithm(JwtAlgorithm algorithm) {
  return algorithm == JwtAlgorithm::kES256 || algorithm == JwtAlgorithm::kES384 ||
         algorithm == JwtAlgorithm::kES512;
}

}  // namespace cds::service
