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
  std::string unit;      // compared case-insensitively after trimming ("mg/dL", "meq/L")
  double factor = 1.0;   // canonical = reported * factor
};

struct AnalyteSpec {
  std::string id;                         // "serum-magnesium"
  std::vector<Coding> codes;              // system + code of every accepted code
  std::string canonical_unit;             // "mmol/L"
  std::vector<UnitConversion> units;      // must include the canonical unit (factor 1)
  std::optional<double> plausible_low;    // canonical units; outside -> unusable
  std::optional<double> plausible_high;
  bool comparator_allowed = false;        // false: "<0.4" is unusable for grading
  std::vector<std::string> usable_statuses{"final", "amended", "corrected", "appended"};
};

struct LabValue {
  std::string ref;            // "Observation/abc"
  double value = 0;           // in canonical units
  std::string comparator;     // "" or "<", "<=", ">", ">=" (only if comparator_allowed)
  std::string reported;       // "1.1 mg/dL" (value and unit as reported)
  std::string status;
  FhirInstant effective;
};

struct LabExclusion {
  std::string ref;
  std::string reason;  // "status preliminary", "no unit", "unknown unit 'mg'", ...
};

struct LabSeries {
  std::vector<LabValue> values;         // usable, de-duplicated, latest effective first
  std::vector<LabExclusion> excluded;   // observations of this analyte that were not usable
};

// Observations whose code is not one of spec.codes are ignored silently.
LabSeries SelectLabResults(const AnalyteSpec& spec, const std::vector<ObservationFact>& observations);

}  // namespace cds::fhir
