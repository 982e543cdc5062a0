// The load-time index of all value sets (value_set_index.h). Matching follows
// value_set.cc exactly: codes exact per system, ICD-10-CM and ATC also by
// hierarchical prefix (with 7th-character limits), text patterns on whole
// tokens; a set's own exclude matcher and excluded sets override its includes.

#include "rules/value_set_index.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ruleset.h"

namespace cds::rules {

bool PatternMatchesAt(const TextPattern& pattern, std::span<const std::string_view> tokens,
                      std::size_t start) {
  if (start + pattern.tokens.size() > tokens.size()) return false;
  for (std::size_t k = 0; k < pattern.tokens.size(); ++k) {
    const std::string& want = pattern.tokens[k];
    const std::string_view have = tokens[start + k];
    bool last = k + 1 == pattern.tokens.size();
    if (last && pattern.last_is_prefix) {
      if (have.substr(0, want.size()) != want) return false;
    } else if (have != want) {
      return false;
    }
  }
  return true;
}

ValueSetIndex ValueSetIndex::Build(const std::vector<ValueSet>& sets) {
  static std::atomic<std::uint64_t> next_id{1};
  ValueSetIndex index;
  index.id_ = next_id.fetch_add(1, std::memory_order_relaxed);
  index.sets_.resize(sets.size());
  for (std::size_t s = 0; s < sets.size(); ++s) {
    const ValueSet& set = sets[s];
    const auto id = static_cast<std::uint32_t>(s);
    for (const auto& [matcher, side] :
         {std::pair{&set.include, kInclude}, std::pair{&set.exclude, kExclude}}) {
      for (const std::string& key : matcher->exact) {
        index.exact_[key].push_back({id, side, true, {}});
      }
      for (const std::string& key : matcher->prefixes) {
        CodeHit hit{id, side, true, {}};
        if (auto seventh = matcher->seventh.find(key); seventh != matcher->seventh.end()) {
          hit.any_seventh = false;
          hit.seventh = seventh->second;
        }
        index.prefixes_[key].push_back(std::move(hit));
      }
      for (const TextPattern& pattern : matcher->text) {
        const auto p = static_cast<std::uint32_t>(index.patterns_.size());
        index.patterns_.push_back({pattern.tokens, pattern.last_is_prefix, {}});
        if (pattern.tokens.size() == 1 && pattern.last_is_prefix) {
          index.by_prefix3_[pattern.tokens[0].substr(0, 3)].push_back({id, side, p});
        } else {
          index.by_first_token_[pattern.tokens[0]].push_back({id, side, p});
        }
      }
    }
    for (int sub : set.include_sets) {
      index.sets_[s].include_sets.push_back(static_cast<std::uint32_t>(sub));
    }
    for (int sub : set.exclude_sets) {
      index.sets_[s].exclude_sets.push_back(static_cast<std::uint32_t>(sub));
    }
  }
  // Depth-first, referenced sets first. The loader has removed cycles; a set
  // met again while on the stack is skipped rather than looped on.
  std::vector<std::uint8_t> state(sets.size(), 0);           // 0 new, 1 on stack, 2 placed
  std::vector<std::pair<std::uint32_t, std::size_t>> stack;  // set, next reference
  for (std::size_t root = 0; root < sets.size(); ++root) {
    if (state[root] != 0) continue;
    stack.push_back({static_cast<std::uint32_t>(root), 0});
    state[root] = 1;
    while (!stack.empty()) {
      auto& [set, next] = stack.back();
      const SetLinks& links = index.sets_[set];
      const std::size_t n = links.include_sets.size() + links.exclude_sets.size();
      if (next == n) {
        state[set] = 2;
        index.order_.push_back(set);
        stack.pop_back();
        continue;
      }
      const std::uint32_t sub = next < links.include_sets.size()
                                    ? links.include_sets[next]
                                    : links.exclude_sets[next - links.include_sets.size()];
      ++next;
      if (state[sub] == 0) {
        state[sub] = 1;
        stack.push_back({sub, 0});
      }
    }
  }
  return index;
}

void ValueSetIndex::Members(const ConceptView& view, std::vector<std::uint8_t>& out) const {
  // First the matchers of each set that the concept's own codes and text hit
  // (kInclude, kExclude bits), then kMember resolved in reference order, in
  // the same bytes: no allocation once `out` has grown.
  constexpr std::uint8_t kMember = 4;
  std::vector<std::uint8_t>& direct = out;
  direct.assign(sets_.size(), 0);
  auto mark = [&direct](std::uint32_t set, Side side) { direct[set] |= side; };
  for (std::size_t i = 0; i < view.code_keys.size(); ++i) {
    std::string_view key = view.code_keys[i];
    if (auto it = exact_.find(key); it != exact_.end()) {
      for (const CodeHit& hit : it->second) mark(hit.set, hit.side);
    }
    const std::size_t system_part = view.code_system_lengths[i];
    if (prefixes_.empty() || system_part == 0) continue;
    // Every prefix of the (normalised) code: "G43909" -> "G4390", "G439", ...
    const std::string_view code = key.substr(system_part + 1);
    for (std::size_t len = key.size(); len > system_part + 1; --len) {
      auto it = prefixes_.find(key.substr(0, len));
      if (it == prefixes_.end()) continue;
      for (const CodeHit& hit : it->second) {
        if (hit.any_seventh ||
            (code.size() == 7 && hit.seventh.find(code[6]) != std::string::npos)) {
          mark(hit.set, hit.side);
        }
      }
    }
  }
  auto try_patterns = [&](const std::vector<PatternHit>& hits,
                          std::span<const std::string_view> tokens, std::size_t start) {
    for (const PatternHit& hit : hits) {
      if ((direct[hit.set] & hit.side) != 0) continue;  // already known
      if (PatternMatchesAt(patterns_[hit.pattern], tokens, start)) mark(hit.set, hit.side);
    }
  };
  for (const auto& tokens : view.token_lists) {
    for (std::size_t start = 0; start < tokens.size(); ++start) {
      const std::string_view token = tokens[start];
      if (auto it = by_first_token_.find(token); it != by_first_token_.end()) {
        try_patterns(it->second, tokens, start);
      }
      if (token.size() >= 3) {
        if (auto it = by_prefix3_.find(token.substr(0, 3)); it != by_prefix3_.end()) {
          try_patterns(it->second, tokens, start);
        }
      }
    }
  }
  // Sets in reference order, so included and excluded sets are known first.
  const auto member = [&out](std::uint32_t sub) { return (out[sub] & kMember) != 0; };
  for (std::uint32_t s : order_) {
    const SetLinks& links = sets_[s];
    bool in = (out[s] & kInclude) != 0 ||
              std::any_of(links.include_sets.begin(), links.include_sets.end(), member);
    in = in && (out[s] & kExclude) == 0 &&
         std::none_of(links.exclude_sets.begin(), links.exclude_sets.end(), member);
    if (in) out[s] |= kMember;
  }
  for (std::uint8_t& m : out) m = (m & kMember) != 0 ? 1 : 0;
}

}  // namespace cds::rules
