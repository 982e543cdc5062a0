// libFuzzer target: the rule-file loader (rules/loader.h). The input is a
// ruleset.json, loaded next to the shipped magnesium valuesets.json from a
// private temporary directory. Loading must report problems, never crash.
// Speed (issue #12 campaign): every execution re-reads, re-parses (with line
// tracking) and schema-checks valuesets.json, which is constant; profiling
// showed that and the 28 KB seed rulesets are where the time goes. The
// value sets are therefore written with each include/exclude entry cut to
// its first code: the same value set ids, systems and shape (so the seed
// rulesets still load), fewer codes. CDS_FUZZ_FULL_VALUESETS=1 keeps them all
// (to compare the speed).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
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
  std::stringstream text;
  text << valuesets.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("valueSets")) std::abort();
  const bool full = std::getenv("CDS_FUZZ_FULL_VALUESETS") != nullptr;
  for (auto& set : doc["valueSets"].GetArray()) {
    if (full) break;
    for (const char* part : {"include", "exclude"}) {
      if (!set.HasMember(part)) continue;
      for (auto& entry : set[part].GetArray()) {
        if (!entry.HasMember("codes")) continue;
        auto& codes = entry["codes"];
        while (codes.Size() > 1) codes.PopBack();
      }
    }
  }
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> writer(out);
  doc.Accept(writer);
  std::ofstream(std::string(dir) + "/valuesets.json", std::ios::binary) << out.GetString();
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
