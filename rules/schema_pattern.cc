#include "rules/schema_pattern.h"

#include <string_view>

namespace cds::rules {
namespace {

// The characters "\\" may escape, as RapidJSON's regex reads them.
bool IsEscapable(char c) {
  return std::string_view("^$|()?*+.[]{}\\").find(c) != std::string_view::npos;
}

// One character of a class or a literal: a plain ASCII character, or "\\"
// before a metacharacter. Moves `i` past it.
std::optional<char> ReadChar(std::string_view p, std::size_t& i) {
  if (i >= p.size()) return std::nullopt;
  char c = p[i];
  if (c == '\\') {
    if (i + 1 >= p.size() || !IsEscapable(p[i + 1])) return std::nullopt;  // \d, \w, ...
    i += 2;
    return p[i - 1];
  }
  if (static_cast<unsigned char>(c) >= 128) return std::nullopt;
  ++i;
  return c;
}

}  // namespace

std::optional<SchemaPattern> SchemaPattern::Compile(std::string_view p) {
  SchemaPattern out;
  std::size_t i = 0;
  if (i < p.size() && p[i] == '^') {
    out.anchored_start_ = true;
    ++i;
  }
  std::size_t end = p.size();
  if (end > i && p[end - 1] == '$' && (end < 2 || p[end - 2] != '\\')) {
    out.anchored_end_ = true;
    --end;
  }
  const std::string_view body = p.substr(0, end);
  while (i < body.size()) {
    Step step;
    const char c = body[i];
    if (c == '[') {
      ++i;
      if (i < body.size() && body[i] == '^') return std::nullopt;  // negated class
      bool closed = false;
      while (i < body.size()) {
        if (body[i] == ']') {
          closed = true;
          ++i;
          break;
        }
        const std::optional<char> low = ReadChar(body, i);
        if (!low) return std::nullopt;
        // A range "a-z"; a "-" first or last in the class is itself.
        if (i + 1 < body.size() && body[i] == '-' && body[i + 1] != ']') {
          ++i;
          const std::optional<char> high = ReadChar(body, i);
          if (!high || static_cast<unsigned char>(*high) < static_cast<unsigned char>(*low)) {
            return std::nullopt;
          }
          const auto first = static_cast<unsigned char>(*low);
          const auto last = static_cast<unsigned char>(*high);
          for (unsigned x = first; x <= last; ++x) step.chars.set(x);
        } else {
          step.chars.set(static_cast<std::size_t>(*low));
        }
      }
      if (!closed || step.chars.none()) return std::nullopt;
    } else if (c == '.' || c == '(' || c == ')' || c == '|' || c == '{' || c == '}' || c == '*' ||
               c == '+' || c == '?' || c == '^' || c == '$' || c == ']') {
      return std::nullopt;  // any character, groups, alternatives, counts, misplaced anchors
    } else {
      const std::optional<char> literal = ReadChar(body, i);
      if (!literal) return std::nullopt;
      step.chars.set(static_cast<std::size_t>(*literal));
    }
    if (i < body.size() && (body[i] == '?' || body[i] == '*' || body[i] == '+')) {
      const char quantifier = body[i++];
      if (i < body.size() && (body[i] == '?' || body[i] == '*' || body[i] == '+')) {
        return std::nullopt;  // lazy or doubled quantifiers
      }
      if (quantifier == '+') out.steps_.push_back(step);  // one, then any number
      step.optional = true;
      step.repeats = quantifier != '?';
    }
    out.steps_.push_back(step);
  }
  if (out.steps_.size() > 63) return std::nullopt;
  out.takes_.assign(128, 0);
  for (std::size_t s = 0; s < out.steps_.size(); ++s) {
    const std::uint64_t bit = std::uint64_t{1} << s;
    for (std::size_t c = 0; c < 128; ++c) {
      if (out.steps_[s].chars.test(c)) out.takes_[c] |= bit;
    }
    if (out.steps_[s].optional) out.optional_ |= bit;
    if (out.steps_[s].repeats) out.repeats_ |= bit;
  }
  return out;
}

std::uint64_t SchemaPattern::Closure(std::uint64_t states) const {
  // Skipping an optional step moves to the next state; repeat until nothing
  // new (a run of k optional steps takes k rounds).
  for (;;) {
    const std::uint64_t more = states | ((states & optional_) << 1);
    if (more == states) return states;
    states = more;
  }
}

bool SchemaPattern::Matches(std::string_view text) const {
  const std::uint64_t done = std::uint64_t{1} << steps_.size();
  std::uint64_t states = Closure(1);
  for (const char c : text) {
    if (!anchored_end_ && (states & done) != 0) return true;
    std::uint64_t next = 0;
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 128) {
      const std::uint64_t taken = states & takes_[byte];
      next = (taken & repeats_) | ((taken & ~repeats_) << 1);
    }
    if (!anchored_start_) next |= 1;  // a match may start at the next character
    states = Closure(next);
    if (states == 0) return false;
  }
  return (states & done) != 0;
}

bool StringKeywords::Accepts(std::string_view text) const {
  // Characters are counted only when the byte length leaves a doubt: a
  // character is one to four bytes.
  if (text.size() < min_length) return false;
  if (text.size() > max_length || (min_length > 0 && text.size() / 4 < min_length)) {
    std::size_t characters = 0;
    for (const char c : text) {
      if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++characters;  // not a continuation byte
    }
    if (characters < min_length || characters > max_length) return false;
  }
  return !pattern || pattern->Matches(text);
}

}  // namespace cds::rules
