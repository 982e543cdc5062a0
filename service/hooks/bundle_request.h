#pragma once

// A FHIR Bundle of one patient's resources as a CDS Hooks request whose
// prefetch is complete for `service`: used by `magcds evaluate --bundle` and
// by the population backtest (one Bundle per patient). Every search key gets
// the whole Bundle; a Patient read key gets the Bundle's Patient resource (or
// null when there is none). The patient id is the Patient's id. No JSON text is written or
// re-parsed: the prefetch values point into `bundle`, which the request keeps alive.

#include <memory>
#include <optional>
#include <string>

#include "common/json_document.h"
#include "common/result.h"
#include "fhir/fhir_time.h"
#include "rules/ruleset.h"
#include "service/hooks/hook_request.h"

namespace cds::service {

// kInvalidRequest when the document is not a Bundle (resourceType) or holds
// Patient resources of more than one patient (their data must not be mixed), or
// no Patient resource, or a Patient without a usable id (issue #13).
Result<HookRequest> BuildBundleRequest(std::shared_ptr<const JsonDocument> bundle,
                                       const rules::RuleSet& rule_set,
                                       const rules::ServiceDefinition& service,
                                       const std::string& user_id = "Practitioner/magcds-cli");

// The latest clinical date-time recorded in the Bundle's resources (period
// ends and starts, effective/issued/authoredOn/recordedDate/onset/performed/
// occurrence), for a backtest that evaluates each patient "as of" the end of
// their record. Empty when the Bundle holds no such date.
std::optional<fhir::EpochSeconds> LatestRecordedTime(const JsonDocument& bundle);

}  // namespace cds::service
