#pragma once

// The simple regular expressions of the shipped JSON Schemas' "pattern"
// keywords ("^[A-Za-z0-9._-]+$", "^https?://", ...), matched without
// RapidJSON's regex engine: that engine decodes and steps through every
// character of every id, name and version of every rule, ~30 instructions a
// character, and was a tenth of a reload of 1,300 rules (issue #18). Anything
// beyond this subset does not compile here and stays with RapidJSON.

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace cds::rules {

class SchemaPattern {
 public:
  // The pattern compiled, if it uses only: "^" first, "$" last; literal ASCII
  // characters; "\" before a regex metacharacter; classes "[...]" of ASCII
  // characters and ranges (no negation); each of these optionally followed by
  // "?", "*" or "+"; at most 63 steps in all. nullopt for anything else.
  static std::optional<SchemaPattern> Compile(std::string_view pattern);

  // JSON Schema's meaning (ECMA-262 search): true when the pattern matches
  // some part of `text` — at its start if anchored with "^", at its end if
  // with "$". A byte outside ASCII (part of a multi-byte character) matches
  // no step, as the character it belongs to would not.
  bool Matches(std::string_view text) const;

 private:
  struct Step {
    std::bitset<128> chars;
    bool optional = false;  // "?" or "*"
    bool repeats = false;   // "*" (a "+" is compiled as the step, then the step "*")
  };
  // States 0..steps_.size(): before each step, and done. Bit i of a mask is
  // state i; Closure adds the states reachable by skipping optional steps.
  std::uint64_t Closure(std::uint64_t states) const;

  std::vector<Step> steps_;
  bool anchored_start_ = false;
  bool anchored_end_ = false;
  // Per ASCII byte, the steps that take it; the optional and the repeating
  // steps: one character is then a few mask operations, whatever the steps.
  std::vector<std::uint64_t> takes_;
  std::uint64_t optional_ = 0;
  std::uint64_t repeats_ = 0;
};

// A schema node's keywords for strings — pattern, minLength, maxLength — as
// the loader checks them (issue #18: RapidJSON's validator decodes every
// character of every card text to count it for "minLength": 1).
struct StringKeywords {
  std::optional<SchemaPattern> pattern;
  std::size_t min_length = 0;                             // in characters
  std::size_t max_length = static_cast<std::size_t>(-1);  // in characters
  bool Accepts(std::string_view text) const;              // `text` is well-formed UTF-8
};

}  // namespace cds::rules
