#include "service/store/json_text.h"

#include <cstdio>

namespace cds::service::store::internal {

std::string JsonStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : item) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (byte < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
        out += escaped;
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out + "]";
}

}  // namespace cds::service::store::internal
