#include "service/app/demo_patients.h"

#include <utility>
#include <vector>

#include "rules/example_case.h"

namespace cds::service {

std::unique_ptr<fhir::DemoFhirClient> LoadDemoPatients(const std::string& rules_path) {
  std::string dir = rules_path;
  const std::string file = "/ruleset.json";
  if (dir.size() > file.size() && dir.compare(dir.size() - file.size(), file.size(), file) == 0) {
    dir.resize(dir.size() - file.size());
  }
  std::vector<std::pair<std::shared_ptr<const JsonDocument>, JsonRef>> bundles;
  for (const std::string& path : rules::ListCaseFiles(dir + "/examples")) {
    auto example = rules::LoadExampleCase(path);
    if (!example || !example->not_obtained.empty() || !example->partial.empty()) continue;
    bundles.emplace_back(example->document, example->bundle);
  }
  if (bundles.empty()) return nullptr;
  return std::make_unique<fhir::DemoFhirClient>(std::move(bundles));
}

}  // namespace cds::service
