// Issue #18: the loader checks the schemas' simple string keywords itself
// (rules/schema_pattern.h, in SchemaSubset). The oracle for SchemaPattern is
// RapidJSON's own regex, which its validator uses.

#include "rules/schema_pattern.h"

#include <rapidjson/document.h>
#include <rapidjson/internal/regex.h>

#include <random>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "rules/schema_internal.h"

namespace cds {
namespace {

using rules::SchemaPattern;

BOOST_AUTO_TEST_SUITE(SchemaPatterns)

BOOST_AUTO_TEST_CASE(matches_exactly_what_rapidjson_regex_matches) {
  const std::vector<std::string> patterns = {
      // The shipped schemas' patterns...
      "^[A-Za-z0-9._-]+$", "^[A-Za-z0-9_-]+$", "^[0-9]+[.][0-9]+[.][0-9]+$",
      "^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$", "^https?://",
      // ...and the rest of the subset: unanchored, optional, repeated, escapes.
      "a?b*c+", "x[.-]y", "[0-9]", "^a*$", "b+$", "a\\.b\\+\\$", "^[a-c]?[x-z]*q+r?$", "[-a]",
      "[a-]z"};
  const std::string alphabet = "abcqrxyz09AZ._-/:hts p\xC3\xA9";
  std::mt19937 random(18);
  int compared = 0;
  for (const std::string& source : patterns) {
    std::optional<SchemaPattern> ours = SchemaPattern::Compile(source);
    BOOST_TEST_REQUIRE(ours.has_value(), source);
    rapidjson::internal::Regex oracle(source.c_str());
    BOOST_TEST_REQUIRE(oracle.IsValid(), source);
    std::vector<std::string> texts = {"",          "a",     "https://x",  "http://",
                                      "httpss://", "1.2.3", "2026-12-03", "MG-01",
                                      "mg 01",     "x.y",   "x-y",        "xy"};
    for (int i = 0; i < 3000; ++i) {
      std::string text;
      const int length = static_cast<int>(random() % 12);
      for (int k = 0; k < length; ++k) text += alphabet[random() % alphabet.size()];
      if (text.find('\xC3') != std::string::npos && text.find("\xC3\xA9") == std::string::npos) {
        continue;  // keep the texts well-formed UTF-8, as the loader's are
      }
      texts.push_back(text);
    }
    for (const std::string& text : texts) {
      // Only whole characters: a lone byte of "é" is not UTF-8.
      bool whole = true;
      for (std::size_t k = 0; k < text.size(); ++k) {
        if (text[k] == '\xC3') whole = whole && k + 1 < text.size() && text[k + 1] == '\xA9';
        if (text[k] == '\xA9') whole = whole && k > 0 && text[k - 1] == '\xC3';
      }
      if (!whole) continue;
      BOOST_TEST(ours->Matches(text) == oracle.Search(text.c_str()),
                 source << " on '" << text << "'");
      ++compared;
    }
  }
  BOOST_TEST(compared > 20000);
}

BOOST_AUTO_TEST_CASE(anything_beyond_the_subset_is_left_to_rapidjson) {
  for (const char* source : {"(a|b)", "a|b", "[^a]", "a{2}", ".", "^a.b$", "\\d+", "\\w", "a+?",
                             "a**", "[a", "[]", "[z-a]", "^^a", "a$b", "\xC3\xA9"}) {
    BOOST_TEST(!SchemaPattern::Compile(source).has_value(), source);
  }
}

BOOST_AUTO_TEST_CASE(lengths_count_characters_not_bytes) {
  rules::StringKeywords keywords;
  keywords.min_length = 2;
  keywords.max_length = 3;
  BOOST_TEST(!keywords.Accepts("a"));
  BOOST_TEST(keywords.Accepts("ab"));
  BOOST_TEST(keywords.Accepts("\xC3\xA9\xC3\xA9\xC3\xA9"));  // 3 characters, 6 bytes
  BOOST_TEST(!keywords.Accepts("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"));
  BOOST_TEST(!keywords.Accepts("\xF0\x9F\x98\x80"));  // 1 character, 4 bytes
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
