// LogText (service/log/log_text.h).
#include "service/log/log_text.h"

#include "common/utf8.h"

namespace cds::service {

std::string LogText(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = Utf8SequenceLength(text, i);
    const std::size_t add = length == 0 ? 3 : length;  // U+FFFD is 3 bytes
    if (out.size() + add > max_bytes) {
      out += "...(" + std::to_string(text.size()) + " bytes)";
      return out;
    }
    if (length == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace cds::service
