#pragma once

// Every value set of a rule set in one index, built when the rule set is
// loaded: code -> the sets that list it, token -> the patterns that start with
// it. A concept's membership of ALL sets is then one pass over its codes and
// tokens, instead of one pass per set it is asked about (issue #18: matching
// per set was ~60 % of rules::Evaluate). The index copies what it needs from
// the sets, so it stays valid when the RuleSet holding it is copied or moved.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/text_hash.h"

namespace cds::rules {

class ValueSet;
struct ConceptView;

// A text pattern: consecutive whole tokens; the last may be a prefix ("omeprazol*").
struct TextPattern {
  std::vector<std::string> tokens;
  bool last_is_prefix = false;
  std::string written;  // as in the file, for explain and diff
};

// Whether `pattern` matches `tokens` starting at token `start`.
bool PatternMatchesAt(const TextPattern& pattern, std::span<const std::string_view> tokens,
                      std::size_t start);

// Heterogeneous lookup, so hot paths can probe with string_views. Keys are
// "system|code" and text tokens, which differ at the end: only the length and
// the last 16 bytes are hashed (equality still compares whole keys). Hashing
// whole system URIs was a tenth of the engine's time per request, and the
// library hash call a few per cent of a cold call (issue #18).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const {
    constexpr std::size_t kTail = 16;
    const std::size_t n = s.size();
    return static_cast<std::size_t>(MixText(0, n > kTail ? s.substr(n - kTail) : s) ^
                                    (n * 0x9e3779b97f4a7c15ULL));
  }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
template <typename T>
using StringMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

class ValueSetIndex {
 public:
  // Indexes `sets` (their include/exclude matchers and set references, which
  // must be acyclic: the loader removes cycles).
  static ValueSetIndex Build(const std::vector<ValueSet>& sets);

  // How many sets were indexed (0 for a default-constructed index).
  std::size_t set_count() const { return sets_.size(); }
  // Unique to each Build (copies share it; 0 for a default-constructed
  // index): what MembershipCache keys its answers by.
  std::uint64_t id() const { return id_; }

  // out[i] = 1 when the concept is a member of set i (same semantics as
  // rules::Matches for every i), else 0. `out` is resized to set_count().
  void Members(const ConceptView& view, std::vector<std::uint8_t>& out) const;

 private:
  enum Side : std::uint8_t { kInclude = 1, kExclude = 2 };
  struct CodeHit {  // an exact code or a prefix of one matcher
    std::uint32_t set = 0;
    Side side = kInclude;
    bool any_seventh = true;  // prefixes: else only codes of 7 with one of `seventh`
    std::string seventh;
  };
  struct PatternHit {
    std::uint32_t set = 0;
    Side side = kInclude;
    std::uint32_t pattern = 0;  // into patterns_
  };
  struct SetLinks {
    std::vector<std::uint32_t> include_sets;
    std::vector<std::uint32_t> exclude_sets;
  };

  StringMap<std::vector<CodeHit>> exact_;
  StringMap<std::vector<CodeHit>> prefixes_;
  StringMap<std::vector<PatternHit>> by_first_token_;
  StringMap<std::vector<PatternHit>> by_prefix3_;  // one-word prefix patterns
  std::vector<TextPattern> patterns_;
  std::vector<SetLinks> sets_;
  std::vector<std::uint32_t> order_;  // every set after the sets it refers to
  std::uint64_t id_ = 0;
};

}  // namespace cds::rules
