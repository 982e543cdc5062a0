#include "common/same_bytes.h"

#include <string>

#include <boost/test/unit_test.hpp>

namespace cds {
namespace {

BOOST_AUTO_TEST_SUITE(SameBytesTests)

// Every length up to past the 16-byte word pair, a difference at every
// position (each word and the overlap of the two), and lengths that differ.
BOOST_AUTO_TEST_CASE(agrees_with_string_equality_at_every_length_and_position) {
  int compared = 0;
  for (std::size_t n = 0; n <= 24; ++n) {
    std::string a;
    for (std::size_t i = 0; i < n; ++i) a += static_cast<char>('a' + i % 26);
    BOOST_TEST(SameBytes(a, std::string(a)), n);
    for (std::size_t at = 0; at < n; ++at) {
      std::string b = a;
      b[at] = static_cast<char>(b[at] ^ 0x80);
      BOOST_TEST(!SameBytes(a, b), n << " at " << at);
      ++compared;
    }
    BOOST_TEST(!SameBytes(a, a + "x"), n);
    BOOST_TEST(!SameBytes(a + "x", a), n);
  }
  BOOST_TEST(compared == 300);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
