// The backtest benchmark's reference (issue #17): read the same population
// files and parse them with RapidJSON alone, on one thread: each *.json file
// as one document, each line of each *.ndjson file as one document, with the
// flags the service uses (kParseValidateEncodingFlag). No FHIR, no rules.
// Prints "bytes=<n> documents=<n> seconds=<s>".
//
// usage: json_parse_ref PATH...   (folders: their *.json and *.ndjson files)
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

bool Parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  return !document.HasParseError();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        const std::string name = entry.path().string();
        if (name.ends_with(".json") || name.ends_with(".ndjson")) files.push_back(name);
      }
    } else {
      files.push_back(path.string());
    }
  }
  const auto start = std::chrono::steady_clock::now();
  unsigned long long bytes = 0, documents = 0, bad = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (file.ends_with(".ndjson")) {
      std::string line;
      while (std::getline(in, line)) {
        bytes += line.size() + 1;
        if (line.empty()) continue;
        ++documents;
        if (!Parse(line)) ++bad;
      }
    } else {
      std::ostringstream text;
      text << in.rdbuf();
      bytes += text.str().size();
      ++documents;
      if (!Parse(text.str())) ++bad;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("bytes=%llu documents=%llu bad=%llu seconds=%.3f\n", bytes, documents, bad, seconds);
  return bad == 0 ? 0 : 1;
}
