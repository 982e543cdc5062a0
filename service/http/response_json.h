#pragma once

// JSON encoding of what the service sends: the CDS Hooks response (cards), the
// discovery document and error bodies. Optional members that are empty are
// left out, never sent as null or [] (checklist J-2/J-3, RT-6); `suggestions`
// and `selectionBehavior` appear together or not at all (RT-2).
// Pure functions; thread-safe.

#include <string>
#include <vector>

#include "cards/card.h"
#include "common/result.h"
#include "rules/ruleset.h"
#include "service/http/http_status.h"

namespace cds::service {

// {"cards":[...]} (CDS Hooks §CDS Service Response). Each card carries
// uuid, summary, detail (if any), indicator, source {label, url?, topic?},
// suggestions + selectionBehavior (if any) and the provenance extension
// {"org.magcds.provenance": {"rule": "MG-01@1.0.0", "ruleset": "magnesium@1.0.0"}}.
// An action's resource_json is embedded as it is: it must be valid JSON.
std::string WriteCardsResponse(const std::vector<cards::Card>& cards);

// {"services":[...]} (CDS Hooks §Discovery): every service of the rule set with
// hook, id, title, description, prefetch (key -> template; left out if none),
// usageRequirements (if any) and the extension
// {"org.magcds.ruleset": {"id", "version", "releaseDate"}}.
std::string WriteDiscovery(const rules::RuleSet& rule_set);

// {"error": "<ErrorCodeName>", "message": "..."} (service/http/http_status.h).
// Use ErrorViewFor (service/http/http_response_text.h) for a whole answer.
std::string WriteErrorBody(const HttpError& error);

// A flat object of string members, e.g. {"status":"ok"} for health endpoints.
std::string WriteStringObject(const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace cds::service
