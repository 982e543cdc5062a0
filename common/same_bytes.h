#pragma once

// Equality of two short strings (codes, systems, names) without a call into
// memcmp: most compared strings in the engine are under 17 bytes and equal in
// length, where the library call costs more than the comparison (issue #18:
// memcmp was a tenth of rules::Evaluate on 1,000 resources).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cds {
namespace same_bytes_internal {

// The first and the last sizeof(Word) bytes of two strings of length n, with
// sizeof(Word) <= n <= 2 * sizeof(Word): together (overlapping when n is
// smaller) they cover every byte.
template <typename Word>
bool SameEnds(const char* x, const char* y, std::size_t n) {
  Word x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  std::memcpy(&x0, x, sizeof(Word));
  std::memcpy(&y0, y, sizeof(Word));
  std::memcpy(&x1, x + n - sizeof(Word), sizeof(Word));
  std::memcpy(&y1, y + n - sizeof(Word), sizeof(Word));
  return x0 == y0 && x1 == y1;
}

}  // namespace same_bytes_internal

inline bool SameBytes(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n > 16) return std::memcmp(a.data(), b.data(), n) == 0;
  if (n >= 8) return same_bytes_internal::SameEnds<std::uint64_t>(a.data(), b.data(), n);
  if (n >= 4) return same_bytes_internal::SameEnds<std::uint32_t>(a.data(), b.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace cds
