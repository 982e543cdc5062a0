#pragma once

// Number -> text for display and explain messages, locale-independent.
// Internal to cds_fhir.

#include <string>

namespace cds::fhir::internal {

// Shortest text that reads back as the same double: 1.1 -> "1.1", 2.0 -> "2".
std::string FormatShortest(double value);

// At most `digits` significant digits, trailing zeros dropped: 12.3456 -> "12.35" (4).
std::string FormatSignificant(double value, int digits);

}  // namespace cds::fhir::internal
