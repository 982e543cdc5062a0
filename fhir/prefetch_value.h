#pragma once

// How a prefetched value can be used (CDS Hooks 2.0 §Prefetch, checklist
// P-11…P-18). Internal to fhir/.

#include <string>

#include "common/json_document.h"
#include "fhir/prefetch_spec.h"

namespace cds::fhir {

enum class PrefetchUse {
  kUsable,    // a resource of the expected type, or a Bundle for a search
  kNoData,    // null, or an empty searchset Bundle: obtained, nothing there
  kPaged,     // a Bundle with a `next` link: usable, but more pages exist
  kNotGiven,  // absent, an OperationOutcome, a Bundle holding one, wrong type
};

struct PrefetchVerdict {
  PrefetchUse use = PrefetchUse::kNotGiven;
  std::string reason;    // for kNotGiven: why (no PHI)
  std::string next_url;  // for kPaged
};

PrefetchVerdict ClassifyPrefetch(const PrefetchSpec& spec, JsonRef value);

// True if the query is a search ("Type?params"), false for a read ("Type/id").
bool IsSearchQuery(const std::string& query);

}  // namespace cds::fhir
