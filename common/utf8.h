#pragma once

// UTF-8 well-formedness (Unicode 15 §3.9, Table 3-7; RFC 3629): no overlong
// forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.

#include <cstddef>
#include <string_view>

namespace cds {

// Length of the well-formed UTF-8 sequence starting at text[i] (1 to 4), or 0
// when the bytes there are not one (also when the text ends inside it).
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

// True when the whole text is well-formed UTF-8. Runs of ASCII are checked
// sixteen (SSE2) or eight bytes at a time (FHIR JSON is mostly ASCII).
bool IsValidUtf8(std::string_view text);

}  // namespace cds
