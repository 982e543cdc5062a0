// SelectLabResults: the analyte-specific data-quality rules of §5.1.

#include "fhir/lab_results.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/tools/floating_point_comparison.hpp>
#include <boost/test/unit_test.hpp>

#include "tests/fhir/fhir_test_util.h"

namespace cds::fhir {
namespace {

namespace tt = boost::test_tools;

constexpr const char* kLoinc = "http://loinc.org";

// Serum magnesium as the rule files define it; factors from clinical-reference §1.3.
AnalyteSpec SerumMagnesium() {
  AnalyteSpec spec;
  spec.id = "serum-magnesium";
  spec.codes = {{kLoinc, "19123-9", ""}, {kLoinc, "2601-3", ""}};
  spec.canonical_unit = "mmol/L";
  spec.units = {
      {"mmol/L", 1.0}, {"mg/dL", 0.4114}, {"meq/L", 0.5}, {"mg/L", 0.04114}, {"umol/L", 0.001}};
  spec.plausible_low = 0.1;
  spec.plausible_high = 5.0;
  return spec;
}

ObservationFact Obs(const std::string& id, double value, const std::string& unit,
                    const std::string& when = "2026-11-01T08:00:00Z",
                    const std::string& status = "final", const std::string& code = "19123-9") {
  ObservationFact o;
  o.ref = "Observation/" + id;
  o.code.codings.push_back({kLoinc, code, ""});
  o.status = status;
  o.value = value;
  o.value_text = [&] {
    std::string s = std::to_string(value);
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    return s;
  }();
  o.unit = unit;
  if (!when.empty()) o.effective = ParseFhirDateTime(when);
  return o;
}

std::string ExclusionOf(const LabSeries& series, const std::string& ref) {
  for (const LabExclusion& e : series.excluded) {
    if (e.ref == ref) return e.reason;
  }
  return "(not excluded)";
}

BOOST_AUTO_TEST_SUITE(SelectLabResultsUnits)

BOOST_AUTO_TEST_CASE(mg_per_dl_is_converted_to_mmol_per_l) {
  const LabSeries s = SelectLabResults(SerumMagnesium(), {Obs("a", 1.1, "mg/dL")});
  BOOST_TEST_REQUIRE(s.values.size() == 1u);
  BOOST_TEST(s.values[0].value == 1.1 * 0.4114, tt::tolerance(1e-12));
  BOOST_TEST(s.values[0].reported == "1.1 mg/dL");
  BOOST_TEST(s.values[0].ref == "Observation/a");
  BOOST_TEST(s.values[0].status == "final");
  BOOST_TEST(s.values[0].effective.date_text == "2026-11-01");
  BOOST_TEST(s.excluded.empty());
}

BOOST_AUTO_TEST_CASE(mmol_per_l_is_canonical) {
  const LabSeries s = SelectLabResults(
      SerumMagnesium(), {Obs("a", 0.45, "mmol/L", "2026-11-01T08:00:00Z", "final", "2601-3")});
  BOOST_TEST_REQUIRE(s.values.size() == 1u);
  BOOST_TEST(s.values[0].value == 0.45, tt::tolerance(1e-12));
  BOOST_TEST(s.values[0].reported == "0.45 mmol/L");
}

BOOST_AUTO_TEST_CASE(meq_per_l_in_any_case_is_halved) {
  const LabSeries s =
      SelectLabResults(SerumMagnesium(), {Obs("ucum", 1.6, "meq/L", "2026-11-01T08:00:00Z"),
                                          Obs("mixed", 1.6, "mEq/L", "2026-10-01T08:00:00Z"),
                                          Obs("sloppy", 1.6, " MEQ/L ", "2026-09-01T08:00:00Z")});
  BOOST_TEST_REQUIRE(s.values.size() == 3u);
  for (const LabValue& v : s.values) BOOST_TEST(v.value == 0.8, tt::tolerance(1e-12));
  BOOST_TEST(s.values[1].reported == "1.6 mEq/L");
}

BOOST_AUTO_TEST_CASE(unitless_value_is_unusable) {
  const LabSeries s = SelectLabResults(SerumMagnesium(), {Obs("a", 1.6, "")});
  BOOST_TEST(s.values.empty());
  BOOST_TEST(ExclusionOf(s, "Observation/a") == "no unit");
}

BOOST_AUTO_TEST_CASE(unknown_unit_is_unusable_and_not_guessed) {
  const LabSeries s =
      SelectLabResults(SerumMagnesium(), {Obs("a", 1.6, "mg"), Obs("b", 1.6, "mg per dl")});
  BOOST_TEST(s.values.empty());
  BOOST_TEST(ExclusionOf(s, "Observation/a") == "unknown unit 'mg'");
  BOOST_TEST(ExclusionOf(s, "Observation/b") == "unknown unit 'mg per dl'");
}

BOOST_AUTO_TEST_CASE(implausible_converted_value_is_unusable) {
  const LabSeries s = SelectLabResults(
      SerumMagnesium(), {Obs("a", 12.5, "mmol/L"), Obs("b", 30, "mg/dL", "2026-10-01T00:00:00Z"),
                         Obs("c", 0.05, "mmol/L", "2026-09-01T00:00:00Z")});
  BOOST_TEST(s.values.empty());
  BOOST_TEST(ExclusionOf(s, "Observation/a") == "implausible 12.5 mmol/L");
  BOOST_TEST(ExclusionOf(s, "Observation/b") == "implausible 12.34 mmol/L");
  BOOST_TEST(ExclusionOf(s, "Observation/c") == "implausible 0.05 mmol/L");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SelectLabResultsRules)

BOOST_AUTO_TEST_CASE(preliminary_and_other_unusable_statuses_are_excluded) {
  const LabSeries s = SelectLabResults(
      SerumMagnesium(), {Obs("p", 0.8, "mmol/L", "2026-11-01T08:00:00Z", "preliminary"),
                         Obs("r", 0.8, "mmol/L", "2026-11-02T08:00:00Z", "registered"),
                         Obs("e", 0.8, "mmol/L", "2026-11-03T08:00:00Z", "entered-in-error"),
                         Obs("c", 0.8, "mmol/L", "2026-11-04T08:00:00Z", "cancelled"),
                         Obs("u", 0.8, "mmol/L", "2026-11-05T08:00:00Z", "unknown"),
                         Obs("m", 0.8, "mmol/L", "2026-11-06T08:00:00Z", ""),
                         Obs("ap", 0.8, "mmol/L", "2026-11-07T08:00:00Z", "appended")});
  BOOST_TEST(ExclusionOf(s, "Observation/p") == "status preliminary");
  BOOST_TEST(ExclusionOf(s, "Observation/r") == "status registered");
  BOOST_TEST(ExclusionOf(s, "Observation/e") == "status entered-in-error");
  BOOST_TEST(ExclusionOf(s, "Observation/c") == "status cancelled");
  BOOST_TEST(ExclusionOf(s, "Observation/u") == "status unknown");
  BOOST_TEST(ExclusionOf(s, "Observation/m") == "status missing");
  BOOST_TEST_REQUIRE(s.values.size() == 1u);
  BOOST_TEST(s.values[0].ref == "Observation/ap");
}

BOOST_AUTO_TEST_CASE(amended_is_preferred_over_final_at_the_same_time) {
  ObservationFact final_result = Obs("final", 0.6, "mmol/L");
  final_result.issued = ParseFhirDateTime("2026-11-02T00:00:00Z");  // issued later, still loses
  const LabSeries s = SelectLabResults(
      SerumMagnesium(),
      {final_result, Obs("amended", 0.75, "mmol/L", "2026-11-01T08:00:00Z", "amended")});
  BOOST_TEST_REQUIRE(s.values.size() == 1u);
  BOOST_TEST(s.values[0].ref == "Observation/amended");
  BOOST_TEST(ExclusionOf(s, "Observation/final") == "superseded by Observation/amended");
}

BOOST_AUTO_TEST_CASE(different_values_at_the_same_time_keep_the_later_issued) {
  ObservationFact early = Obs("early", 0.6, "mmol/L");
  early.issued = ParseFhirDateTime("2026-11-01T09:00:00Z");
  ObservationFact late = Obs("late", 0.65, "mmol/L");
  late.issued = ParseFhirDateTime("2026-11-01T10:00:00Z");
  const LabSeries s = SelectLabResults(SerumMagnesium(), {late, early});
  BOOST_TEST_REQUIRE(s.values.size() == 1u);
  BOOST_TEST(s.values[0].ref == "Observation/late");
  BOOST_TEST(ExclusionOf(s, "Observation/early") == "superseded by Observation/late");
}

BOOST_AUTO_TEST_CASE(exact_duplicate_is_counted_once) {
  // The same result sent by two interfaces, one spelling the unit differently.
  const LabSeries s =
      SelectLabResults(SerumMagnesium(), {Obs("a", 0.7, "mmol/L"), Obs("b", 0.7, "MMOL/L"),
                                          Obs("other-day", 0.7, "mmol/L", "2026-10-01T08:00:00Z")});
  BOOST_TEST_REQUIRE(s.values.size() == 2u);
  BOOST_TEST(s.values[0].ref == "Observation/a");
  BOOST_TEST(ExclusionOf(s, "Observation/b") == "duplicate of Observation/a");
  BOOST_TEST(s.values[1].ref == "Observation/other-day");
}

BOOST_AUTO_TEST_CASE(comparator_values_are_ignored_by_default) {
  ObservationFact below = Obs("a", 0.4, "mmol/L");
  below.comparator = "<";
  const LabSeries s = SelectLabResults(SerumMagnesium(), {below});
  BOOST_TEST(s.values.empty());
  BOOST_TEST(ExclusionOf(s, "Observation/a") == "comparator '<'");

  AnalyteSpec egfr_like = SerumMagnesium();
  egfr_like.comparator_allowed = true;
  const LabSeries allowed = SelectLabResults(egfr_like, {below});
  BOOST_TEST_REQUIRE(allowed.values.size() == 1u);
  BOOST_TEST(allowed.values[0].comparator == "<");
  BOOST_TEST(allowed.values[0].reported == "<0.4 mmol/L");
}

BOOST_AUTO_TEST_CASE(value_string_is_ignored) {
  ObservationFact text_only = Obs("a", 0, "");
  text_only.value.reset();
  text_only.value_text.clear();
  const LabSeries s = SelectLabResults(SerumMagnesium(), {text_only});
  BOOST_TEST(s.values.empty());
  BOOST_TEST(ExclusionOf(s, "Observation/a") == "no numeric value");
}

BOOST_AUTO_TEST_CASE(result_without_date_is_unusable) {
  const LabSeries s = SelectLabResults(SerumMagnesium(), {Obs("a", 0.8, "mmol/L", "")});
  BOOST_TEST(s.values.empty());
  BOOST_TEST(ExclusionOf(s, "Observation/a") == "no date");
}

BOOST_AUTO_TEST_CASE(other_codes_are_ignored_silently) {
  ObservationFact wrong_system = Obs("sys", 0.8, "mmol/L");
  wrong_system.code.codings[0].system = "http://example.org/local";
  const LabSeries s = SelectLabResults(
      SerumMagnesium(),
      {Obs("k", 3.1, "mmol/L", "2026-11-01T08:00:00Z", "final", "2823-3"),
       Obs("rbc", 5.0, "mg/dL", "2026-11-01T08:00:00Z", "final", "29900-7"), wrong_system});
  BOOST_TEST(s.values.empty());
  BOOST_TEST(s.excluded.empty());
}

// An observation is matched on any of its codings, code and system both, to
// the first accepted code it carries: that code groups results of the same
// time as duplicates. Many accepted codes, one of them in two systems.
BOOST_AUTO_TEST_CASE(each_coding_is_matched_on_code_and_system_against_every_accepted_code) {
  AnalyteSpec spec = SerumMagnesium();
  const std::string lab = "http://example.org/lab";
  spec.codes = {{kLoinc, "19123-9", ""}, {lab, "19123-9", ""}, {kLoinc, "2601-3", ""}};
  for (int i = 0; i < 20; ++i) spec.codes.push_back({lab, "mg-" + std::to_string(i), ""});
  auto coded = [](const std::string& id, double value,
                  std::vector<std::pair<std::string, std::string>> codings) {
    ObservationFact o = Obs(id, value, "mmol/L");
    o.code.codings.clear();
    for (auto& [system, code] : codings) o.code.codings.push_back({system, code, ""});
    return o;
  };
  const std::vector<ObservationFact> observations = {
      // 2601-3 only in LOINC: the local coding first does not match, the second does.
      coded("a", 0.70, {{lab, "2601-3"}, {kLoinc, "2601-3"}}),
      coded("b", 0.70, {{kLoinc, "2601-3"}}),  // same code and time as a: one result
      // Carries 19123-9 too, which comes first: its own group, not a's duplicate.
      coded("c", 0.71, {{kLoinc, "19123-9"}, {kLoinc, "2601-3"}}),
      coded("d", 0.72, {{lab, "19123-9"}}),          // the same code in the other system
      coded("e", 0.73, {{"urn:other", "19123-9"}}),  // a system not accepted
      coded("f", 0.74, {{lab, "mg-17"}}),
      coded("g", 0.75, {{kLoinc, "mg-17"}}),  // accepted code, other system
  };
  const LabSelection selection = SelectLabs(spec, observations);
  std::vector<std::string> kept;
  for (const LabPick& pick : selection.usable) kept.push_back(pick.observation->ref);
  std::sort(kept.begin(), kept.end());
  BOOST_TEST(kept == (std::vector<std::string>{"Observation/a", "Observation/c", "Observation/d",
                                               "Observation/f"}),
             tt::per_element());
  BOOST_TEST_REQUIRE(selection.excluded.size() == 1u);
  BOOST_TEST(selection.excluded[0].ref == "Observation/b");
  BOOST_TEST(selection.excluded[0].reason == "duplicate of Observation/a");
}

BOOST_AUTO_TEST_CASE(values_are_latest_first) {
  const LabSeries s =
      SelectLabResults(SerumMagnesium(), {Obs("mid", 0.8, "mmol/L", "2026-06-01T00:00:00Z"),
                                          Obs("new", 0.5, "mmol/L", "2026-11-01T00:00:00Z"),
                                          Obs("old", 0.9, "mmol/L", "2025-01-01")});
  BOOST_TEST_REQUIRE(s.values.size() == 3u);
  BOOST_TEST(s.values[0].ref == "Observation/new");
  BOOST_TEST(s.values[1].ref == "Observation/mid");
  BOOST_TEST(s.values[2].ref == "Observation/old");
}

BOOST_AUTO_TEST_CASE(structurally_unusable_observation_keeps_its_reason) {
  ObservationFact broken = Obs("a", 0.8, "mmol/L");
  broken.excluded_reason = "no code";
  const LabSeries s = SelectLabResults(SerumMagnesium(), {broken});
  BOOST_TEST(ExclusionOf(s, "Observation/a") == "no code");
}

BOOST_AUTO_TEST_CASE(normalized_bundle_feeds_selection) {
  const PatientFacts facts = testing::NormalizeText(
      testing::Bundle({R"({"resourceType":"Observation","id":"o1","status":"final",
          "code":{"coding":[{"system":"http://loinc.org","code":"19123-9"}]},
          "valueQuantity":{"value":1.1,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"},
          "effectiveDateTime":"2026-11-01"})",
                       R"({"resourceType":"Observation","id":"o2","status":"final",
          "code":{"coding":[{"system":"http://loinc.org","code":"19123-9"}]},
          "valueString":"hemolysed","effectiveDateTime":"2026-11-02"})"}));
  const LabSeries s = SelectLabResults(SerumMagnesium(), facts.observations);
  BOOST_TEST_REQUIRE(s.values.size() == 1u);
  BOOST_TEST(s.values[0].reported == "1.1 mg/dL");
  BOOST_TEST(s.values[0].value == 0.45254, tt::tolerance(1e-9));
  BOOST_TEST(ExclusionOf(s, "Observation/o2") == "valueString not graded: \"hemolysed\"");
}

// Issue #18: results are grouped by code and ordered by time without sorting
// when they arrive in order; whatever the order they arrive in, the selection
// is the same: latest first, results of one time in the order of the spec's
// codes, one per (code, time) with the input's first winning a tie.
BOOST_AUTO_TEST_CASE(selection_does_not_depend_on_the_order_results_arrive_in) {
  const std::string a = "19123-9";  // the spec's first code
  const std::string b = "2601-3";   // its second
  std::vector<ObservationFact> input = {
      Obs("b-latest", 0.8, "mmol/L", "2026-11-20T08:00:00Z", "final", b),
      Obs("a-mid", 0.6, "mmol/L", "2026-11-10T08:00:00Z", "final", a),
      Obs("a-mid-reissued", 0.65, "mmol/L", "2026-11-10T08:00:00Z", "final", a),
      Obs("b-same-time", 0.9, "mmol/L", "2026-11-01T08:00:00Z", "final", b),
      Obs("a-same-time", 0.7, "mmol/L", "2026-11-01T08:00:00Z", "final", a),
      Obs("a-old", 0.75, "mg/dL", "2026-10-01T08:00:00Z", "final", a),
      Obs("a-old-copy", 0.75, "mg/dL", "2026-10-01T08:00:00Z", "final", a)};
  input[1].issued = ParseFhirDateTime("2026-11-10T10:00:00Z");
  input[2].issued = ParseFhirDateTime("2026-11-10T11:00:00Z");
  std::vector<std::size_t> order(input.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  int permutations = 0;
  do {
    std::vector<ObservationFact> observations;
    for (std::size_t i : order) observations.push_back(input[i]);
    const LabSelection selection = SelectLabs(SerumMagnesium(), observations);
    std::vector<std::string> usable;
    for (const LabPick& pick : selection.usable) usable.push_back(pick.observation->ref);
    // Of two exact copies the one that arrived first stands for both.
    const auto position = [&](std::size_t i) {
      return std::find(order.begin(), order.end(), i) - order.begin();
    };
    const std::string old_kept = position(5) < position(6) ? "a-old" : "a-old-copy";
    const std::string old_dropped = old_kept == "a-old" ? "a-old-copy" : "a-old";
    const std::vector<std::string> expected = {"Observation/b-latest", "Observation/a-mid-reissued",
                                               "Observation/a-same-time", "Observation/b-same-time",
                                               "Observation/" + old_kept};
    BOOST_TEST_REQUIRE(usable == expected, tt::per_element());
    BOOST_TEST_REQUIRE(selection.excluded.size() == 2u);
    for (const LabExclusion& e : selection.excluded) {
      if (e.ref == "Observation/a-mid") {
        BOOST_TEST_REQUIRE(e.reason == "superseded by Observation/a-mid-reissued");
      } else {
        BOOST_TEST_REQUIRE(e.ref == "Observation/" + old_dropped);
        BOOST_TEST_REQUIRE(e.reason == "duplicate of Observation/" + old_kept);
      }
    }
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  BOOST_TEST(permutations == 5040);
}

// Issue #18: the engine selects without formatting, then describes only the
// results it shows. The picks point into the caller's observations.
BOOST_AUTO_TEST_CASE(selection_without_text_points_into_the_observations_latest_first) {
  const std::vector<ObservationFact> observations = {
      Obs("old", 1.1, "mg/dL", "2026-10-01T08:00:00Z"),
      Obs("bad", 0.7, "mmol/L", "2026-10-15T08:00:00Z", "preliminary"),
      Obs("new", 0.62, "mmol/L", "2026-11-01T08:00:00Z"),
      Obs("dup", 0.62, "mmol/L", "2026-11-01T08:00:00Z"),
      Obs("mid", 2.0, "meq/L", "2026-10-20T08:00:00Z")};
  const LabSelection selection = SelectLabs(SerumMagnesium(), observations);
  BOOST_TEST_REQUIRE(selection.usable.size() == 3u);
  BOOST_TEST(selection.usable[0].observation == &observations[2]);  // not a copy
  BOOST_TEST(selection.usable[1].observation == &observations[4]);
  BOOST_TEST(selection.usable[2].observation == &observations[0]);
  BOOST_TEST(selection.usable[1].value == 1.0, tt::tolerance(1e-12));  // 2 meq/L x 0.5
  BOOST_TEST(selection.usable[2].value == 0.45254, tt::tolerance(1e-9));
  BOOST_TEST(selection.usable[0].effective == observations[2].effective->seconds);
  BOOST_REQUIRE_EQUAL(selection.excluded.size(), 2u);
  BOOST_TEST(selection.excluded[0].ref == "Observation/bad");
  BOOST_TEST(selection.excluded[0].reason == "status preliminary");
  BOOST_TEST(selection.excluded[1].reason == "duplicate of Observation/new");

  const LabValue oldest = DescribeLab(SerumMagnesium(), selection.usable[2]);
  BOOST_TEST(oldest.ref == "Observation/old");
  BOOST_TEST(oldest.reported == "1.1 mg/dL");
  BOOST_TEST(oldest.value == 0.45254, tt::tolerance(1e-9));
  BOOST_TEST(oldest.status == "final");
  BOOST_TEST(oldest.effective.seconds == observations[0].effective->seconds);

  // Outside explain mode the engine asks for the picks only: the same picks,
  // in the same order, and no reasons built.
  const LabSelection quiet = SelectLabs(SerumMagnesium(), observations, /*list_exclusions=*/false);
  BOOST_TEST_REQUIRE(quiet.usable.size() == selection.usable.size());
  for (std::size_t i = 0; i < quiet.usable.size(); ++i) {
    BOOST_TEST(quiet.usable[i].observation == selection.usable[i].observation);
    BOOST_TEST(quiet.usable[i].value == selection.usable[i].value);
  }
  BOOST_TEST(quiet.excluded.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
