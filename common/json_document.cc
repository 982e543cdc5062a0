#include "common/json_document.h"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_internal.h"
#include "common/json_padded_stream_internal.h"
#include "common/utf8.h"

namespace cds {
namespace {

// No kParseFullPrecisionFlag (issue #6, found by tests/fuzz): in RapidJSON 1.1.0
// (Debian 12) its StrtodDiyFp path indexes the cached powers of ten out of
// bounds for numbers like 1.2345678901234567890123e-330 — a segfault, so one
// such number in a request, a JWT header or a FHIR response crashed the
// process — and turns zeros such as 0e95 or 0.0000000000000000000000000 into
// garbage (3.99e292, -1.37e-194). The default parser rounds correctly for up to
// 19 significant digits with exponents up to 22, which covers clinical values.
//
// Strings must be well-formed UTF-8. RapidJSON's check for that
// (kParseValidateEncodingFlag) goes byte by byte and also turns off its SIMD
// string scan (reader.h runs ScanCopyUnescapedString only without the flag;
// RAPIDJSON_SSE2 is set for this file on x86-64, see common/CMakeLists.txt).
// So an in-place parse first checks the whole text with IsValidUtf8 and, when
// that passes, parses without the flag: the string and whitespace scans then
// take 16 bytes a step (issue #18: 18 % fewer instructions for a 34 KB hook
// request's parse, callgrind). A text that fails the check is parsed with the
// flag, so its error and offset are RapidJSON's, as before.
constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag;
constexpr unsigned kValidUtf8ParseFlags = rapidjson::kParseNoFlags;

bool IsJsonWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

Error InvalidJson(std::string what, std::size_t offset) {
  return Error{ErrorCode::kInvalidRequest,
               "invalid JSON at byte offset " + std::to_string(offset) + ": " + std::move(what)};
}

// Notices an object with two members of the same name while the text is
// parsed, so that no second walk over the document is needed (issue #18).
// In a copying parse the reader hands each key over in a scratch buffer that
// the next string overwrites, so keys are copied into one buffer; in an
// in-place parse (KeysStay) a key stays where the reader decoded it, in the
// document's own text, and only its address is kept. The names of the
// objects still open are kept; a closed object's are dropped.
template <bool KeysStay>
class MemberNameCheck {
 public:
  bool found() const { return found_; }

  void Open() { open_.push_back({names_.size(), text_.size()}); }
  void Name(const char* str, std::size_t length) {
    if constexpr (KeysStay) {
      names_.push_back({str, 0, length, Tag(str, length)});
    } else {
      names_.push_back({nullptr, text_.size(), length, Tag(str, length)});
      text_.append(str, length);
    }
  }
  void Close() {
    const Frame frame = open_.back();
    open_.pop_back();
    if (!found_) found_ = HasTwice(frame.first_name);
    names_.resize(frame.first_name);
    text_.resize(frame.text_size);
  }

 private:
  struct Span {
    const char* key;     // KeysStay: the key where the reader left it
    std::size_t offset;  // otherwise: where its copy starts in text_
    std::size_t length;
    std::uint64_t tag;  // equal names have equal tags
  };
  struct Frame {
    std::size_t first_name;
    std::size_t text_size;
  };

  // The first eight bytes and the length: most pairs of different names
  // differ here, so the pairwise check below compares two integers instead of
  // calling memcmp (issue #18: this check was 8 % of a hook request's parse).
  static std::uint64_t Tag(const char* str, std::size_t length) {
    std::uint64_t prefix = 0;
    std::memcpy(&prefix, str, std::min<std::size_t>(length, sizeof prefix));
    return prefix ^ (static_cast<std::uint64_t>(length) * 0x9E3779B97F4A7C15ULL);
  }

  std::string_view View(const Span& span) const {
    if constexpr (KeysStay) {
      return {span.key, span.length};
    } else {
      return std::string_view(text_).substr(span.offset, span.length);
    }
  }

  bool HasTwice(std::size_t first) const {
    const std::size_t count = names_.size() - first;
    if (count <= 16) {  // FHIR objects are small: pairwise is cheapest
      for (std::size_t i = first; i < names_.size(); ++i) {
        for (std::size_t j = i + 1; j < names_.size(); ++j) {
          if (names_[i].tag == names_[j].tag && View(names_[i]) == View(names_[j])) return true;
        }
      }
      return false;
    }
    std::vector<std::string_view> sorted;
    sorted.reserve(count);
    for (std::size_t i = first; i < names_.size(); ++i) sorted.push_back(View(names_[i]));
    std::sort(sorted.begin(), sorted.end());
    return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
  }

  std::vector<Frame> open_;
  std::vector<Span> names_;
  std::string text_;
  bool found_ = false;
};

// RapidJSON's reader recurses once per nesting level, so a hostile body of a
// few kilobytes of '[' would exhaust the stack. The parse goes through this
// handler, which passes every event on to the document and stops the reader at
// the first container that opens beyond max_depth, before it recurses into it.
// (This used to be a separate scan of the text before parsing; on big bodies
// that scan cost as much as the parse itself, issue #18.)
template <bool KeysStay>
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(rapidjson::Document& document, std::size_t max_depth)
      : document_(document), max_depth_(max_depth) {}

  bool too_deep() const { return too_deep_; }
  bool duplicate_members() const { return names_.found(); }

  bool Null() { return document_.Null(); }
  bool Bool(bool b) { return document_.Bool(b); }
  bool Int(int i) { return document_.Int(i); }
  bool Uint(unsigned i) { return document_.Uint(i); }
  bool Int64(std::int64_t i) { return document_.Int64(i); }
  bool Uint64(std::uint64_t i) { return document_.Uint64(i); }
  bool Double(double d) { return document_.Double(d); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool copy) {
    return document_.RawNumber(str, length, copy);
  }
  bool String(const char* str, rapidjson::SizeType length, bool copy) {
    return document_.String(str, length, copy);
  }
  bool Key(const char* str, rapidjson::SizeType length, bool copy) {
    names_.Name(str, length);
    return document_.Key(str, length, copy);
  }
  bool StartObject() {
    if (!Enter()) return false;
    names_.Open();
    return document_.StartObject();
  }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    names_.Close();
    return document_.EndObject(members);
  }
  bool StartArray() { return Enter() && document_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return document_.EndArray(elements);
  }

 private:
  bool Enter() {
    if (++depth_ > max_depth_) too_deep_ = true;
    return !too_deep_;
  }

  rapidjson::Document& document_;
  const std::size_t max_depth_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
  MemberNameCheck<KeysStay> names_;
};

// Parses `stream` into `document` through the depth limit, with the reader's
// errors in our words. The text is known not to be empty or all whitespace.
template <unsigned Flags, typename Stream>
std::optional<Error> ParseInto(JsonDocument::Impl& impl, Stream& stream, std::size_t max_depth) {
  rapidjson::Reader reader;
  DepthLimitedHandler<(Flags & rapidjson::kParseInsituFlag) != 0> handler(impl.doc, max_depth);
  const auto generate = [&](rapidjson::Document&) {
    return !reader.Parse<Flags>(stream, handler).IsError();
  };
  impl.doc.Populate(generate);
  impl.duplicate_members = handler.duplicate_members();
  if (!reader.HasParseError()) return std::nullopt;
  if (handler.too_deep()) {
    // The reader stops just after the bracket that opened one level too many.
    return InvalidJson("nesting deeper than " + std::to_string(max_depth) + " levels",
                       reader.GetErrorOffset() - 1);
  }
  return InvalidJson(rapidjson::GetParseError_En(reader.GetParseErrorCode()),
                     reader.GetErrorOffset());
}

// RapidJSON reports an empty text in its own words; ours say "empty".
std::optional<Error> CheckNotEmpty(std::string_view text) {
  std::size_t first = 0;
  while (first < text.size() && IsJsonWhitespace(text[first])) ++first;
  if (first == text.size()) return InvalidJson("empty document", first);
  return std::nullopt;
}

}  // namespace

JsonDocument::JsonDocument() : impl_(std::make_unique<Impl>()) {}
JsonDocument::~JsonDocument() = default;

JsonRef JsonDocument::root() const { return json_internal::MakeRef(impl_->doc); }

bool JsonDocument::has_duplicate_members() const { return impl_->duplicate_members; }

std::string JsonDocument::OwnedCopy(std::string_view text) {
  std::string copy;
  copy.reserve(text.size() + kInsituPadding);
  copy.append(text);
  return copy;
}

Result<std::shared_ptr<const JsonDocument>> JsonDocument::ParseOwned(std::string text,
                                                                     std::size_t max_depth) {
  // In-place parsing reads up to a NUL byte; a text with one inside is parsed
  // by copying, so that it fails exactly as Parse says.
  if (text.find('\0') != std::string::npos) return Parse(text, max_depth);
  if (auto error = CheckNotEmpty(text)) return *std::move(error);
  const bool valid_utf8 = IsValidUtf8(text);
  std::shared_ptr<JsonDocument> document(new JsonDocument());
  Impl& impl = *document->impl_;
  impl.text = std::move(text);
  // The in-place stream has no length: it stops at the terminating NUL. Two
  // readers look past it: RapidJSON's UTF-8 check takes a multi-byte
  // sequence's continuation bytes before looking at them, so a text ending
  // inside one ('"\xE7') reads up to three bytes further (found by
  // fuzz_hook_request under ASan); the SIMD string and whitespace scans
  // (json_padded_stream_internal.h) load 16 bytes from any position up to the NUL, so
  // up to 15 bytes further. Padding NULs keep both inside the buffer.
  impl.text.append(kInsituPadding, '\0');
  json_padded::PaddedInsituStream stream(impl.text.data());
  constexpr unsigned kInsitu = rapidjson::kParseInsituFlag;
  std::optional<Error> error =
      valid_utf8 ? ParseInto<kValidUtf8ParseFlags | kInsitu>(impl, stream, max_depth)
                 : ParseInto<kParseFlags | kInsitu>(impl, stream, max_depth);
  if (error) return *std::move(error);
  return std::shared_ptr<const JsonDocument>(std::move(document));
}

Result<std::shared_ptr<const JsonDocument>> JsonDocument::Parse(std::string_view text,
                                                                std::size_t max_depth) {
  if (auto error = CheckNotEmpty(text)) return *std::move(error);
  // The constructor is private, so make_shared cannot be used here.
  std::shared_ptr<JsonDocument> document(new JsonDocument());
  rapidjson::MemoryStream bytes(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(bytes);
  if (auto error = ParseInto<kParseFlags>(*document->impl_, stream, max_depth)) {
    return *std::move(error);
  }
  return std::shared_ptr<const JsonDocument>(std::move(document));
}

namespace json_internal {

const rapidjson::Value& NullValue() {
  static const rapidjson::Value kNull;
  return kNull;
}

const rapidjson::Value* Find(const rapidjson::Value& obj, std::string_view name) {
  if (!obj.IsObject()) return nullptr;
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    const rapidjson::Value& key = it->name;
    if (key.GetStringLength() == name.size() &&
        std::memcmp(key.GetString(), name.data(), name.size()) == 0) {
      return &it->value;
    }
  }
  return nullptr;
}

}  // namespace json_internal
}  // namespace cds
