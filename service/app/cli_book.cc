// magcds rules book RULESET [--baseline OLD] [--cases DIR] --out DIR
// Cards are rendered from RULESET/examples and, with --cases, from further
// example patients (e.g. tests/data/rule-cases) for rules the shipped ones
// do not trigger.
// Writes DIR/index.html: the rule book for a governance committee
// (service/backtest/rule_book.h). Exit 0 on success, 2 on bad arguments or rule files.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "rules/example_case.h"
#include "service/app/cli.h"
#include "service/app/cli_common.h"
#include "service/backtest/rule_book.h"

namespace cds::service {
namespace {

constexpr const char* kUsage =
    "usage: magcds rules book RULESET [--baseline OLD] [--cases DIR] --out DIR\n";

int Fail(const std::string& message) {
  std::cerr << "magcds rules book: " << message << "\n";
  return 2;
}

// A ruleset directory, or its ruleset.json.
std::string RulesetDirectory(std::string path) {
  const std::string file = "/ruleset.json";
  if (path.size() > file.size() &&
      path.compare(path.size() - file.size(), file.size(), file) == 0) {
    path.resize(path.size() - file.size());
  }
  return path;
}

}  // namespace

int RunRulesBook(const CliArgs& args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    std::cerr << kUsage;
    return 2;
  }
  FlagParser flags({"baseline", "out", "cases"}, {});
  if (Status parsed = flags.Parse(CliArgs(args.begin() + 1, args.end())); !parsed) {
    std::cerr << "magcds rules book: " << parsed.error().message << "\n" << kUsage;
    return 2;
  }
  if (!flags.Value("out")) return Fail("--out DIR is required");
  const std::string directory = RulesetDirectory(args[0]);
  std::shared_ptr<const rules::RuleSet> rule_set = LoadRulesOrReport(directory);
  if (!rule_set) return 2;
  std::shared_ptr<const rules::RuleSet> baseline;
  if (const auto old = flags.Value("baseline")) {
    baseline = LoadRulesOrReport(*old);
    if (!baseline) return 2;
  }
  RuleBookInput input;
  Result<std::string> ruleset_json = ReadTextFile(directory + "/ruleset.json");
  if (!ruleset_json) return Fail(ruleset_json.error().message);
  Result<std::string> valuesets_json = ReadTextFile(directory + "/valuesets.json");
  if (!valuesets_json) return Fail(valuesets_json.error().message);
  input.ruleset_json = std::move(ruleset_json).value();
  input.valuesets_json = std::move(valuesets_json).value();
  input.rule_set = rule_set.get();
  input.baseline = baseline.get();
  std::vector<std::string> case_dirs = {directory + "/examples"};
  if (const auto cases = flags.Value("cases")) case_dirs.push_back(*cases);
  for (const std::string& cases : case_dirs) {
    for (const std::string& file : rules::ListCaseFiles(cases)) {
      Result<rules::ExampleCase> example = rules::LoadExampleCase(file);
      if (!example) return Fail(file + ": " + example.error().message);
      input.examples.push_back(std::move(example).value());
    }
  }
  Result<std::string> book = BuildRuleBook(input);
  if (!book) return Fail(book.error().message);

  const std::string out_dir = *flags.Value("out");
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Fail(out_dir + ": cannot create: " + ec.message());
  const std::string path = out_dir + "/index.html";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << *book;
  out.close();
  if (!out) return Fail(path + ": cannot write");
  std::cout << "rule book for " << rule_set->Label()
            << (baseline ? " (changes since " + baseline->Label() + ")" : std::string()) << ": "
            << path << "\n";
  return 0;
}

}  // namespace cds::service
