#pragma once

// The C locale's character classes for the bytes codes, units and tokens are
// made of, without a library call per byte (issue #18: std::isspace and
// std::toupper calls showed in the engine's profile). The service never sets a
// locale, so these give what the <cctype> functions gave; bytes of UTF-8
// sequences are left as they are.

namespace cds {

inline bool IsAsciiSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

inline char LowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

inline char UpperAscii(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - ('a' - 'A')) : c;
}

}  // namespace cds
