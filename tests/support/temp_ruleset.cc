#include "tests/support/temp_ruleset.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "tests/support/rule_fixtures.h"

namespace cds::test {

TempRuleSet::TempRuleSet(const std::string& source_dir) {
  std::string pattern = "/tmp/magcds-rules-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = buf.data();
  for (const char* f : {"ruleset.json", "valuesets.json"}) Write(f, ReadText(source_dir + "/" + f));
}

TempRuleSet::~TempRuleSet() {
  for (const char* f : {"ruleset.json", "valuesets.json"}) std::remove((dir_ + "/" + f).c_str());
  std::remove(dir_.c_str());
}

void TempRuleSet::Replace(const std::string& file, const std::string& from, const std::string& to) {
  std::string text = Read(file);
  std::size_t pos = text.find(from);
  if (pos == std::string::npos) throw std::runtime_error("'" + from + "' not found in " + file);
  text.replace(pos, from.size(), to);
  Write(file, text);
}

void TempRuleSet::Write(const std::string& file, const std::string& text) {
  std::ofstream out(dir_ + "/" + file, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string TempRuleSet::Read(const std::string& file) const { return ReadText(dir_ + "/" + file); }

}  // namespace cds::test
