#pragma once

// The magcds subcommands. main.cc dispatches `magcds <name> args...` to the
// matching Run function; each lives in its own cli_<name>.cc. A Run function
// gets the arguments after the subcommand name and returns the exit code.
// To add one (e.g. `rules validate`): write cli_<name>.cc, declare it here,
// add a row to the table in main.cc.

#include <string>
#include <vector>

namespace cds::service {

using CliArgs = std::vector<std::string>;

int RunServe(const CliArgs& args);
int RunEvaluate(const CliArgs& args);
int RunRules(const CliArgs& args);
// `rules backtest` and `rules book` (cli_backtest.cc, cli_book.cc), dispatched by RunRules.
int RunRulesBacktest(const CliArgs& args);
int RunRulesBook(const CliArgs& args);
int RunReport(const CliArgs& args);  // issue #16: report feedback

}  // namespace cds::service
