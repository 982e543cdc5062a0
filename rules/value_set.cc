// Value-set matching. Codes are exact per system; ICD-10-CM and ATC codes also
// match hierarchical prefixes; text patterns match whole tokens of the text and
// displays, so "omeprazole" never matches inside "esomeprazole".

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "rules/ruleset.h"

namespace cds::rules {
namespace {

bool PatternMatchesAt(const TextPattern& pattern, const std::vector<std::string>& tokens,
                      std::size_t start) {
  if (start + pattern.tokens.size() > tokens.size()) return false;
  for (std::size_t k = 0; k < pattern.tokens.size(); ++k) {
    const std::string& want = pattern.tokens[k];
    const std::string& have = tokens[start + k];
    bool last = k + 1 == pattern.tokens.size();
    if (last && pattern.last_is_prefix) {
      if (have.compare(0, want.size(), want) != 0) return false;
    } else if (have != want) {
      return false;
    }
  }
  return true;
}

bool TextMatches(const std::vector<TextPattern>& patterns, const ConceptView& view) {
  for (const auto& tokens : view.token_lists) {
    for (const TextPattern& pattern : patterns) {
      for (std::size_t start = 0; start < tokens.size(); ++start) {
        if (PatternMatchesAt(pattern, tokens, start)) return true;
      }
    }
  }
  return false;
}

bool CodeMatches(const ValueSet::Matcher& matcher, const ConceptView& view) {
  std::string key;
  for (const fhir::Coding* coding : view.codings) {
    key = CodeKey(coding->system, coding->code);
    if (matcher.exact.count(key) != 0) return true;
    if (matcher.prefixes.empty() || !IsHierarchicalSystem(coding->system)) continue;
    // Every proper prefix of the (normalised) code: "G43909" -> "G4390", "G439", ...
    std::size_t system_part = coding->system.size() + 1;
    for (std::size_t len = key.size(); len > system_part; --len) {
      if (matcher.prefixes.count(key.substr(0, len)) != 0) return true;
    }
  }
  return false;
}

bool MatcherMatches(const ValueSet::Matcher& matcher, const ConceptView& view) {
  return CodeMatches(matcher, view) || (!matcher.text.empty() && TextMatches(matcher.text, view));
}

}  // namespace

bool IsHierarchicalSystem(std::string_view system) {
  return system == kAtcSystem || system == kIcd10CmSystem;
}

std::string NormaliseCode(std::string_view system, std::string_view code) {
  std::string out;
  out.reserve(code.size());
  bool icd = system == kIcd10CmSystem;
  for (char c : code) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) continue;
    if (icd && c == '.') continue;
    out.push_back(icd || system == kAtcSystem
                      ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                      : c);
  }
  return out;
}

std::string CodeKey(std::string_view system, std::string_view code) {
  std::string key(system);
  key.push_back('|');
  key += NormaliseCode(system, code);
  return key;
}

std::vector<std::string> Tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || u >= 0x80) {  // keep UTF-8 letters (ä, ö, ü) inside tokens
      current.push_back(static_cast<char>(std::tolower(u)));
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

ConceptView MakeConceptView(const std::vector<const fhir::CodeableConcept*>& concepts) {
  ConceptView view;
  for (const fhir::CodeableConcept* concept_ptr : concepts) {
    if (concept_ptr == nullptr) continue;
    if (!concept_ptr->text.empty()) view.token_lists.push_back(Tokenize(concept_ptr->text));
    for (const fhir::Coding& coding : concept_ptr->codings) {
      view.codings.push_back(&coding);
      if (!coding.display.empty()) view.token_lists.push_back(Tokenize(coding.display));
    }
  }
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
  std::function<bool(int)> member_of = [&](int i) { return Matches(value_sets, i, view, member_of); };
  return Matches(value_sets, index, view, member_of);
}

}  // namespace cds::rules
