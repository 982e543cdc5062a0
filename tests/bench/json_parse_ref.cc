// The backtest benchmark's reference (issue #17): read the same population
// files and parse them with RapidJSON alone, on one thread: each *.json file
// as one document, each line of each *.ndjson file as one document, with the
// flags the service uses (kParseValidateEncodingFlag). No FHIR, no rules.
// Prints "bytes=<n> documents=<n> bad=<n> seconds=<s>".
//
// usage: json_parse_ref [--parse-only] PATH...   (folders: their *.json and *.ndjson files)
//
// --parse-only (issue #18, big patients): read every file into memory first and
// time the parses alone; also prints cpu_seconds=<s> (this process's CPU time
// over the parses), the in-process reference for the server's CPU per MB.
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

bool Parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  return !document.HasParseError();
}

std::string ReadFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int ParseOnly(const std::vector<std::string>& files) {
  std::vector<std::string> texts;
  unsigned long long bytes = 0, bad = 0;
  for (const std::string& file : files) {
    texts.push_back(ReadFile(file));
    bytes += texts.back().size();
  }
  const std::clock_t cpu_start = std::clock();
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& text : texts) {
    if (!Parse(text)) ++bad;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  std::printf("bytes=%llu documents=%zu bad=%llu cpu_seconds=%.4f seconds=%.4f\n", bytes,
              texts.size(), bad, cpu_seconds, seconds);
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  bool parse_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--parse-only") {
      parse_only = true;
      continue;
    }
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
  unsigned long long bytes = 0, documents = 0, bad = 0;
  if (parse_only) return ParseOnly(files);
  const auto start = std::chrono::steady_clock::now();
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
