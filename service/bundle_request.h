#pragma once

// For `magcds evaluate --bundle`: wraps a FHIR Bundle of one patient's
// resources as a CDS Hooks request whose prefetch is complete for `service`.
// Every search key gets the whole Bundle; a Patient read key gets the Bundle's
// Patient resource. The patient id is the Patient's id.

#include <string>
#include <string_view>

#include "fhir/result.h"
#include "rules/ruleset.h"

namespace cds::service {

// kInvalidRequest when the text is not JSON or not a Bundle, or the Bundle
// holds no Patient resource or its Patient has no usable id (issue #13).
Result<std::string> BuildBundleRequest(std::string_view bundle_json, const rules::RuleSet& rule_set,
                                       const rules::ServiceDefinition& service);

}  // namespace cds::service
