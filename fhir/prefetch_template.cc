#include "fhir/prefetch_template.h"

#include <cctype>

namespace cds::fhir {
namespace {

bool IsUnreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

bool OnlyDots(std::string_view value) {
  return value.find_first_not_of('.') == std::string_view::npos;
}

bool IsTypeName(std::string_view text) {
  if (text.empty() || !std::isupper(static_cast<unsigned char>(text.front()))) return false;
  for (const char c : text) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Error Unrenderable(std::string message) {
  return Error{ErrorCode::kPrefetchUnavailable, std::move(message)};
}

}  // namespace

std::string PercentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
  return out;
}

Result<std::string> RenderPrefetchTemplate(std::string_view query,
                                           const std::map<std::string, std::string>& tokens) {
  std::string out;
  std::size_t pos = 0;
  while (pos < query.size()) {
    const std::size_t open = query.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(query.substr(pos));
      break;
    }
    out.append(query.substr(pos, open - pos));
    const std::size_t close = query.find("}}", open + 2);
    if (close == std::string_view::npos) return Unrenderable("template has an unclosed '{{'");
    const std::string name(query.substr(open + 2, close - open - 2));
    const auto it = tokens.find(name);
    if (it == tokens.end() || it->second.empty()) {
      return Unrenderable("token {{" + name + "}} has no value in this request");
    }
    const std::string& value = it->second;
    const std::size_t slash = value.find('/');
    if (slash != std::string::npos && IsTypeName(value.substr(0, slash)) &&
        value.find('/', slash + 1) == std::string::npos) {
      // "Practitioner/123" (P-4): a relative reference usable as a read path.
      const std::string id = value.substr(slash + 1);
      if (id.empty() || OnlyDots(id)) {
        return Unrenderable("token {{" + name + "}} is not a usable reference");
      }
      out += PercentEncode(value.substr(0, slash)) + "/" + PercentEncode(id);
    } else {
      if (OnlyDots(value)) return Unrenderable("token {{" + name + "}} is not a usable value");
      out += PercentEncode(value);
    }
    pos = close + 2;
  }
  return out;
}

}  // namespace cds::fhir
