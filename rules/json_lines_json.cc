#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/json_document.h"
#include "common/json_padded_stream_internal.h"
#include "common/utf8.h"
#include "rules/json_lines.h"

namespace cds::rules::internal {
namespace {

// Records the path and line of each value from SAX events (the second pass,
// on the first LineOf call; `doc_` is a scratch document).
class LineTracker {
 public:
  LineTracker(rapidjson::Document& doc, const rapidjson::StringStream& stream,
              const std::vector<std::size_t>& line_starts, std::map<std::string, int>& lines)
      : doc_(doc), stream_(stream), line_starts_(line_starts), lines_(lines) {}

  bool Null() {
    Mark();
    return doc_.Null() && Done();
  }
  bool Bool(bool b) {
    Mark();
    return doc_.Bool(b) && Done();
  }
  bool Int(int i) {
    Mark();
    return doc_.Int(i) && Done();
  }
  bool Uint(unsigned u) {
    Mark();
    return doc_.Uint(u) && Done();
  }
  bool Int64(int64_t i) {
    Mark();
    return doc_.Int64(i) && Done();
  }
  bool Uint64(uint64_t u) {
    Mark();
    return doc_.Uint64(u) && Done();
  }
  bool Double(double d) {
    Mark();
    return doc_.Double(d) && Done();
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    Mark();
    return doc_.RawNumber(s, n, copy) && Done();
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    Mark();
    return doc_.String(s, n, copy) && Done();
  }
  bool StartObject() {
    Mark();
    frames_.push_back({false, CurrentPath(), "", 0});
    return doc_.StartObject();
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    frames_.back().key.assign(s, n);
    return doc_.Key(s, n, copy);
  }
  bool EndObject(rapidjson::SizeType n) {
    frames_.pop_back();
    return doc_.EndObject(n) && Done();
  }
  bool StartArray() {
    Mark();
    frames_.push_back({true, CurrentPath(), "", 0});
    return doc_.StartArray();
  }
  bool EndArray(rapidjson::SizeType n) {
    frames_.pop_back();
    return doc_.EndArray(n) && Done();
  }

 private:
  struct Frame {
    bool is_array;
    std::string path;
    std::string key;
    std::size_t index;
  };

  std::string CurrentPath() const {
    if (frames_.empty()) return "";
    const Frame& f = frames_.back();
    if (f.is_array) return f.path + "[" + std::to_string(f.index) + "]";
    return f.path.empty() ? f.key : f.path + "." + f.key;
  }
  void Mark() {
    std::size_t offset = stream_.Tell();
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    lines_[CurrentPath()] = static_cast<int>(it - line_starts_.begin());
  }
  bool Done() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
    return true;
  }

  rapidjson::Document& doc_;
  const rapidjson::StringStream& stream_;
  const std::vector<std::size_t>& line_starts_;
  std::map<std::string, int>& lines_;
  std::vector<Frame> frames_;
};

std::vector<std::size_t> LineStarts(const std::string& text) {
  std::vector<std::size_t> line_starts{0};
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts.push_back(i + 1);
  }
  return line_starts;
}

// No kParseFullPrecisionFlag: RapidJSON 1.1.0's full-precision strtod can
// read out of bounds (segfault) on numbers like 1.2345678901234567890123e-330
// (issue #6; see fhir/json_document.cc).
constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag;

}  // namespace

int LinedDocument::LineOf(std::string path) const {
  if (!lines) {
    lines.emplace();
    const std::vector<std::size_t> line_starts = LineStarts(text);
    rapidjson::StringStream stream(text.c_str());
    rapidjson::Reader reader;
    rapidjson::Document scratch;
    auto generator = [&](rapidjson::Document& into) {
      LineTracker tracker(into, stream, line_starts, *lines);
      return !reader.Parse<kParseFlags>(stream, tracker).IsError();
    };
    scratch.Populate(generator);
  }
  while (true) {
    auto it = lines->find(path);
    if (it != lines->end()) return it->second;
    if (path.empty()) return 0;
    std::size_t cut = path.find_last_of(".[");
    path = cut == std::string::npos ? "" : path.substr(0, cut);
  }
}

void ParseWithLines(std::string text, LinedDocument& out) {
  // Parsed from a bounded stream (pointer and length), as JsonDocument::Parse
  // does: RapidJSON's UTF-8 check reads a multi-byte sequence whole, and from
  // a NUL-terminated string a file ending inside one was read up to 3 bytes
  // past its end (found by fuzz_rule_loader under ASan).
  //
  // A well-formed UTF-8 text without NUL bytes (checked first, 16 ASCII bytes
  // a step) is parsed in place in a padded copy, as JsonDocument::ParseOwned
  // parses a request body (issue #18: the copying parse scanned strings byte
  // by byte and was a fifth of a reload); `text` stays as read for LineOf. Any
  // other text is parsed by copying with RapidJSON's UTF-8 check, so its
  // error and offset are RapidJSON's.
  out.text = std::move(text);
  out.lines.reset();
  out.insitu.reset();
  if (out.text.find('\0') == std::string::npos && IsValidUtf8(out.text)) {
    const std::size_t size = out.text.size();
    out.insitu = std::make_unique<char[]>(size + JsonDocument::kInsituPadding);  // zero-filled
    std::memcpy(out.insitu.get(), out.text.data(), size);
    json_padded::PaddedInsituStream stream(out.insitu.get());
    out.doc.ParseStream<rapidjson::kParseInsituFlag>(stream);
  } else {
    out.doc.Parse<kParseFlags>(out.text.data(), out.text.size());
  }
  if (out.doc.HasParseError()) {
    out.parse_error = rapidjson::GetParseError_En(out.doc.GetParseError());
    const std::vector<std::size_t> line_starts = LineStarts(out.text);
    auto it = std::upper_bound(line_starts.begin(), line_starts.end(), out.doc.GetErrorOffset());
    out.parse_error_line = static_cast<int>(it - line_starts.begin());
  }
}

}  // namespace cds::rules::internal
