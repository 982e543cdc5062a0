#pragma once

// Prefetch template rendering (CDS Hooks 2.0 §Prefetch tokens; checklist P-2,
// P-4, P-6): "{{context.patientId}}" and the user tokens are replaced by their
// values, percent-encoded. Static query parts are written already encoded in
// the rule file (P-6, e.g. "http://loinc.org%7C19123-9") and are copied as they
// are, so they are never encoded twice.
//
// Pure functions; thread-safe.

#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cds::fhir {

// Percent-encodes every byte except RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~), so a value can never add a parameter ('&'), an OR
// (','), a system separator ('|'), a fragment or a path segment.
std::string PercentEncode(std::string_view value);

// Renders `query` with `tokens` ("context.patientId" -> "123"). A token value
// of the form "Type/id" (context.userId, P-4) keeps its one '/' so that it
// still works as a read path; each side is encoded. Fails with
// kPrefetchUnavailable naming the token (never its value) when a token has no
// value in `tokens`, a value is empty or made only of dots (a path-traversal
// segment such as ".."), or a "{{" is not closed.
Result<std::string> RenderPrefetchTemplate(std::string_view query,
                                           const std::map<std::string, std::string>& tokens);
// The unrendered template is what logs show: its tokens stand in for the
// PHI-bearing values.

}  // namespace cds::fhir
