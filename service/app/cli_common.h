#pragma once

// Helpers shared by the magcds subcommands: flag parsing, file reading, rule
// loading and the real clock/uuid sources. Only the executable uses these; the
// core (service/hook_handler etc.) gets its clock and ids injected.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/result.h"
#include "rules/ruleset.h"
#include "service/app/cli.h"
#include "service/http/hook_handler.h"

namespace cds::service {

// "--name value", "--name=value" and boolean "--flag". Unknown flags, missing
// values and stray positional arguments are errors.
class FlagParser {
 public:
  FlagParser(std::set<std::string> value_flags, std::set<std::string> bool_flags)
      : value_flags_(std::move(value_flags)), bool_flags_(std::move(bool_flags)) {}

  Status Parse(const CliArgs& args);
  std::optional<std::string> Value(const std::string& name) const;
  bool Has(const std::string& name) const;

 private:
  std::set<std::string> value_flags_;
  std::set<std::string> bool_flags_;
  std::map<std::string, std::string> values_;
  std::set<std::string> present_;
};

Result<std::string> ReadTextFile(const std::string& path);

// --rules, else $MAGCDS_RULES, else the compiled-in CDS_DEFAULT_RULES_DIR.
std::string RulesPath(const std::optional<std::string>& flag);

// Loads and validates a rule set; on failure prints every issue to stderr.
std::shared_ptr<const rules::RuleSet> LoadRulesOrReport(const std::string& path);

// "HOST:PORT" -> (host, port); kInvalidRequest if malformed.
Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& text);

fhir::EpochSeconds SystemNow();
IdSourceFactory RandomIds();
IdSourceFactory SequentialIds();

}  // namespace cds::service
