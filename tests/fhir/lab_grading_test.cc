// Grading in the reported unit with per-unit band tables, censored results
// and never-graded codes (clinical-reference-1.1 R1, R3, R5).

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fhir/lab_results.h"

namespace cds::fhir {
namespace {

constexpr const char* kLoinc = "http://loinc.org";

std::vector<GradeBand> Bands(double severe, double low, double high, double marked) {
  return {{"severe-low", severe, false},
          {"low", low, false},
          {"normal", high, true},
          {"high", marked, false},
          {"marked-high", std::nullopt, false}};
}

// The R1 table: mg/dL, mmol/L and mEq/L scales; mg/L and umol/L graded on them.
AnalyteSpec GradedMagnesium() {
  AnalyteSpec spec;
  spec.id = "serum-magnesium";
  spec.codes = {{kLoinc, "19123-9", ""}, {kLoinc, "2601-3", ""}};
  spec.canonical_unit = "mmol/L";
  spec.units = {{"mmol/L", 1.0},
                {"mg/dL", 1 / 2.4305},
                {"meq/L", 0.5},
                {"mg/L", 0.1 / 2.4305},
                {"umol/L", 0.001}};
  spec.plausible_low = 0.1;
  spec.plausible_high = 5.0;
  Grading g;
  g.reference_band = "normal";
  g.scales = {{"mg/dL", Bands(1.22, 1.70, 2.55, 4.9)},
              {"mmol/L", Bands(0.50, 0.70, 1.05, 2.0)},
              {"meq/L", Bands(1.00, 1.40, 2.10, 4.0)}};
  g.aliases = {{"mg/L", "mg/dL", 0.1}, {"umol/L", "mmol/L", 0.001}};
  g.censored_below = {"severe-low", "low"};
  g.censored_above = {"high", "marked-high"};
  spec.grading = g;
  spec.not_graded_codes = {{kLoinc, "21377-7", ""}};
  spec.not_graded_reason = "not a serum/plasma magnesium code";
  return spec;
}

ObservationFact Obs(double value, const std::string& unit, const std::string& comparator = "",
                    const std::string& code = "2601-3") {
  ObservationFact o;
  o.ref = "Observation/o";
  o.code.codings.push_back({kLoinc, code, ""});
  o.status = "final";
  o.value = value;
  o.comparator = comparator;
  o.unit = unit;
  o.effective = ParseFhirDateTime("2026-11-01");
  return o;
}

// The band, or "unusable: <reason>".
std::string GradeOf(const ObservationFact& o) {
  LabSeries s = SelectLabResults(GradedMagnesium(), {o});
  if (s.values.empty())
    return "unusable: " + (s.excluded.empty() ? std::string("(silent)") : s.excluded[0].reason);
  return s.values[0].band;
}

BOOST_AUTO_TEST_SUITE(LabGrading)

BOOST_AUTO_TEST_CASE(grades_in_the_reported_unit_not_a_converted_number) {
  BOOST_TEST(GradeOf(Obs(1.70, "mg/dL")) == "normal");  // 0.699 mmol/L once converted
  BOOST_TEST(GradeOf(Obs(1.69, "mg/dL")) == "low");
  BOOST_TEST(GradeOf(Obs(1.21, "mg/dL")) == "severe-low");
  BOOST_TEST(GradeOf(Obs(2.55, "mg/dL")) == "normal");
  BOOST_TEST(GradeOf(Obs(4.86, "mg/dL")) == "high");  // 2.0 mmol/L once converted
  BOOST_TEST(GradeOf(Obs(4.9, "mg/dL")) == "marked-high");
  BOOST_TEST(GradeOf(Obs(1.40, "mEq/L")) == "normal");  // case-insensitive unit
  BOOST_TEST(GradeOf(Obs(1.39, "meq/L")) == "low");
  BOOST_TEST(GradeOf(Obs(12, "mg/L")) == "severe-low");  // 1.2 mg/dL
  BOOST_TEST(GradeOf(Obs(700, "umol/L")) == "normal");   // 0.70 mmol/L
}

BOOST_AUTO_TEST_CASE(crossed_limit_is_shown_in_the_reported_unit) {
  LabSeries s = SelectLabResults(GradedMagnesium(), {Obs(1.69, "mg/dL")});
  BOOST_TEST_REQUIRE(s.values.size() == 1u);
  BOOST_TEST(s.values[0].crossed == "below 1.70 mg/dL");
  s = SelectLabResults(GradedMagnesium(), {Obs(1.1, "mmol/L")});
  BOOST_TEST(s.values[0].crossed == "above 1.05 mmol/L");
  s = SelectLabResults(GradedMagnesium(), {Obs(2.0, "mmol/L")});
  BOOST_TEST(s.values[0].crossed == "at or above 2.00 mmol/L");
}

BOOST_AUTO_TEST_CASE(censored_results_follow_the_r3_table) {
  BOOST_TEST(GradeOf(Obs(0.50, "mmol/L", "<")) == "severe-low");
  BOOST_TEST(GradeOf(Obs(0.60, "mmol/L", "<")) == "low");
  BOOST_TEST(GradeOf(Obs(0.70, "mmol/L", "<")) == "low");
  BOOST_TEST(GradeOf(Obs(0.80, "mmol/L", "<")).rfind("unusable", 0) == 0);
  BOOST_TEST(GradeOf(Obs(0.50, "mmol/L", "<=")) == "low");
  BOOST_TEST(GradeOf(Obs(0.45, "mmol/L", "<=")) == "severe-low");
  BOOST_TEST(GradeOf(Obs(0.70, "mmol/L", "<=")).rfind("unusable", 0) == 0);
  BOOST_TEST(GradeOf(Obs(1.05, "mmol/L", ">")) == "high");
  BOOST_TEST(GradeOf(Obs(2.0, "mmol/L", ">")) == "marked-high");
  BOOST_TEST(GradeOf(Obs(1.9, "mmol/L", ">")) == "high");
  BOOST_TEST(GradeOf(Obs(2.0, "mmol/L", ">=")) == "marked-high");
  BOOST_TEST(GradeOf(Obs(1.05, "mmol/L", ">=")).rfind("unusable", 0) == 0);
  BOOST_TEST(GradeOf(Obs(0.3, "mmol/L", ">")).rfind("unusable", 0) == 0);
  BOOST_TEST(GradeOf(Obs(3.0, "mmol/L", "<")).rfind("unusable", 0) == 0);
  BOOST_TEST(GradeOf(Obs(0.3, "mmol/L", "ad")) == "unusable: comparator 'ad'");
}

BOOST_AUTO_TEST_CASE(plausibility_guard_applies_to_the_bound) {
  BOOST_TEST(GradeOf(Obs(0.05, "mmol/L", "<")).rfind("unusable: implausible", 0) == 0);
}

BOOST_AUTO_TEST_CASE(never_graded_code_is_named_and_value_string_is_reported) {
  BOOST_TEST(GradeOf(Obs(0.40, "mmol/L", "", "21377-7")) ==
             "unusable: not a serum/plasma magnesium code (LOINC 21377-7)");
  ObservationFact text = Obs(0, "mmol/L");
  text.value.reset();
  text.value_string = "<0.5";
  BOOST_TEST(GradeOf(text) == "unusable: valueString not graded: \"<0.5\"");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
