#pragma once

// Hooks as data (issue #11 "Hooks as data", issue #15): a CDS Hooks hook is
// described once — the context fields it carries beyond patientId / userId /
// encounterId and how they are validated, the fact categories it builds, and
// how it builds facts from its own context. The ruleset says which rules fire
// on which hook (Rule::hooks) and which service serves it. Request parsing
// (hook_request_json.cc) and the core call (service_call.cc) read these
// descriptions; the HTTP layer and the rule engine never name a hook.
//
// Adding a hook: describe it (RegisterHook at start-up, or a built-in below),
// give a service of the ruleset that `hook`, and list it in the rules' "hooks".

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_document.h"
#include "common/result.h"
#include "fhir/fhir_time.h"
#include "fhir/normalize.h"
#include "fhir/patient_facts.h"

namespace cds::service {

// A hook-specific context field and the JSON shape it must have.
struct ContextField {
  enum class Kind {
    kString,       // non-empty string
    kStringArray,  // array of non-empty strings
    kBundle,       // a FHIR Bundle (object with resourceType "Bundle")
  };
  std::string name;  // member of `context`, e.g. "draftOrders"
  Kind kind = Kind::kString;
  bool required = false;
};

// The hook-specific context of one request, after its shape was checked.
// Values point into the request document (HookRequest::document).
struct HookContext {
  std::map<std::string, std::string> strings;
  std::map<std::string, std::vector<std::string>> string_arrays;
  std::map<std::string, JsonRef> bundles;
  // "Type/id" of each resource in each Bundle field, in entry order.
  std::map<std::string, std::vector<std::string>> bundle_refs;

  bool Has(const std::string& field) const {
    return strings.count(field) || string_arrays.count(field) || bundles.count(field);
  }
};

struct HookDefinition {
  std::string name;  // "order-sign"
  std::vector<ContextField> context;
  // Checks across fields once each has the right shape (order-select:
  // every selection names a draft). Returns the error, or nullopt.
  std::function<std::optional<Error>(const HookContext&)> validate;
  // The fact categories calls of this hook use: the ones its rules can read.
  // Incomplete ones are reported in the call record; others are not.
  std::vector<fhir::FactCategory> categories;
  // Adds the facts the hook's own context carries (after prefetch/FHIR data
  // were normalised) and sets their categories' states.
  std::function<void(const HookContext&, fhir::EpochSeconds now, const fhir::NormalizeOptions&,
                     fhir::PatientFacts&)>
      build_facts;
};

// The description of `hook`, or nullptr for a hook nobody described (such a
// request is parsed with the common fields only; no service serves it).
const HookDefinition* FindHook(std::string_view hook);

// Adds or replaces a hook description. Call before serving (start-up, tests):
// the registry is read without locks afterwards.
void RegisterHook(HookDefinition definition);

// Names of the described hooks, sorted.
std::vector<std::string> HookNames();

}  // namespace cds::service
