// libFuzzer target: the rule-file loader (rules/loader.h). The input is a
// ruleset.json, loaded next to a reduced copy of the shipped magnesium
// value sets from a private temporary directory. Loading must report
// problems, never crash.
// Speed (issue #12 campaign): the loader takes a directory, so every
// execution re-reads, re-parses (with line tracking) and schema-checks
// valuesets.json as well as the input. With the one-rule seeds of
// make_rule_loader_seeds.py (2-7 KB) the shipped 98 KB value sets were most
// of the time, so the target writes them reduced to what the loader checks:
// every value set id, title and version and each include/exclude component's
// kind and system, with one code or prefix each ("unverified" kept where the
// first code is unverified, so that path stays reachable); descriptions and
// displays dropped. The seed rulesets load against it unchanged.
// CDS_FUZZ_FULL_VALUESETS=1 writes the shipped file (to compare the speed).
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

rapidjson::Document ReadValueSets(const char* version) {
  std::ifstream file(std::string(CDS_RULES_DIR) + "/magnesium/" + version + "/valuesets.json",
                     std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("valueSets")) std::abort();
  return doc;
}

// The value sets of both shipped versions (1.1.0's, plus the 1.0.0 ids it
// dropped), so the one-rule seeds of either version load.
rapidjson::Document ShippedValueSets() {
  rapidjson::Document doc = ReadValueSets("1.1.0");
  rapidjson::Document older = ReadValueSets("1.0.0");
  auto& sets = doc["valueSets"];
  for (auto& set : older["valueSets"].GetArray()) {
    bool present = false;
    for (const auto& have : sets.GetArray()) present = present || have["id"] == set["id"];
    if (!present) sets.PushBack(rapidjson::Value(set, doc.GetAllocator()), doc.GetAllocator());
  }
  return doc;
}

std::string MakeDirectory() {
  char pattern[] = "/tmp/magcds-fuzz-rules-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  if (dir == nullptr) std::abort();
  rapidjson::Document doc = ShippedValueSets();
  const bool full = std::getenv("CDS_FUZZ_FULL_VALUESETS") != nullptr;
  for (auto& set : doc["valueSets"].GetArray()) {
    if (full) break;
    set.RemoveMember("description");
    for (const char* part : {"include", "exclude"}) {
      if (!set.HasMember(part)) continue;
      for (auto& component : set[part].GetArray()) {
        for (const char* list : {"codes", "prefixes"}) {
          if (!component.HasMember(list)) continue;
          auto& codes = component[list];
          while (codes.Size() > 1) codes.PopBack();
          codes[0].RemoveMember("display");
          auto& verification = codes[0]["verification"];
          const bool unverified = std::string(verification.GetString()).rfind("unverified", 0) == 0;
          verification.SetString(rapidjson::StringRef(unverified ? "unverified" : "V"));
        }
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
