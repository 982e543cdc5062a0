#pragma once

// Canonical JSON for golden tests: object members sorted by name, compact,
// numbers as RapidJSON writes them. Two texts are equal as JSON values iff
// their canonical forms are equal (array order matters).

#include <optional>
#include <string>
#include <string_view>

namespace cds::testing {

// nullopt if `text` is not valid JSON.
std::optional<std::string> CanonicalJson(std::string_view text);

// The same, indented for diffs in failure messages.
std::optional<std::string> PrettyCanonicalJson(std::string_view text);

}  // namespace cds::testing
