#include "fhir/lab_results.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "fhir/number_format.h"

namespace cds::fhir {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// ASCII case folding: UCUM codes are ASCII, and the locale is not wanted here.
char FoldAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return FoldAscii(x) == FoldAscii(y);
         });
}

// Index into spec.codes of the first accepted code the observation carries.
std::optional<std::size_t> MatchingCode(const AnalyteSpec& spec, const ObservationFact& obs) {
  for (std::size_t i = 0; i < spec.codes.size(); ++i) {
    for (const Coding& c : obs.code.codings) {
      if (c.code == spec.codes[i].code && c.system == spec.codes[i].system) return i;
    }
  }
  return std::nullopt;
}

// §5.1: the unit is never guessed from the magnitude; unknown means unusable.
const UnitConversion* FindUnit(const AnalyteSpec& spec, std::string_view unit) {
  for (const UnitConversion& u : spec.units) {
    if (EqualsIgnoreCase(Trim(u.unit), Trim(unit))) return &u;
  }
  return nullptr;
}

bool Contains(const std::vector<std::string>& set, const std::string& value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

// Why an observation of the analyte cannot be graded; "" if it can, in which
// case `out` holds its value.
std::string Check(const AnalyteSpec& spec, const ObservationFact& obs, LabValue& out) {
  if (!obs.excluded_reason.empty()) return obs.excluded_reason;
  if (!Contains(spec.usable_statuses, obs.status)) {
    return "status " + (obs.status.empty() ? std::string("missing") : obs.status);
  }
  if (!obs.value) return "no numeric value";
  if (!obs.comparator.empty() && !spec.comparator_allowed) {
    return "comparator '" + obs.comparator + "'";
  }
  if (Trim(obs.unit).empty()) return "no unit";
  const UnitConversion* unit = FindUnit(spec, obs.unit);
  if (unit == nullptr) return "unknown unit '" + obs.unit + "'";
  if (!obs.effective) return "no date";
  const double canonical = *obs.value * unit->factor;
  if ((spec.plausible_low && canonical < *spec.plausible_low) ||
      (spec.plausible_high && canonical > *spec.plausible_high) || !std::isfinite(canonical)) {
    return "implausible " + internal::FormatSignificant(canonical, 4) + " " + spec.canonical_unit;
  }
  const std::string text =
      obs.value_text.empty() ? internal::FormatShortest(*obs.value) : obs.value_text;
  out.ref = obs.ref;
  out.value = canonical;
  out.comparator = obs.comparator;
  out.reported = obs.comparator + text + " " + obs.unit;
  out.status = obs.status;
  out.effective = *obs.effective;
  return {};
}

struct Candidate {
  LabValue value;
  std::size_t code_index = 0;
  EpochSeconds issued = 0;
  bool has_issued = false;
};

bool IsCorrection(const std::string& status) {
  return status == "corrected" || status == "amended";
}

// True if a should be kept over b when both report the same code and time
// (§5.1: corrected/amended over final, otherwise the later issued).
bool Preferred(const Candidate& a, const Candidate& b) {
  if (IsCorrection(a.value.status) != IsCorrection(b.value.status)) {
    return IsCorrection(a.value.status);
  }
  if (a.has_issued != b.has_issued) return a.has_issued;
  return a.has_issued && a.issued > b.issued;
}

bool SameValue(const LabValue& a, const LabValue& b) {
  const double scale = std::max({1.0, std::fabs(a.value), std::fabs(b.value)});
  return a.comparator == b.comparator && std::fabs(a.value - b.value) <= 1e-9 * scale;
}

}  // namespace

LabSeries SelectLabResults(const AnalyteSpec& spec,
                           const std::vector<ObservationFact>& observations) {
  LabSeries series;
  std::vector<Candidate> candidates;
  for (const ObservationFact& obs : observations) {
    const auto code_index = MatchingCode(spec, obs);
    if (!code_index) continue;
    Candidate c;
    c.code_index = *code_index;
    if (std::string reason = Check(spec, obs, c.value); !reason.empty()) {
      series.excluded.push_back({obs.ref, std::move(reason)});
      continue;
    }
    c.has_issued = obs.issued.has_value();
    c.issued = obs.issued ? obs.issued->seconds : 0;
    candidates.push_back(std::move(c));
  }

  // Results of the same code at the same time: keep one, say why for the rest.
  // Sorting by (code, time) makes each such group adjacent: O(n log n).
  std::vector<std::size_t> order(candidates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Candidate& x = candidates[a];
    const Candidate& y = candidates[b];
    if (x.code_index != y.code_index) return x.code_index < y.code_index;
    return x.value.effective.seconds < y.value.effective.seconds;
  });
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start + 1;
    const Candidate& first = candidates[order[start]];
    while (end < order.size() && candidates[order[end]].code_index == first.code_index &&
           candidates[order[end]].value.effective.seconds == first.value.effective.seconds) {
      ++end;
    }
    std::size_t best = order[start];
    for (std::size_t k = start; k < end; ++k) {
      if (Preferred(candidates[order[k]], candidates[best])) best = order[k];
    }
    for (std::size_t k = start; k < end; ++k) {
      if (order[k] == best) continue;
      const LabValue& kept = candidates[best].value;
      const LabValue& lost = candidates[order[k]].value;
      series.excluded.push_back(
          {lost.ref, (SameValue(kept, lost) ? "duplicate of " : "superseded by ") + kept.ref});
    }
    series.values.push_back(std::move(candidates[best].value));
    start = end;
  }
  // Latest first; sort positions rather than moving the values around.
  std::vector<std::size_t> by_time(series.values.size());
  for (std::size_t i = 0; i < by_time.size(); ++i) by_time[i] = i;
  std::stable_sort(by_time.begin(), by_time.end(), [&](std::size_t a, std::size_t b) {
    return series.values[a].effective.seconds > series.values[b].effective.seconds;
  });
  std::vector<LabValue> sorted;
  sorted.reserve(by_time.size());
  for (std::size_t i : by_time) sorted.push_back(std::move(series.values[i]));
  series.values = std::move(sorted);
  return series;
}

}  // namespace cds::fhir
