#include "rules/text_template.h"

#include <algorithm>
#include <cctype>

namespace cds::rules {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

bool AllNameChars(std::string_view part) {
  return std::all_of(part.begin(), part.end(), IsNameChar);
}

}  // namespace

Result<std::vector<TemplateSegment>> ParseTemplate(std::string_view text) {
  std::vector<TemplateSegment> segments;
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    // Literal text up to the next "${" is taken whole (issue #18: byte by
    // byte it was most of a template's compile time at reload).
    const std::size_t open = text.find("${", i);
    if (open == std::string_view::npos) {
      literal.append(text.substr(i));
      break;
    }
    literal.append(text.substr(i, open - i));
    i = open;
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Error{ErrorCode::kRuleConfig, "unterminated '${' in template"};
    }
    std::string_view inner = text.substr(i + 2, close - i - 2);
    if (inner.empty()) return Error{ErrorCode::kRuleConfig, "empty placeholder '${}'"};
    const std::size_t dot = inner.find('.');
    const std::string_view name = inner.substr(0, dot);
    const std::string_view field =
        dot == std::string_view::npos ? std::string_view() : inner.substr(dot + 1);
    if (!AllNameChars(name) || !AllNameChars(field)) {
      return Error{ErrorCode::kRuleConfig,
                   "invalid placeholder '${" + std::string(inner) +
                       "}': expected ${name} or ${name.field} with letters, digits, '_' or '-'"};
    }
    if (name.empty() || (dot != std::string_view::npos && field.empty())) {
      return Error{ErrorCode::kRuleConfig, "invalid placeholder '${" + std::string(inner) + "}'"};
    }
    TemplateSegment segment;
    segment.is_placeholder = true;
    segment.text = std::string(name);
    segment.field = std::string(field);
    if (!literal.empty()) segments.push_back({false, std::move(literal), ""});
    literal.clear();
    segments.push_back(std::move(segment));
    i = close + 1;
  }
  if (!literal.empty()) segments.push_back({false, std::move(literal), ""});
  return segments;
}

std::size_t MaxFieldWidth(std::string_view field) {
  if (field == "names") return 40;
  if (field == "start" || field == "date" || field == "last") return 10;
  if (field == "approx") return 18;
  if (field == "crossed") return 28;
  if (field == "band") return 16;
  if (field == "censoredNote" || field == "source" || field == "name" || field == "ref") return 80;
  if (field == "patientReported") return 120;
  if (field == "days") return 6;
  if (field == "months") return 5;
  if (field == "first") return 52;  // a name cut to 40, then " and 99 more"
  if (field == "years") return 4;
  if (field == "reported") return 20;
  if (field == "value") return 8;
  if (field == "unit") return 16;
  return 12;  // parameters
}

std::size_t CodePointCount(std::string_view utf8) {
  std::size_t count = 0;
  for (char c : utf8) {
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++count;
  }
  return count;
}

}  // namespace cds::rules
