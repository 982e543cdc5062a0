// libFuzzer target: the rule-file loader (rules/loader.h). The input is a
// ruleset.json, loaded next to the shipped magnesium valuesets.json from a
// private temporary directory. Loading must report problems, never crash.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "rules/loader.h"

namespace {

std::string MakeDirectory() {
  char pattern[] = "/tmp/magcds-fuzz-rules-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  if (dir == nullptr) std::abort();
  std::ifstream valuesets(std::string(CDS_RULES_DIR) + "/magnesium/1.0.0/valuesets.json",
                          std::ios::binary);
  std::ofstream(std::string(dir) + "/valuesets.json", std::ios::binary) << valuesets.rdbuf();
  return dir;
}

struct Directory {
  std::string path = MakeDirectory();
  ~Directory() {
    std::remove((path + "/ruleset.json").c_str());
    std::remove((path + "/valuesets.json").c_str());
    ::rmdir(path.c_str());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Directory directory;
  {
    std::ofstream out(directory.path + "/ruleset.json", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const cds::rules::LoadReport report = cds::rules::LoadRuleSetReport(directory.path);
  if (report.rule_set) static_cast<void>(report.rule_set->rules.size());
  return 0;
}
