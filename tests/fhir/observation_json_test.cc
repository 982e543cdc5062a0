// Observation normalisation (generic part of §5.1), through Normalize.

#include <string>

#include <boost/test/unit_test.hpp>

#include "fhir/patient_facts.h"
#include "tests/fhir/fhir_test_util.h"

namespace cds::fhir {
namespace {

using testing::NormalizeText;

ObservationFact Read(const std::string& members) {
  const PatientFacts facts =
      NormalizeText(R"({"resourceType":"Observation","id":"o1","status":"final",)"
                    R"("code":{"coding":[{"system":"http://loinc.org","code":"19123-9"}]})" +
                    members + "}");
  BOOST_TEST(facts.warnings.empty());
  BOOST_TEST_REQUIRE(facts.observations.size() == 1u);
  return facts.observations[0];
}

BOOST_AUTO_TEST_SUITE(ObservationRead)

BOOST_AUTO_TEST_CASE(quantity_value_unit_and_date_are_read) {
  const ObservationFact o = Read(
      R"(,"valueQuantity":{"value":1.1,"unit":"mg/dl","system":"http://unitsofmeasure.org","code":" mg/dL "},)"
      R"("effectiveDateTime":"2026-11-01T08:00:00Z","issued":"2026-11-01T10:00:00Z")");
  BOOST_TEST(o.ref == "Observation/o1");
  BOOST_TEST(o.status == "final");
  BOOST_TEST(o.code.codings[0].code == "19123-9");
  BOOST_TEST_REQUIRE(o.value.has_value());
  BOOST_TEST(*o.value == 1.1);
  BOOST_TEST(o.value_text == "1.1");
  BOOST_TEST(o.unit == "mg/dL");  // the UCUM code, trimmed, before the display unit
  BOOST_TEST(o.comparator == "");
  BOOST_TEST_REQUIRE(o.effective.has_value());
  BOOST_TEST(FormatIsoUtc(o.effective->seconds) == "2026-11-01T08:00:00Z");
  BOOST_TEST_REQUIRE(o.issued.has_value());
  BOOST_TEST(FormatIsoUtc(o.issued->seconds) == "2026-11-01T10:00:00Z");
  BOOST_TEST(o.excluded_reason == "");
}

BOOST_AUTO_TEST_CASE(unit_falls_back_to_display_unit_when_code_is_blank) {
  BOOST_TEST(Read(R"(,"valueQuantity":{"value":0.8,"unit":" mmol/L","code":"  "})").unit ==
             "mmol/L");
  BOOST_TEST(Read(R"(,"valueQuantity":{"value":0.8})").unit == "");
}

BOOST_AUTO_TEST_CASE(value_text_is_clean_for_integers_and_decimals) {
  BOOST_TEST(Read(R"(,"valueQuantity":{"value":2})").value_text == "2");
  BOOST_TEST(Read(R"(,"valueQuantity":{"value":0.45})").value_text == "0.45");
  BOOST_TEST(Read(R"(,"valueQuantity":{"value":1.7000})").value_text == "1.7");
}

BOOST_AUTO_TEST_CASE(comparator_is_kept) {
  const ObservationFact o =
      Read(R"(,"valueQuantity":{"value":0.4,"comparator":"<","code":"mmol/L"})");
  BOOST_TEST(o.comparator == "<");
  BOOST_TEST(*o.value == 0.4);
}

BOOST_AUTO_TEST_CASE(non_numeric_values_give_no_value) {
  BOOST_TEST(!Read(R"(,"valueString":"hemolysed")").value.has_value());
  BOOST_TEST(!Read(R"(,"valueQuantity":{"value":"1.1","code":"mg/dL"})").value.has_value());
  BOOST_TEST(!Read(R"(,"dataAbsentReason":{"text":"error"})").value.has_value());
}

BOOST_AUTO_TEST_CASE(effective_falls_back_through_period_end_instant_and_issued) {
  BOOST_TEST(
      Read(
          R"(,"effectivePeriod":{"start":"2026-10-01","end":"2026-10-02"},"issued":"2026-10-05T00:00:00Z")")
          .effective->date_text == "2026-10-02");
  BOOST_TEST(Read(R"(,"effectiveInstant":"2026-10-03T01:02:03Z","issued":"2026-10-05T00:00:00Z")")
                 .effective->date_text == "2026-10-03");
  BOOST_TEST(Read(R"(,"issued":"2026-10-05T00:00:00Z")").effective->date_text == "2026-10-05");
  BOOST_TEST(!Read("").effective.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
