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

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Index into spec.codes of the first accepted code the observation carries.
std::optional<std::size_t> MatchingCode(const AnalyteSpec& spec, const ObservationFact& obs) {
  for (std::size_t i = 0; i < spec.codes.size(); ++i) {
    for (const Coding& c : obs.code.codings) {
      if (c.system == spec.codes[i].system && c.code == spec.codes[i].code) return i;
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
  std::vector<bool> decided(candidates.size(), false);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (decided[i]) continue;
    std::vector<std::size_t> group{i};
    for (std::size_t j = i + 1; j < candidates.size(); ++j) {
      if (!decided[j] && candidates[j].code_index == candidates[i].code_index &&
          candidates[j].value.effective.seconds == candidates[i].value.effective.seconds) {
        group.push_back(j);
      }
    }
    std::size_t best = i;
    for (std::size_t k : group) {
      if (Preferred(candidates[k], candidates[best])) best = k;
    }
    for (std::size_t k : group) {
      decided[k] = true;
      if (k == best) continue;
      const LabValue& kept = candidates[best].value;
      const LabValue& lost = candidates[k].value;
      series.excluded.push_back(
          {lost.ref, (SameValue(kept, lost) ? "duplicate of " : "superseded by ") + kept.ref});
    }
    series.values.push_back(std::move(candidates[best].value));
  }
  std::stable_sort(series.values.begin(), series.values.end(),
                   [](const LabValue& a, const LabValue& b) {
                     return a.effective.seconds > b.effective.seconds;
                   });
  return series;
}

}  // namespace cds::fhir
