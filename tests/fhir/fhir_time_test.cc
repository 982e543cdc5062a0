#include "fhir/fhir_time.h"

#include <string>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

namespace cds::fhir {
namespace {

namespace bdata = boost::unit_test::data;

BOOST_AUTO_TEST_SUITE(FhirTime)

BOOST_AUTO_TEST_CASE(year_only_is_utc_midnight_of_january_first) {
  const auto t = ParseFhirDateTime("2024");
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->seconds == 1704067200);
  BOOST_TEST(t->date_text == "2024");
}

BOOST_AUTO_TEST_CASE(year_month_is_first_of_month) {
  const auto t = ParseFhirDateTime("2024-03");
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->seconds == 1709251200);
  BOOST_TEST(t->date_text == "2024-03");
}

BOOST_AUTO_TEST_CASE(full_date_is_utc_midnight) {
  const auto t = ParseFhirDateTime("2024-03-05");
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->seconds == 1709596800);
  BOOST_TEST(t->date_text == "2024-03-05");
}

BOOST_AUTO_TEST_CASE(date_time_with_z) {
  const auto t = ParseFhirDateTime("2024-03-05T10:00:00Z");
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->seconds == 1709632800);
  BOOST_TEST(t->date_text == "2024-03-05");
}

BOOST_AUTO_TEST_CASE(positive_offset_is_subtracted) {
  const auto t = ParseFhirDateTime("2024-03-05T10:00:00+02:00");
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->seconds == 1709625600);  // 08:00Z
}

BOOST_AUTO_TEST_CASE(negative_offset_crosses_midnight_but_keeps_written_date) {
  const auto t = ParseFhirDateTime("2024-03-05T23:30:00-05:00");
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->seconds == 1709699400);  // 2024-03-06T04:30Z
  BOOST_TEST(t->date_text == "2024-03-05");
}

BOOST_AUTO_TEST_CASE(instant_with_fraction_truncates_to_whole_seconds) {
  const auto millis = ParseFhirDateTime("2024-03-05T10:00:00.123+00:00");
  const auto nanos = ParseFhirDateTime("2024-03-05T10:00:00.999999999Z");
  BOOST_TEST_REQUIRE(millis.has_value());
  BOOST_TEST_REQUIRE(nanos.has_value());
  BOOST_TEST(millis->seconds == 1709632800);
  BOOST_TEST(nanos->seconds == 1709632800);
}

BOOST_AUTO_TEST_CASE(leap_days_follow_gregorian_rules) {
  BOOST_TEST(ParseFhirDateTime("2024-02-29")->seconds == 1709164800);
  BOOST_TEST(ParseFhirDateTime("2000-02-29")->seconds == 951782400);
  BOOST_TEST(!ParseFhirDateTime("2023-02-29").has_value());
  BOOST_TEST(!ParseFhirDateTime("1900-02-29").has_value());
}

BOOST_AUTO_TEST_CASE(leap_second_is_accepted) {
  BOOST_TEST(ParseFhirDateTime("2016-12-31T23:59:60Z").has_value());
}

BOOST_DATA_TEST_CASE(invalid_text_is_rejected,
                     bdata::make({"",
                                  "24",
                                  "20240",
                                  "0000",
                                  "2024-",
                                  "2024-13",
                                  "2024-00",
                                  "2024-3",
                                  "2024-04-31",
                                  "2024-01-00",
                                  "2024-01-32",
                                  "2024-03-05T10:00:00",
                                  "2024-03-05T10:00Z",
                                  "2024-03-05T24:00:00Z",
                                  "2024-03-05T10:60:00Z",
                                  "2024-03-05T10:00:61Z",
                                  "2024-03-05T10:00:00.Z",
                                  "2024-03-05T10:00:00+15:00",
                                  "2024-03-05T10:00:00+0200",
                                  "2024-03-05 10:00:00Z",
                                  "2024-03-05T10:00:00Zjunk",
                                  "2024-03-05Z",
                                  "2024/03/05",
                                  "abcd",
                                  " 2024"}),
                     text) {
  BOOST_TEST(!ParseFhirDateTime(text).has_value(), "accepted: '" << text << "'");
}

BOOST_AUTO_TEST_CASE(latest_instant_covers_the_whole_period_written) {
  BOOST_TEST(*ParseFhirDateTimeLatest("2024") == 1735689600 - 1);     // 2024-12-31T23:59:59Z
  BOOST_TEST(*ParseFhirDateTimeLatest("2024-02") == 1709251200 - 1);  // 2024-02-29T23:59:59Z
  BOOST_TEST(*ParseFhirDateTimeLatest("2024-03-05") == 1709596800 + 86399);
  BOOST_TEST(*ParseFhirDateTimeLatest("2024-03-05T10:00:00Z") == 1709632800);
  BOOST_TEST(!ParseFhirDateTimeLatest("2024-02-30").has_value());
}

BOOST_AUTO_TEST_CASE(format_round_trips_epoch_seconds) {
  BOOST_TEST(FormatIsoUtc(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(FormatIsoUtc(-1) == "1969-12-31T23:59:59Z");
  BOOST_TEST(FormatIsoUtc(1709699400) == "2024-03-06T04:30:00Z");
  BOOST_TEST(FormatIsoDate(1709699400) == "2024-03-06");
  BOOST_TEST(FormatIsoDate(1795305600) == "2026-11-22");
  const auto parsed = ParseFhirDateTime("2026-11-22T15:04:05Z");
  BOOST_TEST(FormatIsoUtc(parsed->seconds) == "2026-11-22T15:04:05Z");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
