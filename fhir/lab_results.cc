#include "fhir/lab_results.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>

#include "common/ascii.h"
#include "common/same_bytes.h"
#include "common/text_hash.h"
#include "fhir/number_format.h"

namespace cds::fhir {
namespace {

using internal::FormatShortest;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// UCUM units are ASCII. They are mostly written as the rule file writes them:
// the same bytes are checked first, a byte at a time only when they differ.
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (SameBytes(a, b)) return true;
  return std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return LowerAscii(x) == LowerAscii(y); });
}

// The accepted codes of a spec, found by code in one probe. Every
// observation is looked up in the codes of every analyte a rule reads, and
// comparing it with each code in turn was a tenth of rules::Evaluate on 1,000
// resources (issue #18). Built per selection: a spec has a few codes, a
// patient hundreds of observations.
class AcceptedCodes {
 public:
  explicit AcceptedCodes(const std::vector<Coding>& codes) : codes_(codes) {
    std::size_t capacity = 8;
    while (capacity < 2 * codes.size()) capacity *= 2;
    mask_ = capacity - 1;
    slots_.assign(capacity, kEmpty);
    for (std::size_t i = 0; i < codes.size(); ++i) {
      std::size_t pos = MixText(0, codes[i].code) & mask_;
      while (slots_[pos] != kEmpty) pos = (pos + 1) & mask_;
      slots_[pos] = i;
    }
  }

  // Index into the codes of the first (lowest-index) accepted code that the
  // concept `code` carries; each of its codings is probed once.
  std::optional<std::size_t> Match(const CodeableConcept& code) const {
    std::optional<std::size_t> first;
    for (const Coding& c : code.codings) {
      for (std::size_t pos = MixText(0, c.code) & mask_; slots_[pos] != kEmpty;
           pos = (pos + 1) & mask_) {
        const std::size_t i = slots_[pos];
        if ((!first || i < *first) && SameBytes(c.code, codes_[i].code) &&
            SameBytes(c.system, codes_[i].system)) {
          first = i;
        }
      }
    }
    return first;
  }

 private:
  static constexpr std::size_t kEmpty = static_cast<std::size_t>(-1);
  const std::vector<Coding>& codes_;
  std::vector<std::size_t> slots_;  // index into codes_, or kEmpty
  std::size_t mask_ = 0;
};

// §5.1: the unit is never guessed from the magnitude; unknown means unusable.
// `unit` is the reported unit, trimmed once by the caller (every observation
// is compared with each of a spec's units and scales).
const UnitConversion* FindUnit(const AnalyteSpec& spec, std::string_view unit) {
  for (const UnitConversion& u : spec.units) {
    if (EqualsIgnoreCase(Trim(u.unit), unit)) return &u;
  }
  return nullptr;
}

bool Contains(const std::vector<std::string>& set, const std::string& value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

std::string FormatLimit(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The band a value falls in on a scale (bands ascending).
std::size_t BandOf(const GradingScale& scale, double v) {
  for (std::size_t i = 0; i < scale.bands.size(); ++i) {
    const GradeBand& b = scale.bands[i];
    if (!b.upper || v < *b.upper || (b.upper_inclusive && v == *b.upper)) return i;
  }
  return scale.bands.size() - 1;
}

// R3: a censored bound grades as the band of the values just beyond it.
std::size_t CensoredBand(const GradingScale& scale, double v, const std::string& comparator) {
  std::size_t band = BandOf(scale, v);
  if (comparator == "<" && band > 0) {
    const GradeBand& previous = scale.bands[band - 1];
    if (previous.upper && *previous.upper == v && !previous.upper_inclusive) --band;
  } else if (comparator == ">" && band + 1 < scale.bands.size()) {
    const GradeBand& own = scale.bands[band];
    if (own.upper && *own.upper == v && own.upper_inclusive) ++band;
  }
  return band;
}

// Where a result falls on the scale of its reported unit (R1, R3).
struct GradePlace {
  const GradingScale* scale = nullptr;
  std::size_t band = 0;
  double factor = 1.0;  // reported unit -> the scale's unit
};

// Grades `obs` on the scale of the reported unit (R1, R3; `unit` is
// obs.unit trimmed); "" on success.
std::string Grade(const Grading& grading, const ObservationFact& obs, std::string_view unit,
                  GradePlace& place) {
  const GradingScale* scale = nullptr;
  double factor = 1.0;
  for (const GradingScale& s : grading.scales) {
    if (EqualsIgnoreCase(Trim(s.unit), unit)) scale = &s;
  }
  if (scale == nullptr) {
    for (const GradeAlias& a : grading.aliases) {
      if (!EqualsIgnoreCase(Trim(a.unit), unit)) continue;
      for (const GradingScale& s : grading.scales) {
        if (s.unit == a.scale_unit) scale = &s;
      }
      factor = a.factor;
    }
  }
  if (scale == nullptr || scale->bands.empty())
    return "no grading scale for unit '" + obs.unit + "'";
  const double v = *obs.value * factor;
  const std::string& cmp = obs.comparator;
  std::size_t band = 0;
  if (cmp.empty()) {
    band = BandOf(*scale, v);
  } else if (cmp == "<" || cmp == "<=" || cmp == ">" || cmp == ">=") {
    band = CensoredBand(*scale, v, cmp);
    const bool below = cmp[0] == '<';
    if (!Contains(below ? grading.censored_below : grading.censored_above,
                  scale->bands[band].name)) {
      return "censored '" + cmp +
             (obs.value_text.empty() ? FormatShortest(*obs.value) : obs.value_text) + " " +
             obs.unit + "' cannot be graded (" + scale->bands[band].name + ")";
    }
  } else {
    return "comparator '" + cmp + "'";
  }
  place = {scale, band, factor};
  return {};
}

// The band's name and, outside the reference band, the limit crossed in the
// reported unit (a "mg/L" result shows mg/L limits).
void DescribeGrade(const Grading& grading, const ObservationFact& obs, const GradePlace& place,
                   LabValue& out) {
  const GradingScale& scale = *place.scale;
  const std::size_t band = place.band;
  out.band = scale.bands[band].name;
  out.grade_unit = scale.unit;
  out.grade_value = *obs.value * place.factor;
  std::size_t reference = scale.bands.size();
  for (std::size_t i = 0; i < scale.bands.size(); ++i) {
    if (scale.bands[i].name == grading.reference_band) reference = i;
  }
  if (reference < scale.bands.size() && band != reference) {
    const GradeBand& limit = band < reference ? scale.bands[band] : scale.bands[band - 1];
    if (limit.upper) {
      const char* word = band < reference ? (limit.upper_inclusive ? "at or below " : "below ")
                                          : (limit.upper_inclusive ? "above " : "at or above ");
      out.crossed = word + FormatLimit(*limit.upper / place.factor) + " " + obs.unit;
    }
  }
}

// Why an observation of the analyte cannot be graded, or "" if it can: then
// `canonical` holds its value in the analyte's unit and `place` its grade.
// Nothing is formatted for a usable result (issue #18: the text of every
// result was most of the engine's time; only the ones shown need it).
std::string Check(const AnalyteSpec& spec, const ObservationFact& obs, double& canonical,
                  GradePlace& place) {
  if (!obs.excluded_reason.empty()) return obs.excluded_reason;
  if (!Contains(spec.usable_statuses, obs.status)) {
    return "status " + (obs.status.empty() ? std::string("missing") : obs.status);
  }
  if (!obs.value && !obs.value_string.empty()) {
    return "valueString not graded: \"" + obs.value_string + "\"";
  }
  if (!obs.value) return "no numeric value";
  if (!obs.comparator.empty() && !spec.comparator_allowed && !spec.grading) {
    return "comparator '" + obs.comparator + "'";
  }
  const std::string_view reported_unit = Trim(obs.unit);
  if (reported_unit.empty()) return "no unit";
  const UnitConversion* unit = FindUnit(spec, reported_unit);
  if (unit == nullptr) return "unknown unit '" + obs.unit + "'";
  if (!obs.effective) return "no date";
  canonical = *obs.value * unit->factor;
  if ((spec.plausible_low && canonical < *spec.plausible_low) ||
      (spec.plausible_high && canonical > *spec.plausible_high) || !std::isfinite(canonical)) {
    return "implausible " + internal::FormatSignificant(canonical, 4) + " " + spec.canonical_unit;
  }
  if (spec.grading) return Grade(*spec.grading, obs, reported_unit, place);
  return {};
}

struct Candidate {
  LabPick pick;
  std::size_t code_index = 0;
};

bool IsCorrection(std::string_view status) { return status == "corrected" || status == "amended"; }

// True if a should be kept over b when both report the same code and time
// (§5.1: corrected/amended over final, otherwise the later issued).
bool Preferred(const ObservationFact& a, const ObservationFact& b) {
  if (IsCorrection(a.status) != IsCorrection(b.status)) return IsCorrection(a.status);
  if (a.issued.has_value() != b.issued.has_value()) return a.issued.has_value();
  return a.issued && a.issued->seconds > b.issued->seconds;
}

bool SameValue(const LabPick& a, const LabPick& b) {
  const double scale = std::max({1.0, std::fabs(a.value), std::fabs(b.value)});
  return a.observation->comparator == b.observation->comparator &&
         std::fabs(a.value - b.value) <= 1e-9 * scale;
}

// The candidates grouped by code index (a counting sort: stable, O(n)); code
// k's are by_code[code_start[k], code_start[k + 1]).
std::vector<Candidate> GroupByCode(const std::vector<Candidate>& candidates, std::size_t code_count,
                                   std::vector<std::size_t>& code_start) {
  code_start.assign(code_count + 1, 0);
  for (const Candidate& c : candidates) ++code_start[c.code_index + 1];
  for (std::size_t k = 1; k < code_start.size(); ++k) code_start[k] += code_start[k - 1];
  std::vector<Candidate> by_code(candidates.size());
  std::vector<std::size_t> next(code_start.begin(), code_start.end() - 1);
  for (const Candidate& c : candidates) by_code[next[c.code_index]++] = c;
  return by_code;
}

// A code's kept results, [first, last) of a list in (code, time) order.
using Run = std::pair<std::size_t, std::size_t>;

// Latest first; results of the same time in the order of their codes. Each
// run is in time order, so this merges the runs from their ends.
std::vector<LabPick> LatestFirst(const std::vector<LabPick>& kept, std::vector<Run> runs) {
  std::vector<LabPick> out;
  out.reserve(kept.size());
  while (out.size() < kept.size()) {
    std::size_t latest = runs.size();
    for (std::size_t r = 0; r < runs.size(); ++r) {
      if (runs[r].first == runs[r].second) continue;
      if (latest == runs.size() ||
          kept[runs[r].second - 1].effective > kept[runs[latest].second - 1].effective) {
        latest = r;
      }
    }
    out.push_back(kept[--runs[latest].second]);
  }
  return out;
}

}  // namespace

LabSelection SelectLabs(const AnalyteSpec& spec, const std::vector<ObservationFact>& observations,
                        bool list_exclusions) {
  LabSelection selection;
  std::vector<Candidate> candidates;
  candidates.reserve(observations.size());
  const AcceptedCodes accepted(spec.codes);
  for (const ObservationFact& obs : observations) {
    const auto code_index = accepted.Match(obs.code);
    if (!code_index) {
      if (!list_exclusions) continue;
      // R5: a related code that is never graded is named in explain mode.
      for (const Coding& c : obs.code.codings) {
        const bool listed =
            std::any_of(spec.not_graded_codes.begin(), spec.not_graded_codes.end(),
                        [&](const Coding& n) { return n.code == c.code && n.system == c.system; });
        if (listed) {
          selection.excluded.push_back(
              {obs.ref,
               spec.not_graded_reason + " (" + spec.not_graded_system_name + " " + c.code + ")"});
          break;
        }
      }
      continue;
    }
    double canonical = 0;
    GradePlace place;
    if (std::string reason = Check(spec, obs, canonical, place); !reason.empty()) {
      if (list_exclusions) selection.excluded.push_back({obs.ref, std::move(reason)});
      continue;
    }
    candidates.push_back({{&obs, canonical, obs.effective->seconds}, *code_index});
  }

  // Results of the same code at the same time: keep one, say why for the rest.
  // Grouping by code (counting sort) and then ordering each code's results by
  // time makes each such group adjacent; both keep the input's order where
  // they tie. A laboratory's results mostly arrive in time order already, and
  // then no code's results need sorting (issue #18: sorting twice was a fifth
  // of a selection).
  const auto earlier = [](const Candidate& x, const Candidate& y) {
    return x.pick.effective < y.pick.effective;
  };
  std::vector<std::size_t> code_start;
  std::vector<Candidate> by_code = GroupByCode(candidates, spec.codes.size(), code_start);
  std::vector<LabPick> kept;  // one per group, in (code, time) order
  std::vector<Run> runs;      // per code with results, its part of `kept`
  kept.reserve(by_code.size());
  for (std::size_t k = 0; k + 1 < code_start.size(); ++k) {
    const auto first = by_code.begin() + static_cast<std::ptrdiff_t>(code_start[k]);
    const auto last = by_code.begin() + static_cast<std::ptrdiff_t>(code_start[k + 1]);
    if (first == last) continue;
    if (!std::is_sorted(first, last, earlier)) std::stable_sort(first, last, earlier);
    const std::size_t run_first = kept.size();
    for (std::size_t start = code_start[k]; start < code_start[k + 1];) {
      std::size_t end = start + 1;
      while (end < code_start[k + 1] &&
             by_code[end].pick.effective == by_code[start].pick.effective) {
        ++end;
      }
      std::size_t best = start;
      for (std::size_t i = start + 1; i < end; ++i) {
        if (Preferred(*by_code[i].pick.observation, *by_code[best].pick.observation)) best = i;
      }
      for (std::size_t i = start; i < end && list_exclusions; ++i) {
        if (i == best) continue;
        const LabPick& winner = by_code[best].pick;
        const LabPick& lost = by_code[i].pick;
        selection.excluded.push_back(
            {lost.observation->ref, (SameValue(winner, lost) ? "duplicate of " : "superseded by ") +
                                        winner.observation->ref});
      }
      kept.push_back(by_code[best].pick);
      start = end;
    }
    runs.emplace_back(run_first, kept.size());
  }
  selection.usable = LatestFirst(kept, std::move(runs));
  return selection;
}

LabValue DescribeLab(const AnalyteSpec& spec, const LabPick& pick) {
  const ObservationFact& obs = *pick.observation;
  LabValue out;
  double canonical = 0;
  GradePlace place;
  if (!Check(spec, obs, canonical, place).empty()) return out;  // not a pick of this spec
  if (place.scale != nullptr) DescribeGrade(*spec.grading, obs, place, out);
  const std::string text =
      obs.value_text.empty() ? internal::FormatShortest(*obs.value) : obs.value_text;
  out.ref = obs.ref;
  out.value = canonical;
  out.comparator = obs.comparator;
  out.reported = obs.comparator + text + " " + obs.unit;
  out.status = obs.status;
  out.effective = *obs.effective;
  out.component_of = obs.component_of;
  return out;
}

LabSeries SelectLabResults(const AnalyteSpec& spec,
                           const std::vector<ObservationFact>& observations) {
  LabSelection selection = SelectLabs(spec, observations);
  LabSeries series;
  series.values.reserve(selection.usable.size());
  for (const LabPick& pick : selection.usable) series.values.push_back(DescribeLab(spec, pick));
  series.excluded = std::move(selection.excluded);
  return series;
}

}  // namespace cds::fhir
