// libFuzzer target: the rule-file loader (rules/loader.h). The input is a
// ruleset.json, loaded against a reduced copy of the shipped magnesium value
// sets. Loading must report problems, never crash.
// Speed (issue #12 campaign): the value sets are read, checked and indexed
// once (LoadValueSetsFile) and every input goes through LoadRuleSetText, the
// second half of LoadRuleSetReport; re-reading valuesets.json per execution
// was about two thirds of the time. The value sets are written reduced to
// what the loader checks, which keeps the per-input copy of them small:
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

// The reduced value sets, loaded once; the temporary directory is removed.
const cds::rules::ValueSetsFile& ValueSets() {
  static const cds::rules::ValueSetsFile sets = [] {
    const std::string dir = MakeDirectory();
    const std::string path = dir + "/valuesets.json";
    cds::rules::ValueSetsFile loaded = cds::rules::LoadValueSetsFile(path);
    std::remove(path.c_str());
    ::rmdir(dir.c_str());
    if (!loaded.errors.empty()) std::abort();  // the target's own value sets must load
    return loaded;
  }();
  return sets;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cds::rules::LoadReport report = cds::rules::LoadRuleSetText(
      "ruleset.json", std::string(reinterpret_cast<const char*>(data), size), ValueSets());
  if (report.rule_set) static_cast<void>(report.rule_set->rules.size());
  return 0;
}
