#include "fhir/fhir_time.h"

#include <array>
#include <cstdio>

namespace cds::fhir {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian
// calendar in plain integer arithmetic, so results never depend on the
// process time zone or on timegm being available.
std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (m + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct CivilDate {
  std::int64_t year;
  int month;
  int day;
};

CivilDate CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`; fails on anything else.
bool ReadDigits(std::string_view text, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(text[i])) return false;
    v = v * 10 + (text[i] - '0');
  }
  out = v;
  return true;
}

// What a FHIR date/dateTime text means, field by field (before conversion).
struct ParsedDateTime {
  int year = 0, month = 1, day = 1;
  int precision = 0;  // 1 year, 2 month, 3 day, 4 time
  int hour = 0, minute = 0, second = 0;
  int offset_seconds = 0;
  std::size_t date_length = 0;
};

// FHIR R4 dateTime grammar (http://hl7.org/fhir/R4/datatypes.html#dateTime):
// YYYY(-MM(-DD(Thh:mm:ss(.f+)?(Z|(+|-)hh:mm))?)?)? with year 0001-9999.
std::optional<ParsedDateTime> Parse(std::string_view text) {
  ParsedDateTime p;
  if (!ReadDigits(text, 0, 4, p.year) || p.year == 0) return std::nullopt;
  p.precision = 1;
  p.date_length = 4;
  if (text.size() == 4) return p;
  if (text[4] != '-' || !ReadDigits(text, 5, 2, p.month) || p.month < 1 || p.month > 12) {
    return std::nullopt;
  }
  p.precision = 2;
  p.date_length = 7;
  if (text.size() == 7) return p;
  if (text[7] != '-' || !ReadDigits(text, 8, 2, p.day) || p.day < 1 ||
      p.day > DaysInMonth(p.year, p.month)) {
    return std::nullopt;
  }
  p.precision = 3;
  p.date_length = 10;
  if (text.size() == 10) return p;

  if (text[10] != 'T' || !ReadDigits(text, 11, 2, p.hour) || p.hour > 23 || text.size() < 19 ||
      text[13] != ':' || !ReadDigits(text, 14, 2, p.minute) || p.minute > 59 || text[16] != ':' ||
      !ReadDigits(text, 17, 2, p.second) || p.second > 60) {
    return std::nullopt;
  }
  p.precision = 4;
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    // Any number of fraction digits; the fraction is dropped (whole seconds).
    const std::size_t first = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    if (pos == first) return std::nullopt;
  }
  if (pos >= text.size()) return std::nullopt;  // a time needs a zone
  if (text[pos] == 'Z') {
    return pos + 1 == text.size() ? std::optional(p) : std::nullopt;
  }
  if (text[pos] != '+' && text[pos] != '-') return std::nullopt;
  int oh = 0;
  int om = 0;
  if (pos + 6 != text.size() || !ReadDigits(text, pos + 1, 2, oh) || text[pos + 3] != ':' ||
      !ReadDigits(text, pos + 4, 2, om) || om > 59 || oh > 14 || (oh == 14 && om != 0)) {
    return std::nullopt;
  }
  p.offset_seconds = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
  return p;
}

EpochSeconds ToEpoch(const ParsedDateTime& p) {
  return DaysFromCivil(p.year, p.month, p.day) * kSecondsPerDay + p.hour * 3600 + p.minute * 60 +
         p.second - p.offset_seconds;
}

}  // namespace

std::optional<FhirInstant> ParseFhirDateTime(std::string_view text) {
  const auto parsed = Parse(text);
  if (!parsed) return std::nullopt;
  return FhirInstant{ToEpoch(*parsed), std::string(text.substr(0, parsed->date_length))};
}

std::optional<EpochSeconds> ParseFhirDateTimeLatest(std::string_view text) {
  const auto parsed = Parse(text);
  if (!parsed) return std::nullopt;
  ParsedDateTime next = *parsed;
  switch (parsed->precision) {
    case 1:
      next.year += 1;
      break;
    case 2:
      next.month = parsed->month == 12 ? 1 : parsed->month + 1;
      next.year = parsed->month == 12 ? parsed->year + 1 : parsed->year;
      break;
    case 3:
      return ToEpoch(*parsed) + kSecondsPerDay - 1;
    default:
      return ToEpoch(*parsed);
  }
  return ToEpoch(next) - 1;
}

std::string FormatIsoUtc(EpochSeconds t) {
  std::int64_t days = t / kSecondsPerDay;  // floor division without overflow
  if (t % kSecondsPerDay < 0) --days;
  const std::int64_t secs = t - days * kSecondsPerDay;
  const CivilDate d = CivilFromDays(days);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02dZ", static_cast<long long>(d.year),
                d.month, d.day, static_cast<int>(secs / 3600), static_cast<int>(secs % 3600 / 60),
                static_cast<int>(secs % 60));
  return buf;
}

std::string FormatIsoDate(EpochSeconds t) {
  std::string s = FormatIsoUtc(t);
  return s.substr(0, s.find('T'));
}

}  // namespace cds::fhir
