#include "tests/support/magcds_serve.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/test/unit_test.hpp>

namespace cds::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

MagcdsServe::MagcdsServe(const std::string& binary, std::optional<std::string> config_members,
                         std::vector<std::string> launcher)
    : dir_(MakeTempDir("magcds-serve")) {
  std::ofstream(dir_ + "/hash.key") << "serve-test-hash-key-0123456789abcdef\n";
  // Issue #12: a key file that others may read is refused at start.
  std::filesystem::permissions(
      dir_ + "/hash.key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  for (int attempt = 0; attempt < 5 && !child_; ++attempt) {
    port_ = FindFreePort();
    const std::string listen = "127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> argv = {binary, "serve", "--listen", listen};
    if (config_members) {
      std::string json = "{\"listen\":\"" + listen + "\",\"log\":{\"level\":\"debug\"}";
      if (!config_members->empty()) {
        json += "," + ReplaceAll(ReplaceAll(*config_members, "@DIR@", dir_), "@PORT@",
                                 std::to_string(port_));
      }
      json += "}";
      std::ofstream(dir_ + "/config.json") << json;
      argv.push_back("--config");
      argv.push_back(dir_ + "/config.json");
    }
    argv.insert(argv.begin(), launcher.begin(), launcher.end());
    auto child = std::make_unique<ChildProcess>(argv, dir_ + "/magcds.log");
    const auto start = SteadyClock::now();
    while (SteadyClock::now() - start < std::chrono::seconds(10) && child->Running()) {
      if (SendRaw(port_, FormatRequest("GET", "/healthz"), std::chrono::seconds(1)).status == 200) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (child->Running()) child_ = std::move(child);
  }
  BOOST_REQUIRE_MESSAGE(child_, "magcds serve did not come up: " + Log());
}

MagcdsServe::~MagcdsServe() {
  child_.reset();
  RemoveTree(dir_);
}

std::string MagcdsServe::Base() const { return "http://127.0.0.1:" + std::to_string(port_); }

HttpTestResponse MagcdsServe::Send(const std::string& method, const std::string& path,
                                   const std::string& body,
                                   std::vector<std::pair<std::string, std::string>> headers,
                                   std::chrono::milliseconds timeout) const {
  return SendRaw(port_, FormatRequest(method, path, body, headers), timeout);
}

std::string MagcdsServe::Log() const { return ReadFile(dir_ + "/magcds.log"); }

bool MagcdsServe::WaitForLog(const std::string& text, std::size_t from,
                             std::chrono::milliseconds timeout) const {
  const auto start = SteadyClock::now();
  for (;;) {
    if (Log().find(text, from) != std::string::npos) return true;
    if (SteadyClock::now() - start > timeout) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string MagcdsServe::ReadInDir(const std::string& name) const {
  return ReadFile(dir_ + "/" + name);
}

std::vector<std::string> NonEmptyLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

double MetricValue(const std::string& metrics, const std::string& series) {
  for (const std::string& line : NonEmptyLines(metrics)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace cds::testing
