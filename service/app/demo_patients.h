#pragma once

// The embedded-defaults demo: the example patients shipped with a ruleset
// (RULESET/examples/*.json) served as a FHIR source for requests that name no
// fhirServer. Only `magcds serve` without a config file uses it.

#include <memory>
#include <string>

#include "fhir/demo_fhir_client.h"

namespace cds::service {

// Null when the ruleset has no usable examples. Examples that declare data as
// not obtained or partial are left out (a demo source always answers).
std::unique_ptr<fhir::DemoFhirClient> LoadDemoPatients(const std::string& rules_path);

}  // namespace cds::service
