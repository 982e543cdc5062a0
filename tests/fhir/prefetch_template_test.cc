#include "fhir/prefetch_template.h"

#include <map>
#include <string>

#include <boost/test/unit_test.hpp>

namespace cds::fhir {
namespace {

const std::map<std::string, std::string> kTokens{
    {"context.patientId", "p-1.a"},
    {"context.userId", "Practitioner/doc-7"},
    {"userPractitionerId", "doc-7"},
};

std::string Render(const std::string& query,
                   const std::map<std::string, std::string>& tokens = kTokens) {
  Result<std::string> rendered = RenderPrefetchTemplate(query, tokens);
  BOOST_TEST_REQUIRE(rendered.has_value(), (rendered ? "" : rendered.error().message));
  return *rendered;
}

std::string RenderError(const std::string& query,
                        const std::map<std::string, std::string>& tokens = kTokens) {
  Result<std::string> rendered = RenderPrefetchTemplate(query, tokens);
  BOOST_TEST_REQUIRE(!rendered.has_value(), "rendered: " << (rendered ? *rendered : ""));
  BOOST_TEST((rendered.error().code == ErrorCode::kPrefetchUnavailable));
  return rendered.error().message;
}

BOOST_AUTO_TEST_SUITE(PrefetchTemplate)

BOOST_AUTO_TEST_CASE(percent_encode_keeps_only_unreserved_characters) {
  BOOST_TEST(PercentEncode("AZaz09-._~") == "AZaz09-._~");
  BOOST_TEST(PercentEncode("a b&c=d,e|f/g?h#i%j+k") == "a%20b%26c%3Dd%2Ce%7Cf%2Fg%3Fh%23i%25j%2Bk");
  BOOST_TEST(PercentEncode("\xC3\xA9") == "%C3%A9");  // UTF-8 bytes, upper-case hex
}

BOOST_AUTO_TEST_CASE(read_and_search_templates_render) {
  BOOST_TEST(Render("Patient/{{context.patientId}}") == "Patient/p-1.a");
  BOOST_TEST(Render("Condition?patient={{context.patientId}}") == "Condition?patient=p-1.a");
  BOOST_TEST(
      Render("PractitionerRole?practitioner={{userPractitionerId}}&x={{userPractitionerId}}") ==
      "PractitionerRole?practitioner=doc-7&x=doc-7");
}

BOOST_AUTO_TEST_CASE(static_parts_are_not_encoded_again) {
  // Checklist P-6: the rule file writes '|' as %7C; it must stay %7C, not %257C.
  BOOST_TEST(Render("Observation?patient={{context.patientId}}&code=http://loinc.org%7C19123-9,"
                    "http://loinc.org%7C2601-3&_sort=-date") ==
             "Observation?patient=p-1.a&code=http://loinc.org%7C19123-9,http://loinc.org%7C2601-3"
             "&_sort=-date");
}

BOOST_AUTO_TEST_CASE(token_values_cannot_inject_parameters) {
  const std::map<std::string, std::string> hostile{{"context.patientId", "1&_id=2,3|x#y"}};
  BOOST_TEST(Render("Condition?patient={{context.patientId}}", hostile) ==
             "Condition?patient=1%26_id%3D2%2C3%7Cx%23y");
}

BOOST_AUTO_TEST_CASE(type_slash_id_token_keeps_its_slash) {
  // Checklist P-4: {{context.userId}} is "Type/id" and works as a whole read path.
  BOOST_TEST(Render("{{context.userId}}") == "Practitioner/doc-7");
  const std::map<std::string, std::string> odd{{"context.userId", "a/b/c"}};
  BOOST_TEST(Render("{{context.userId}}", odd) == "a%2Fb%2Fc");
}

BOOST_AUTO_TEST_CASE(missing_token_cannot_be_rendered_and_is_named) {
  const std::string message = RenderError("Patient/{{userPatientId}}");
  BOOST_TEST(message.find("{{userPatientId}}") != std::string::npos);
  RenderError("Patient/{{context.patientId}}", {{"context.patientId", ""}});
}

BOOST_AUTO_TEST_CASE(dot_segments_are_refused) {
  RenderError("Patient/{{context.patientId}}", {{"context.patientId", ".."}});
  RenderError("Patient/{{context.patientId}}", {{"context.patientId", "."}});
  RenderError("{{context.userId}}", {{"context.userId", "Practitioner/.."}});
}

BOOST_AUTO_TEST_CASE(unclosed_token_is_an_error) { RenderError("Patient/{{context.patientId"); }

BOOST_AUTO_TEST_CASE(error_messages_never_carry_token_values) {
  const std::string message =
      RenderError("Patient/{{context.patientId}}", {{"context.patientId", "...."}});
  BOOST_TEST(message.find("....") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
