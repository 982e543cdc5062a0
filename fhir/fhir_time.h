#pragma once

// Time as the rules see it: whole seconds since the Unix epoch, UTC. FHIR dates
// arrive with varying precision (year, year-month, date, dateTime with offset);
// parsing keeps the earliest instant the text can mean plus the date as written,
// so cards can show the date the clinician would recognise.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cds::fhir {

using EpochSeconds = std::int64_t;
inline constexpr EpochSeconds kSecondsPerDay = 86400;

struct FhirInstant {
  EpochSeconds seconds = 0;  // earliest UTC instant the text denotes
  std::string date_text;     // "YYYY", "YYYY-MM" or "YYYY-MM-DD" as written (local date)
};

// Parses FHIR date / dateTime / instant ("2024", "2024-03", "2024-03-05",
// "2024-03-05T10:00:00Z", "2024-03-05T10:00:00.123+02:00"). Returns nullopt for
// anything else, including impossible dates (2024-02-30) and a time without a zone.
std::optional<FhirInstant> ParseFhirDateTime(std::string_view text);

// The last whole second the same text can mean: "2024-03" -> 2024-03-31T23:59:59Z,
// "2024-03-05" -> 2024-03-05T23:59:59Z, a dateTime -> itself. Used for period ends
// (a course that "ends 2024-03-05" still runs on that day). nullopt as above.
std::optional<EpochSeconds> ParseFhirDateTimeLatest(std::string_view text);

// "2026-11-22T15:04:05Z" for an epoch second.
std::string FormatIsoUtc(EpochSeconds t);
// "2026-11-22" (UTC date) for an epoch second.
std::string FormatIsoDate(EpochSeconds t);

}  // namespace cds::fhir
