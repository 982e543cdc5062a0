// Value-set matching. Codes are exact per system; ICD-10-CM and ATC codes also
// match hierarchical prefixes; text patterns match whole tokens of the text and
// displays, so "omeprazole" never matches inside "esomeprazole".

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ascii.h"
#include "rules/ruleset.h"

namespace cds::rules {
namespace {

bool TextMatches(const ValueSet::Matcher& matcher, const ConceptView& view) {
  for (const auto& tokens : view.token_lists) {
    for (std::size_t start = 0; start < tokens.size(); ++start) {
      const std::string_view token = tokens[start];
      if (auto it = matcher.by_first_token.find(token); it != matcher.by_first_token.end()) {
        for (std::uint32_t p : it->second) {
          if (PatternMatchesAt(matcher.text[p], tokens, start)) return true;
        }
      }
      if (token.size() >= 3) {
        if (auto it = matcher.by_prefix3.find(token.substr(0, 3)); it != matcher.by_prefix3.end()) {
          for (std::uint32_t p : it->second) {
            if (PatternMatchesAt(matcher.text[p], tokens, start)) return true;
          }
        }
      }
    }
  }
  return false;
}

bool CodeMatches(const ValueSet::Matcher& matcher, const ConceptView& view) {
  for (std::size_t i = 0; i < view.code_keys.size(); ++i) {
    std::string_view key = view.code_keys[i];
    if (matcher.exact.find(key) != matcher.exact.end()) return true;
    std::size_t system_part = view.code_system_lengths[i];
    if (matcher.prefixes.empty() || system_part == 0) continue;
    // Every proper prefix of the (normalised) code: "G43909" -> "G4390", "G439", ...
    for (std::size_t len = key.size(); len > system_part + 1; --len) {
      std::string_view prefix = key.substr(0, len);
      if (matcher.prefixes.find(prefix) == matcher.prefixes.end()) continue;
      auto seventh = matcher.seventh.find(prefix);
      if (seventh == matcher.seventh.end()) return true;
      std::string_view code = key.substr(system_part + 1);
      if (code.size() == 7 && seventh->second.find(code[6]) != std::string::npos) return true;
    }
  }
  return false;
}

bool MatcherMatches(const ValueSet::Matcher& matcher, const ConceptView& view) {
  return CodeMatches(matcher, view) || (!matcher.text.empty() && TextMatches(matcher, view));
}

}  // namespace

bool IsHierarchicalSystem(std::string_view system) {
  return system == kAtcSystem || system == kIcd10CmSystem;
}

namespace {

// NormaliseCode into `out` (room for code.size() bytes); returns the length.
std::size_t NormaliseCodeInto(std::string_view system, std::string_view code, char* out) {
  const bool icd = system == kIcd10CmSystem;
  const bool upper = icd || system == kAtcSystem;
  std::size_t n = 0;
  for (char c : code) {
    if (IsAsciiSpace(c)) continue;
    if (icd && c == '.') continue;
    out[n++] = upper ? UpperAscii(c) : c;
  }
  return n;
}

bool InToken(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u >= 0x80;
}

// Calls fn(token) for each run of token bytes of `text`, as written (not yet
// folded). The one definition of a token, for Tokenize and MakeConceptView.
template <typename Fn>
void ForEachToken(std::string_view text, Fn&& fn) {
  for (std::size_t i = 0; i < text.size();) {
    while (i < text.size() && !InToken(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && InToken(text[i])) ++i;
    if (i == start) break;
    fn(text.substr(start, i - start));
  }
}

}  // namespace

std::string NormaliseCode(std::string_view system, std::string_view code) {
  std::string out(code.size(), '\0');
  out.resize(NormaliseCodeInto(system, code, out.data()));
  return out;
}

std::string CodeKey(std::string_view system, std::string_view code) {
  std::string key(system);
  key.push_back('|');
  key += NormaliseCode(system, code);
  return key;
}

std::vector<std::string> Tokenize(std::string_view text) {
  // ASCII letters and digits are folded without the locale (hot path); bytes
  // of UTF-8 sequences (ä, ö, ü) stay inside tokens unchanged.
  // Each token is found first and copied once (not grown a byte at a time).
  std::vector<std::string> tokens;
  ForEachToken(text, [&](std::string_view token) {
    std::string& copy = tokens.emplace_back(token);
    for (char& c : copy) c = LowerAscii(c);
  });
  return tokens;
}

void ValueSet::Matcher::IndexText() {
  by_first_token.clear();
  by_prefix3.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const TextPattern& p = text[i];
    auto index = static_cast<std::uint32_t>(i);
    if (p.tokens.size() == 1 && p.last_is_prefix) {
      by_prefix3[p.tokens[0].substr(0, 3)].push_back(index);
    } else {
      by_first_token[p.tokens[0]].push_back(index);
    }
  }
}

void FillConceptView(const std::vector<const fhir::CodeableConcept*>& concepts, ConceptView& view) {
  // Room for every key ("system|code", the code never longer once normalised)
  // and every token (never longer than its text), and a bound on the number of
  // tokens (each is at least a byte, with a separator between two), so that
  // neither buffer moves while the views below are made.
  std::size_t room = 0;
  std::size_t max_tokens = 0;
  for (const fhir::CodeableConcept* concept_ptr : concepts) {
    if (concept_ptr == nullptr) continue;
    room += concept_ptr->text.size();
    max_tokens += (concept_ptr->text.size() + 1) / 2;
    for (const fhir::Coding& coding : concept_ptr->codings) {
      room += coding.system.size() + 1 + coding.code.size() + coding.display.size();
      max_tokens += (coding.display.size() + 1) / 2;
    }
  }
  view.code_keys.clear();
  view.code_system_lengths.clear();
  view.token_lists.clear();
  view.tokens.clear();
  view.tokens.reserve(max_tokens);
  if (room > view.chars_capacity || !view.chars) {
    view.chars_capacity = std::max<std::size_t>(room, 64);
    view.chars.reset(new char[view.chars_capacity]);
  }
  char* end = view.chars.get();
  const auto tokenize = [&](std::string_view text) {
    const std::size_t first = view.tokens.size();
    ForEachToken(text, [&](std::string_view token) {
      char* folded = end;
      for (char c : token) *end++ = LowerAscii(c);
      view.tokens.emplace_back(folded, token.size());
    });
    view.token_lists.emplace_back(view.tokens.data() + first, view.tokens.size() - first);
  };
  for (const fhir::CodeableConcept* concept_ptr : concepts) {
    if (concept_ptr == nullptr) continue;
    if (!concept_ptr->text.empty()) tokenize(concept_ptr->text);
    for (const fhir::Coding& coding : concept_ptr->codings) {
      char* key = end;
      end = std::copy(coding.system.begin(), coding.system.end(), end);
      *end++ = '|';
      end += NormaliseCodeInto(coding.system, coding.code, end);
      view.code_keys.emplace_back(key, static_cast<std::size_t>(end - key));
      view.code_system_lengths.push_back(IsHierarchicalSystem(coding.system) ? coding.system.size()
                                                                             : 0);
      if (!coding.display.empty()) tokenize(coding.display);
    }
  }
}

ConceptView MakeConceptView(const std::vector<const fhir::CodeableConcept*>& concepts) {
  ConceptView view;
  FillConceptView(concepts, view);
  return view;
}

bool Matches(const std::vector<ValueSet>& value_sets, int index, const ConceptView& view,
             const std::function<bool(int)>& member_of) {
  const ValueSet& set = value_sets[static_cast<std::size_t>(index)];
  bool in = MatcherMatches(set.include, view) ||
            std::any_of(set.include_sets.begin(), set.include_sets.end(), member_of);
  if (!in) return false;
  if (!set.exclude.empty() && MatcherMatches(set.exclude, view)) return false;
  return std::none_of(set.exclude_sets.begin(), set.exclude_sets.end(), member_of);
}

bool Matches(const std::vector<ValueSet>& value_sets, int index, const ConceptView& view) {
  std::function<bool(int)> member_of = [&](int i) {
    return Matches(value_sets, i, view, member_of);
  };
  return Matches(value_sets, index, view, member_of);
}

}  // namespace cds::rules
