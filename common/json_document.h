#pragma once

// A parsed JSON text that other layers can hand around without seeing RapidJSON
// (style §4.3: RapidJSON types never appear in a public header). Code that reads
// the values includes common/json_internal.h, which only *_json.cc files may do.
//
// Thread-safety: a JsonDocument is immutable after Parse and may be read from
// any thread. JsonRef is a non-owning view; the document must outlive it.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cds {

inline constexpr std::size_t kDefaultMaxJsonDepth = 64;

class JsonDocument;

class JsonRef {
 public:
  JsonRef() = default;
  explicit JsonRef(const void* value) : value_(value) {}
  bool valid() const { return value_ != nullptr; }
  const void* raw() const { return value_; }

 private:
  const void* value_ = nullptr;
};

class JsonDocument {
 public:
  // Parses UTF-8 JSON with encoding validation. Fails with kInvalidRequest and a
  // message naming the byte offset when the text is not JSON, is invalid UTF-8,
  // or nests deeper than max_depth (checked before RapidJSON recurses).
  static Result<std::shared_ptr<const JsonDocument>> Parse(
      std::string_view text, std::size_t max_depth = kDefaultMaxJsonDepth);
  // The same check and errors, but the document takes `text` and parses it in
  // place (issue #18): its strings point into the text it owns instead of being
  // copied out, so a request body is neither copied nor kept twice. Anything
  // read from the document must still not outlive it (JsonRef) or must copy.
  static Result<std::shared_ptr<const JsonDocument>> ParseOwned(
      std::string text, std::size_t max_depth = kDefaultMaxJsonDepth);
  // ParseOwned appends this many NUL bytes to the text (see json_document.cc).
  // A caller that builds the text can reserve size() + kInsituPadding so the
  // append does not reallocate and copy the whole body once more.
  static constexpr std::size_t kInsituPadding = 16;
  // A copy of `text` with that room reserved, for ParseOwned.
  static std::string OwnedCopy(std::string_view text);

  ~JsonDocument();
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;

  JsonRef root() const;

  // True when some object in the document has two members of the same name
  // (RFC 8259 leaves what that means to each reader, so a request parser may
  // refuse it). Found while parsing: no second walk over the document.
  bool has_duplicate_members() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  JsonDocument();
  std::unique_ptr<Impl> impl_;
};

}  // namespace cds
