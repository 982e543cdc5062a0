#pragma once

// A CDS Hooks 2.0 card as plain values (CDS Hooks §Card Attributes). Rendering
// from rule results is cards/render.h; JSON encoding is service/'s job.

#include <string>
#include <vector>

#include "rules/ruleset.h"

namespace cds::cards {

using rules::Indicator;

struct Coding {
  std::string system;
  std::string code;
  std::string display;
};

struct Source {
  std::string label;
  std::string url;
  Coding topic;  // topic.code is the rule id, e.g. "MG-01"
};

struct Action {
  std::string type;  // "create" | "update" | "delete"
  std::string description;
  std::string resource_json;  // complete FHIR resource as compact JSON text ("" if none)
  std::string resource_id;    // delete: "MedicationRequest/{id}" (CDS Hooks 2.0 resourceId)
};

struct Suggestion {
  std::string label;
  std::string uuid;
  bool is_recommended = false;
  std::vector<Action> actions;
};

struct Card {
  std::string uuid;
  std::string summary;  // < 140 characters (checked at rule load)
  std::string detail;   // GitHub-flavoured markdown, ends with the advisory disclaimer
  Indicator indicator = Indicator::kInfo;
  Source source;
  std::vector<Suggestion> suggestions;
  std::string selection_behavior;  // "at-most-one" when suggestions exist, else ""
  // CDS Hooks 2.0 card overrideReasons: what the EHR may offer on dismissal.
  std::vector<Coding> override_reasons;
  // Provenance, sent as the card's `extension`: which rule and ruleset made it.
  std::string rule_id;
  std::string rule_version;
  std::string ruleset_id;
  std::string ruleset_version;
};

}  // namespace cds::cards
