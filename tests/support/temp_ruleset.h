#pragma once

// A throw-away copy of a ruleset directory that a test can edit (string
// replacements in ruleset.json / valuesets.json), removed when it goes away.

#include <string>

namespace cds::test {

class TempRuleSet {
 public:
  explicit TempRuleSet(const std::string& source_dir);
  ~TempRuleSet();
  TempRuleSet(const TempRuleSet&) = delete;
  TempRuleSet& operator=(const TempRuleSet&) = delete;

  const std::string& dir() const { return dir_; }
  // Replaces the first occurrence of `from` in `file` ("ruleset.json" or
  // "valuesets.json"); fails the test (throws) if `from` is not there.
  void Replace(const std::string& file, const std::string& from, const std::string& to);
  void Write(const std::string& file, const std::string& text);
  std::string Read(const std::string& file) const;

 private:
  std::string dir_;
};

}  // namespace cds::test
