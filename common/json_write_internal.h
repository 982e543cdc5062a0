#pragma once

// Writing JSON with RapidJSON's SAX writers (rapidjson::Writer or
// PrettyWriter over a StringBuffer): the member helpers every *_json.cc
// writer needs, once. Internal like common/json_internal.h: only *_json.cc
// files include it (tests/lint.sh), so RapidJSON stays out of public headers.

#include <rapidjson/rapidjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cds::json_internal {

// A string value of any length (the writer escapes it).
template <class Writer>
void WriteString(Writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// One "key": value member.
template <class Writer>
void Field(Writer& w, const char* key, std::string_view text) {
  w.Key(key);
  WriteString(w, text);
}
template <class Writer>
void Field(Writer& w, const char* key, std::size_t n) {
  w.Key(key);
  w.Uint64(static_cast<std::uint64_t>(n));
}

// "key": "text", only when the text is not empty.
template <class Writer>
void OptionalField(Writer& w, const char* key, std::string_view text) {
  if (!text.empty()) Field(w, key, text);
}

// "key": ["text", ...] from any range of strings.
template <class Writer, class Strings>
void StringsField(Writer& w, const char* key, const Strings& strings) {
  w.Key(key);
  w.StartArray();
  for (const auto& text : strings) WriteString(w, text);
  w.EndArray();
}

}  // namespace cds::json_internal
