#include "service/app/cli_common.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "rules/loader.h"

namespace cds::service {

Status FlagParser::Parse(const CliArgs& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0)
      return Error{ErrorCode::kInvalidRequest, "unexpected argument '" + arg + "'"};
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (bool_flags_.count(name) != 0) {
      if (inline_value) return Error{ErrorCode::kInvalidRequest, "--" + name + " takes no value"};
      present_.insert(name);
      continue;
    }
    if (value_flags_.count(name) == 0) {
      return Error{ErrorCode::kInvalidRequest, "unknown option --" + name};
    }
    if (!inline_value) {
      if (i + 1 >= args.size())
        return Error{ErrorCode::kInvalidRequest, "--" + name + " needs a value"};
      inline_value = args[++i];
    }
    present_.insert(name);
    values_[name] = *inline_value;
  }
  return OkStatus();
}

std::optional<std::string> FlagParser::Value(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

bool FlagParser::Has(const std::string& name) const { return present_.count(name) != 0; }

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kInvalidRequest, "cannot open " + path};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{ErrorCode::kInvalidRequest, "cannot read " + path};
  return text.str();
}

std::string RulesPath(const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) return *flag;
  if (const char* env = std::getenv("MAGCDS_RULES"); env != nullptr && *env != '\0') return env;
  return CDS_DEFAULT_RULES_DIR;
}

std::shared_ptr<const rules::RuleSet> LoadRulesOrReport(const std::string& path) {
  Result<std::shared_ptr<const rules::RuleSet>> loaded = rules::LoadRuleSet(path);
  if (!loaded) {
    std::cerr << "magcds: cannot load rules from " << path << ":\n"
              << loaded.error().message << "\n";
    return nullptr;
  }
  return *loaded;
}

Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  const Error bad{ErrorCode::kInvalidRequest,
                  "listen address must be HOST:PORT, e.g. 127.0.0.1:8080"};
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return bad;
  const std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  for (const char c : port_text) {
    if (c < '0' || c > '9' || port > 65535) return bad;
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (port == 0 || port > 65535) return bad;
  return std::make_pair(text.substr(0, colon), static_cast<std::uint16_t>(port));
}

fhir::EpochSeconds SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

IdSourceFactory RandomIds() {
  return [] { return std::make_unique<cards::RandomIdSource>(); };
}

IdSourceFactory SequentialIds() {
  return [] { return std::make_unique<cards::SequentialIdSource>(); };
}

}  // namespace cds::service
