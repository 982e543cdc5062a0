#pragma once

// Equality of two short strings (codes, systems, names) without a call into
// memcmp: most compared strings in the engine are under 17 bytes and equal in
// length, where the library call costs more than the comparison (issue #18:
// memcmp was a tenth of rules::Evaluate on 1,000 resources).

#include <cstdint>
#include <cstring>
#include <string_view>

namespace cds {

inline bool SameBytes(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    // Two 8-byte words that overlap when n < 16: the first and the last.
    std::uint64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    std::memcpy(&x0, x, 8);
    std::memcpy(&y0, y, 8);
    std::memcpy(&x1, x + n - 8, 8);
    std::memcpy(&y1, y + n - 8, 8);
    return x0 == y0 && x1 == y1;
  }
  if (n >= 4) {
    std::uint32_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    std::memcpy(&x0, x, 4);
    std::memcpy(&y0, y, 4);
    std::memcpy(&x1, x + n - 4, 4);
    std::memcpy(&y1, y + n - 4, 4);
    return x0 == y0 && x1 == y1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

}  // namespace cds
