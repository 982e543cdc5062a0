#pragma once

// Internal to rules/: a RapidJSON document that can tell, for every value,
// the line it starts on, keyed by a path like "rules[2].when.all[0]". Lets the
// loader name the line of a semantic error. Only *_json.cc files include this.
//
// The path -> line index is built on the first LineOf call (a second pass over
// the kept text): a file without errors never pays for it, which is most of
// a reload's cost otherwise (issue #18). Not thread-safe (one loader owns it).

#include <rapidjson/document.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace cds::rules::internal {

struct LinedDocument {
  // When `doc` was parsed in place, the buffer its strings point into: a heap
  // array, so moving the struct keeps them valid; declared before `doc`, so
  // it outlives it.
  std::unique_ptr<char[]> insitu;
  rapidjson::Document doc;
  std::string parse_error;  // empty when parsing succeeded
  int parse_error_line = 0;

  // The line of `path`, or of its nearest parent that has one; 0 if none.
  int LineOf(std::string path) const;

  std::string text;                                         // as read, for the line index
  mutable std::optional<std::map<std::string, int>> lines;  // path -> 1-based line, lazily
};

// Parses UTF-8 JSON text (encoding validated); keeps the text in `out`.
void ParseWithLines(std::string text, LinedDocument& out);

}  // namespace cds::rules::internal
