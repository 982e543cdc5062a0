#pragma once

// Internal to the in-place parses (common/json_document.cc; rule files in
// rules/json_lines_json.cc): the stream they parse from.
//
// RapidJSON's SIMD scans for an in-place parse (RAPIDJSON_SSE2) load aligned
// 16-byte blocks, so each string and each run of whitespace first goes byte by
// byte up to the next 16-byte boundary — and most strings of a FHIR body (keys,
// codes, systems' tails) are shorter than that: for a 34 KB hook request the
// string scan was a quarter of the request's instructions, mostly in those
// byte-by-byte prologues (issue #18). JsonDocument's buffer ends with
// kInsituPadding (16) NUL bytes, so from any position up to the terminating
// NUL an unaligned 16-byte load stays inside the buffer: every scan below
// stops at the NUL at the latest (it is below 0x20 and not whitespace). This
// stream is RapidJSON's InsituStringStream under another type, so that the
// reader takes the scans below (explicit specialisations and an overload
// found by argument-dependent lookup) instead of its own.
//
// Only for a buffer with that padding and no NUL inside the text; other
// parses keep RapidJSON's streams.

#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#ifdef RAPIDJSON_SSE2
#include <emmintrin.h>
#endif

namespace cds::json_padded {

struct PaddedInsituStream : rapidjson::InsituStringStream {
  explicit PaddedInsituStream(char* text) : rapidjson::InsituStringStream(text) {}
};

#ifdef RAPIDJSON_SSE2

// Bit i set when byte i of `block` ends an unescaped run: '"', '\\' or a
// control character (below 0x20, the NUL included).
inline unsigned StringStops(__m128i block) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i below_space = _mm_set1_epi8(0x1F);
  const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(block, below_space), below_space);
  const __m128i stops = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)), control);
  return static_cast<unsigned>(_mm_movemask_epi8(stops));
}

inline __m128i Load(const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// Moves the stream past an unescaped run of string bytes, copying it down
// when earlier escapes left the write position behind the read position.
RAPIDJSON_FORCEINLINE inline void ScanString(PaddedInsituStream& is) {
  char* p = is.src_;
  if (is.src_ == is.dst_) {
    for (;; p += 16) {
      if (const unsigned stops = StringStops(Load(p)); stops != 0) {
        p += __builtin_ctz(stops);
        break;
      }
    }
    is.src_ = is.dst_ = p;
    return;
  }
  char* q = is.dst_;
  for (;; p += 16, q += 16) {
    const __m128i block = Load(p);
    if (const unsigned stops = StringStops(block); stops != 0) {
      for (const char* end = p + __builtin_ctz(stops); p != end;) *q++ = *p++;
      break;
    }
    // q is behind p, so this overwrites only bytes of the block just read.
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), block);
  }
  is.src_ = p;
  is.dst_ = q;
}

inline bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// A run of whitespace from p on (pretty-printed bodies: indentation).
__attribute__((noinline)) inline char* SkipWhitespaceRun(char* p) {
  const __m128i space = _mm_set1_epi8(' ');
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i carriage = _mm_set1_epi8('\r');
  const __m128i tab = _mm_set1_epi8('\t');
  for (;; p += 16) {
    const __m128i block = Load(p);
    const __m128i white =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, space), _mm_cmpeq_epi8(block, newline)),
                     _mm_or_si128(_mm_cmpeq_epi8(block, carriage), _mm_cmpeq_epi8(block, tab)));
    const unsigned other = static_cast<unsigned>(_mm_movemask_epi8(white)) ^ 0xFFFFU;
    if (other != 0) return p + __builtin_ctz(other);
  }
}

// Found by argument-dependent lookup from the reader's SkipWhitespace(is):
// an exact match, so it is taken over RapidJSON's template. No space or one
// space is the common case between tokens, so those stay inline.
inline void SkipWhitespace(PaddedInsituStream& is) {
  char* p = is.src_;
  if (!IsJsonSpace(*p)) return;
  ++p;
  is.src_ = IsJsonSpace(*p) ? SkipWhitespaceRun(p) : p;
}

#endif  // RAPIDJSON_SSE2

}  // namespace cds::json_padded

namespace rapidjson {

// The reader copies a stream with this trait into a local (registers) while
// it parses a string or number, as it does for InsituStringStream.
template <>
struct StreamTraits<cds::json_padded::PaddedInsituStream> {
  enum { copyOptimization = 1 };  // NOLINT(readability-identifier-naming): RapidJSON's name
};

#ifdef RAPIDJSON_SSE2
template <>
template <>
inline void GenericReader<UTF8<>, UTF8<>, CrtAllocator>::ScanCopyUnescapedString<
    cds::json_padded::PaddedInsituStream, cds::json_padded::PaddedInsituStream>(
    cds::json_padded::PaddedInsituStream& is, cds::json_padded::PaddedInsituStream& /*os*/) {
  cds::json_padded::ScanString(is);
}
#endif

}  // namespace rapidjson
