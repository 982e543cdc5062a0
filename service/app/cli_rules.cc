// magcds rules validate PATH
// magcds rules test PATH [--cases DIR]
// magcds rules diff OLD NEW
// Admin commands for rule files: prove a change before it is rolled out.
#include <iostream>
#include <string>

#include "cards/case_cards.h"
#include "rules/example_case.h"
#include "rules/loader.h"
#include "rules/ruleset_diff.h"
#include "service/app/cli.h"
#include "service/app/cli_common.h"

namespace cds::service {
namespace {

constexpr const char* kUsage =
    "usage: magcds rules validate PATH\n"
    "       magcds rules test PATH [--cases DIR]   (default DIR: PATH/examples)\n"
    "       magcds rules diff OLD_PATH NEW_PATH\n"
    "       magcds rules backtest --population PATH... --rules NEW [--baseline OLD] [--now ISO]\n"
    "                             [--now-per-patient] [--hook H] [--jobs N] [--out DIR]\n"
    "       magcds rules book PATH [--baseline OLD] --out DIR\n"
    "PATH is a ruleset directory (ruleset.json + valuesets.json) or its ruleset.json.\n";

std::string Ids(const std::set<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids) out += (out.size() > 1 ? ", " : "") + id;
  return out + "]";
}

int Validate(const std::string& path) {
  rules::LoadReport report = rules::LoadRuleSetReport(path);
  for (const auto& warning : report.warnings) std::cout << "warning: " << warning << "\n";
  if (!report.errors.empty()) {
    for (const auto& issue : report.errors) std::cout << issue.ToString() << "\n";
    std::cout << report.errors.size() << " error(s); the ruleset is not valid\n";
    return 1;
  }
  const rules::RuleSet& rs = *report.rule_set;
  std::cout << "OK " << rs.Label() << " (released " << rs.release_date << "): " << rs.rules.size()
            << " rules, " << rs.value_sets.size() << " value sets, " << rs.parameters.size()
            << " parameters\n";
  return 0;
}

int Test(const std::string& path, const std::string& cases_dir) {
  auto rule_set = LoadRulesOrReport(path);
  if (!rule_set) return 2;
  std::vector<std::string> files = rules::ListCaseFiles(cases_dir);
  if (files.empty()) {
    std::cout << "no example cases (*.json) in " << cases_dir << "\n";
    return 1;
  }
  int passed = 0, failed = 0;
  for (const std::string& file : files) {
    auto loaded = rules::LoadExampleCase(file);
    if (!loaded) {
      ++failed;
      std::cout << "FAIL " << file << "\n  " << loaded.error().message << "\n";
      continue;
    }
    rules::CaseResult result = rules::RunExampleCase(*rule_set, *loaded);
    cards::CheckCaseCards(*rule_set, *loaded, result);
    if (result.passed) {
      ++passed;
      std::cout << "PASS " << loaded->name << "\n";
      continue;
    }
    ++failed;
    std::cout << "FAIL " << loaded->name << "  (" << file << ")\n"
              << "  expected to fire:     " << Ids(loaded->fires) << "\n"
              << "  expected not to fire: " << Ids(loaded->not_fires) << "\n"
              << "  actually fired:       " << Ids(result.fired) << "\n";
    for (const auto& problem : result.problems) std::cout << "  - " << problem << "\n";
  }
  std::cout << rule_set->Label() << ": " << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

int Diff(const std::string& old_path, const std::string& new_path) {
  auto old_set = LoadRulesOrReport(old_path);
  auto new_set = LoadRulesOrReport(new_path);
  if (!old_set || !new_set) return 2;
  rules::RuleSetDiff diff = rules::DiffRuleSets(*old_set, *new_set);
  std::cout << old_set->Label() << " -> " << new_set->Label() << "\n";
  if (diff.empty()) std::cout << "no changes\n";
  for (const auto& line : diff.lines) std::cout << line << "\n";
  for (const auto& warning : diff.warnings) std::cout << "warning: " << warning << "\n";
  return 0;
}

}  // namespace

int RunRules(const CliArgs& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string& verb = args[0];
  if (verb == "validate" && args.size() == 2) return Validate(args[1]);
  if (verb == "diff" && args.size() == 3) return Diff(args[1], args[2]);
  if (verb == "backtest") return RunRulesBacktest(CliArgs(args.begin() + 1, args.end()));
  if (verb == "book") return RunRulesBook(CliArgs(args.begin() + 1, args.end()));
  if (verb == "test" && args.size() >= 2) {
    FlagParser flags({"cases"}, {});
    if (Status parsed = flags.Parse(CliArgs(args.begin() + 2, args.end())); !parsed) {
      std::cerr << "magcds rules test: " << parsed.error().message << "\n" << kUsage;
      return 2;
    }
    std::string base = args[1];
    if (base.size() > 13 && base.compare(base.size() - 13, 13, "/ruleset.json") == 0)
      base.resize(base.size() - 13);
    return Test(args[1], flags.Value("cases").value_or(base + "/examples"));
  }
  std::cerr << "magcds rules: bad arguments\n" << kUsage;
  return 2;
}

}  // namespace cds::service
