// magcds rules book RULESET [--baseline OLD] --out DIR
#include <iostream>

#include "service/cli.h"

namespace cds::service {

int RunRulesBook(const CliArgs&) {
  std::cerr << "magcds rules book: not built yet\n";
  return 2;
}

}  // namespace cds::service
