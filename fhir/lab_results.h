#pragma once

// Picks the usable results of one analyte (serum magnesium, eGFR, potassium …)
// out of a patient's observations, per clinical-reference §5.1: usable status,
// numeric valueQuantity, a known unit converted to the analyte's canonical unit
// (never guessed from magnitude), a date, plausibility, duplicates counted once,
// amended/corrected preferred. The analyte definition comes from the rule file.

#include <optional>
#include <string>
#include <vector>

#include "fhir/patient_facts.h"

namespace cds::fhir {

struct UnitConversion {
  std::string unit;     // compared case-insensitively after trimming ("mg/dL", "meq/L")
  double factor = 1.0;  // canonical = reported * factor
};

// Grading in the reported unit (clinical-reference-1.1 R1): one ascending band
// table per unit, so "1.70 mg/dL" is compared with 1.70, never with a
// converted number. Band i holds values up to its upper limit; the last band has none.
struct GradeBand {
  std::string name;              // "severe-low", "low", "normal", ...
  std::optional<double> upper;   // in the scale's unit; nullopt for the last band
  bool upper_inclusive = false;  // "atOrBelow" (true) or "below" (false)
};
struct GradingScale {
  std::string unit;  // "mg/dL"
  std::vector<GradeBand> bands;
};
// A unit graded on another unit's scale after a factor ("mg/L" x0.1 -> "mg/dL").
struct GradeAlias {
  std::string unit;
  std::string scale_unit;
  double factor = 1.0;
};
struct Grading {
  std::vector<GradingScale> scales;
  std::vector<GradeAlias> aliases;
  std::string reference_band;  // the usual interval: bands below it are "low", above "high"
  // R3: the bands a censored result may grade into ("<"/"<=" and ">"/">=").
  // A censored result that grades elsewhere is unusable.
  std::vector<std::string> censored_below;
  std::vector<std::string> censored_above;
};

struct AnalyteSpec {
  std::string id;                       // "serum-magnesium"
  std::vector<Coding> codes;            // system + code of every accepted code
  std::string canonical_unit;           // "mmol/L"
  std::vector<UnitConversion> units;    // must include the canonical unit (factor 1)
  std::optional<double> plausible_low;  // canonical units; outside -> unusable
  std::optional<double> plausible_high;
  bool comparator_allowed = false;  // false: "<0.4" is unusable for grading
  std::vector<std::string> usable_statuses{"final", "amended", "corrected", "appended"};
  std::optional<Grading> grading;  // with grading, comparators follow Grading's rules
  // Codes of the same substance that are never graded (RBC, urine, whole blood):
  // reported in explain as `not_graded_reason (LOINC code)`.
  std::vector<Coding> not_graded_codes;
  std::string not_graded_reason;  // "not a serum/plasma magnesium code"
  std::string not_graded_system_name = "LOINC";
};

struct LabValue {
  std::string ref;         // "Observation/abc"
  double value = 0;        // in canonical units
  std::string comparator;  // "" or "<", "<=", ">", ">=" (only if comparator_allowed)
  std::string reported;    // "1.1 mg/dL" (value and unit as reported)
  std::string status;
  FhirInstant effective;
  // With grading: the band, the unit whose scale graded it, the value on that
  // scale, and the limit crossed in the reported unit ("below 1.70 mg/dL").
  std::string band;
  std::string grade_unit;
  double grade_value = 0;
  std::string crossed;
  std::string component_of;  // "Observation/{id}" for a component result
};

struct LabExclusion {
  std::string ref;
  std::string reason;  // "status preliminary", "no unit", "unknown unit 'mg'", ...
};

struct LabSeries {
  std::vector<LabValue> values;        // usable, de-duplicated, latest effective first
  std::vector<LabExclusion> excluded;  // observations of this analyte that were not usable
};

// A usable result as the selection keeps it, before any of its text is made:
// enough to order, window and compare results. Points into the observations
// it was selected from, which must outlive it.
struct LabPick {
  const ObservationFact* observation = nullptr;
  double value = 0;            // in canonical units
  EpochSeconds effective = 0;  // observation->effective
};

struct LabSelection {
  std::vector<LabPick> usable;         // de-duplicated, latest effective first
  std::vector<LabExclusion> excluded;  // observations of this analyte that were not usable
};

// The selection of §5.1 without formatting a value: the engine describes only
// the results it shows (issue #18). Observations whose code is not one of
// spec.codes are ignored silently. Without `list_exclusions`, `excluded` stays
// empty: only explain mode shows why a result was not used, and naming the
// never-graded related codes meant comparing every other observation's codes
// with them (issue #18: a quarter of the lab selection).
LabSelection SelectLabs(const AnalyteSpec& spec, const std::vector<ObservationFact>& observations,
                        bool list_exclusions = true);

// The whole value of a result SelectLabs(spec, ...) picked: its text, grade
// and the limit it crossed.
LabValue DescribeLab(const AnalyteSpec& spec, const LabPick& pick);

// SelectLabs with every usable result described.
LabSeries SelectLabResults(const AnalyteSpec& spec,
                           const std::vector<ObservationFact>& observations);

}  // namespace cds::fhir
