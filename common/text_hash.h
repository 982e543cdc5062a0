#pragma once

// A fast non-cryptographic hash of short strings (codes, concept texts), for
// tables that probe once per record and then compare whole strings: a
// library hash call per string was a tenth of the engine's time (issue #18).
// Not for anything an attacker could aim at: buckets only, never identity.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cds {

// Mixes all of `s` into `h`, 8 bytes a step, inline. All of it, not a tail:
// names that differ only early still land in different buckets.
inline std::uint64_t MixText(std::uint64_t h, std::string_view s) {
  constexpr std::uint64_t kMul = 0x9e3779b97f4a7c15ULL;
  h = (h ^ s.size()) * kMul;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, s.data() + i, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    std::uint64_t tail = 0;
    if (s.size() >= 8) {
      std::memcpy(&tail, s.data() + s.size() - 8, 8);  // the last 8 bytes, overlapping
    } else if (s.size() >= 4) {
      // The first and the last 4 bytes (overlapping) hold every byte of a
      // 4-7 byte string, such as most codes: two loads, no loop.
      std::uint32_t first = 0, last = 0;
      std::memcpy(&first, s.data(), 4);
      std::memcpy(&last, s.data() + s.size() - 4, 4);
      tail = first | (static_cast<std::uint64_t>(last) << 32);
    } else {
      for (std::size_t k = 0; k < s.size(); ++k) {
        tail |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[k])) << (8 * k);
      }
    }
    h = (h ^ tail) * kMul;
  }
  return h ^ (h >> 32);
}

}  // namespace cds
