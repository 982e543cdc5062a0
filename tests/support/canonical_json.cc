#include "tests/support/canonical_json.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <vector>

namespace cds::testing {
namespace {

void SortMembers(rapidjson::Value& value) {
  if (value.IsObject()) {
    for (auto& member : value.GetObject()) SortMembers(member.value);
    std::sort(value.MemberBegin(), value.MemberEnd(), [](const auto& a, const auto& b) {
      return std::string_view(a.name.GetString(), a.name.GetStringLength()) <
             std::string_view(b.name.GetString(), b.name.GetStringLength());
    });
  } else if (value.IsArray()) {
    for (auto& element : value.GetArray()) SortMembers(element);
  }
}

template <class Writer>
std::optional<std::string> Write(std::string_view text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  if (document.HasParseError()) return std::nullopt;
  SortMembers(document);
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  document.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::optional<std::string> CanonicalJson(std::string_view text) {
  return Write<rapidjson::Writer<rapidjson::StringBuffer>>(text);
}

std::optional<std::string> PrettyCanonicalJson(std::string_view text) {
  return Write<rapidjson::PrettyWriter<rapidjson::StringBuffer>>(text);
}

}  // namespace cds::testing
