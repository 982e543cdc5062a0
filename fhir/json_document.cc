#include "fhir/json_document.h"

#include <rapidjson/error/en.h>

#include <optional>
#include <string>
#include <utility>

#include "fhir/json_internal.h"

namespace cds::fhir {
namespace {

// No kParseFullPrecisionFlag (issue #6, found by tests/fuzz): in RapidJSON 1.1.0
// (Debian 12) its StrtodDiyFp path indexes the cached powers of ten out of
// bounds for numbers like 1.2345678901234567890123e-330 — a segfault, so one
// such number in a request, a JWT header or a FHIR response crashed the
// process — and turns zeros such as 0e95 or 0.0000000000000000000000000 into
// garbage (3.99e292, -1.37e-194). The default parser rounds correctly for up to
// 19 significant digits with exponents up to 22, which covers clinical values.
constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag;

bool IsJsonWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

Error InvalidJson(std::string what, std::size_t offset) {
  return Error{ErrorCode::kInvalidRequest,
               "invalid JSON at byte offset " + std::to_string(offset) + ": " + std::move(what)};
}

// RapidJSON's reader recurses once per nesting level, so a hostile body of a
// few kilobytes of '[' would exhaust the stack. This linear scan finds the
// first byte that opens a container beyond max_depth, skipping string contents
// (where brackets are data) and escaped quotes. It does not validate anything
// else; RapidJSON does that afterwards.
std::optional<std::size_t> FindTooDeep(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return i;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

// The checks before RapidJSON runs; nullopt when the text may be parsed.
std::optional<Error> CheckBeforeParse(std::string_view text, std::size_t max_depth) {
  std::size_t first = 0;
  while (first < text.size() && IsJsonWhitespace(text[first])) ++first;
  if (first == text.size()) return InvalidJson("empty document", first);
  if (const auto deep = FindTooDeep(text, max_depth)) {
    return InvalidJson("nesting deeper than " + std::to_string(max_depth) + " levels", *deep);
  }
  return std::nullopt;
}

}  // namespace

JsonDocument::JsonDocument() : impl_(std::make_unique<Impl>()) {}
JsonDocument::~JsonDocument() = default;

JsonRef JsonDocument::root() const { return internal::MakeRef(impl_->doc); }

Result<std::shared_ptr<const JsonDocument>> JsonDocument::ParseOwned(std::string text,
                                                                     std::size_t max_depth) {
  // In-place parsing reads up to a NUL byte; a text with one inside is parsed
  // by copying, so that it fails exactly as Parse says.
  if (text.find('\0') != std::string::npos) return Parse(text, max_depth);
  if (auto error = CheckBeforeParse(text, max_depth)) return *std::move(error);
  std::shared_ptr<JsonDocument> document(new JsonDocument());
  Impl& impl = *document->impl_;
  impl.text = std::move(text);
  impl.doc.ParseInsitu<kParseFlags>(impl.text.data());
  if (impl.doc.HasParseError()) {
    return InvalidJson(rapidjson::GetParseError_En(impl.doc.GetParseError()),
                       impl.doc.GetErrorOffset());
  }
  return std::shared_ptr<const JsonDocument>(std::move(document));
}

Result<std::shared_ptr<const JsonDocument>> JsonDocument::Parse(std::string_view text,
                                                                std::size_t max_depth) {
  if (auto error = CheckBeforeParse(text, max_depth)) return *std::move(error);
  // The constructor is private, so make_shared cannot be used here.
  std::shared_ptr<JsonDocument> document(new JsonDocument());
  rapidjson::Document& doc = document->impl_->doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return InvalidJson(rapidjson::GetParseError_En(doc.GetParseError()), doc.GetErrorOffset());
  }
  return std::shared_ptr<const JsonDocument>(std::move(document));
}

namespace internal {

const rapidjson::Value& NullValue() {
  static const rapidjson::Value kNull;
  return kNull;
}

}  // namespace internal
}  // namespace cds::fhir
