// common/utf8: IsValidUtf8 against RapidJSON's own UTF-8 check as the oracle.
// JsonDocument::ParseOwned skips RapidJSON's check when IsValidUtf8 passes, so
// IsValidUtf8 must never accept a byte sequence that RapidJSON would refuse.

#include "common/utf8.h"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

namespace cds {
namespace {

// RapidJSON's verdict on `bytes` inside a JSON string.
bool RapidJsonAccepts(const std::string& bytes) {
  const std::string text = "\"" + bytes + "\"";
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::BaseReaderHandler<> ignore;
  rapidjson::Reader reader;
  return !reader.Parse<rapidjson::kParseValidateEncodingFlag>(stream, ignore).IsError();
}

// Bytes that matter to a UTF-8 check: ASCII, and the edges of every range in
// Unicode's Table 3-7 (continuation 80..BF and its sub-ranges, leads C2..F4).
const std::vector<unsigned char>& EdgeBytes() {
  static const std::vector<unsigned char> bytes = {0x00, 0x22, 0x41, 0x7F, 0x80, 0x8F, 0x90,
                                                   0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                                   0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  return bytes;
}

std::string Bytes(std::initializer_list<unsigned> values) {
  std::string out;
  for (unsigned v : values) out.push_back(static_cast<char>(v));
  return out;
}

BOOST_AUTO_TEST_SUITE(Utf8)

BOOST_AUTO_TEST_CASE(agrees_with_rapidjson_on_every_one_and_two_byte_sequence) {
  int disagreements = 0;
  // Control characters, '"' and '\\' are JSON's business inside a string, not
  // the encoding's: they are left out.
  const auto json_special = [](unsigned byte) {
    return byte < 0x20 || byte == '"' || byte == '\\';
  };
  for (unsigned a = 0; a < 256; ++a) {
    if (json_special(a)) continue;
    if (IsValidUtf8(Bytes({a})) != RapidJsonAccepts(Bytes({a}))) ++disagreements;
    for (unsigned b = 0; b < 256; ++b) {
      if (json_special(b)) continue;
      const std::string s = Bytes({a, b});
      if (IsValidUtf8(s) != RapidJsonAccepts(s)) {
        ++disagreements;
        BOOST_TEST_MESSAGE("disagree on " << std::hex << a << " " << b);
      }
    }
  }
  BOOST_TEST(disagreements == 0);
}

BOOST_AUTO_TEST_CASE(agrees_with_rapidjson_on_three_and_four_byte_sequences) {
  int disagreements = 0;
  int accepted = 0;
  for (unsigned lead = 0xC0; lead < 256; ++lead) {
    for (unsigned second = 0x80; second < 0xC0; ++second) {
      for (unsigned char third : EdgeBytes()) {
        if (third == 0 || third == '"') continue;
        const std::string three = Bytes({lead, second, third});
        const bool ok3 = IsValidUtf8(three);
        accepted += ok3 ? 1 : 0;
        if (ok3 != RapidJsonAccepts(three)) ++disagreements;
        for (unsigned char fourth : EdgeBytes()) {
          if (fourth == 0 || fourth == '"') continue;
          const std::string four = three + static_cast<char>(fourth);
          if (IsValidUtf8(four) != RapidJsonAccepts(four)) ++disagreements;
        }
      }
    }
  }
  BOOST_TEST(disagreements == 0);
  BOOST_TEST(accepted > 1000);  // the loop did reach valid sequences
}

BOOST_AUTO_TEST_CASE(named_cases) {
  BOOST_TEST(IsValidUtf8(""));
  BOOST_TEST(IsValidUtf8("M\xC3\xBCller \xE2\x82\xAC \xF0\x9F\x98\x80"));
  BOOST_TEST(IsValidUtf8("\xEF\xBF\xBF\xF4\x8F\xBF\xBF"));  // U+FFFF, U+10FFFF
  BOOST_TEST(!IsValidUtf8("\xC0\xAF"));                     // overlong '/'
  BOOST_TEST(!IsValidUtf8("\xE0\x9F\xBF"));                 // overlong U+07FF
  BOOST_TEST(!IsValidUtf8("\xED\xA0\x80"));                 // surrogate U+D800
  BOOST_TEST(!IsValidUtf8("\xF4\x90\x80\x80"));             // U+110000
  BOOST_TEST(!IsValidUtf8("\xE2\x82"));                     // text ends inside a sequence
  BOOST_TEST(!IsValidUtf8("\x80"));
}

// The eight-byte ASCII steps must not skip a bad byte at any position, nor a
// sequence that straddles two words.
BOOST_AUTO_TEST_CASE(a_bad_byte_is_found_at_every_position) {
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      std::string text(length, 'a');
      text[at] = '\xFF';
      BOOST_TEST(!IsValidUtf8(text), "length " << length << " at " << at);
      if (at + 2 <= length) {
        text.replace(at, 2, "\xC3\xBC");
        BOOST_TEST(IsValidUtf8(text), "length " << length << " at " << at);
        text[at + 1] = 'a';  // lead byte without its continuation
        BOOST_TEST(!IsValidUtf8(text), "length " << length << " at " << at);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
