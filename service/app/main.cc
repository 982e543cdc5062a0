// magcds: the CDS Hooks service and its admin commands in one binary.
#include <cstring>
#include <exception>
#include <iostream>
#include <string_view>

#include "service/app/allocator_tuning.h"
#include "service/app/cli.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const cds::service::CliArgs& args);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"serve", cds::service::RunServe,
     "serve [--config FILE] [--listen HOST:PORT] [--rules PATH]\n"
     "      Run the CDS Hooks service (default 127.0.0.1:8080). SIGINT/SIGTERM stop it."},
    {"evaluate", cds::service::RunEvaluate,
     "evaluate (--request FILE | --bundle FILE) [--hook patient-view] [--service ID]\n"
     "         [--now ISO-8601] [--rules PATH] [--explain]\n"
     "      Run one CDS Hooks request (or a FHIR Bundle used as complete prefetch)\n"
     "      through the service without sockets; print the response JSON."},
    {"rules", cds::service::RunRules,
     "rules validate PATH | rules test PATH [--cases DIR] | rules diff OLD NEW\n"
     "      | rules backtest --population PATH... --rules NEW [--baseline OLD] [--out DIR]\n"
     "      | rules book PATH [--baseline OLD] --out DIR\n"
     "      Check a ruleset, run its example patients, or list what changed."},
    {"report", cds::service::RunReport,
     "report feedback [--config FILE] [--since DATE] [--format table|json|csv]\n"
     "      Card feedback per rule and version: cards issued, accepted, overridden,\n"
     "      acceptance rate, override reasons, suggestions taken."},
};

void PrintUsage(std::ostream& out) {
  out << "magcds " << CDS_VERSION << " - CDS Hooks 2.0 magnesium decision support\n\n"
      << "usage: magcds <command> [options]\n\ncommands:\n";
  for (const Command& command : kCommands) out << "  " << command.summary << "\n";
  out << "  help\n      Show this text.\n\n"
      << "Rules default to $MAGCDS_RULES, else " << CDS_DEFAULT_RULES_DIR << ".\n"
      << "The feedback store defaults to $MAGCDS_DB, else ./magcds.db (serve and report).\n";
}

}  // namespace

int main(int argc, char** argv) {
  cds::service::TuneAllocator();
  if (argc < 2) {
    PrintUsage(std::cerr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    PrintUsage(std::cout);
    return 0;
  }
  const cds::service::CliArgs args(argv + 2, argv + argc);
  for (const Command& command : kCommands) {
    if (name == command.name) {
      try {
        return command.run(args);
      } catch (const std::exception& e) {
        std::cerr << "magcds " << name << ": internal error: " << e.what() << "\n";
        return 70;
      }
    }
  }
  std::cerr << "magcds: unknown command '" << name << "'\n\n";
  PrintUsage(std::cerr);
  return 2;
}
