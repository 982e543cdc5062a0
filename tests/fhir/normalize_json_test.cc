// Normalize as a whole: inputs and bundles, Patient, malformed resources.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "fhir/normalize.h"
#include "tests/fhir/fhir_test_util.h"

namespace cds::fhir {
namespace {

using testing::Bundle;
using testing::NormalizeText;
using testing::NormalizeTexts;
using testing::ReadFixture;

bool HasWarning(const PatientFacts& facts, const std::string& text) {
  return std::find(facts.warnings.begin(), facts.warnings.end(), text) != facts.warnings.end();
}

std::string AllWarnings(const PatientFacts& facts) {
  std::string all;
  for (const std::string& w : facts.warnings) all += "\n  " + w;
  return all;
}

BOOST_AUTO_TEST_SUITE(NormalizeInputs)

BOOST_AUTO_TEST_CASE(patient_demographics_are_read) {
  const PatientFacts facts = NormalizeText(
      R"({"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1970-05-06"})");
  BOOST_TEST(facts.patient_id == "p1");
  BOOST_TEST(facts.gender == "female");
  BOOST_TEST_REQUIRE(facts.birth_date.has_value());
  BOOST_TEST(facts.birth_date->date_text == "1970-05-06");
}

BOOST_AUTO_TEST_CASE(a_patient_other_than_the_context_patient_is_ignored) {
  auto doc = testing::ParseOrFail(R"({"resourceType":"Patient","id":"p2","gender":"male"})");
  PatientFacts facts;
  facts.patient_id = "p1";
  Normalize({{FactCategory::kPatient, doc->root()}}, testing::AsOf(), {}, facts);
  BOOST_TEST(facts.patient_id == "p1");
  BOOST_TEST(facts.gender == "");
  BOOST_TEST(facts.warnings.size() == 1u);
}

BOOST_AUTO_TEST_CASE(category_states_set_by_the_caller_are_kept) {
  auto doc = testing::ParseOrFail(Bundle({}));
  PatientFacts facts;
  facts.state(FactCategory::kObservations).availability = Availability::kComplete;
  facts.state(FactCategory::kMedications).note = "fetch timed out";
  Normalize({{FactCategory::kObservations, doc->root()}}, testing::AsOf(), {}, facts);
  BOOST_TEST(facts.state(FactCategory::kObservations).complete());
  BOOST_TEST(!facts.state(FactCategory::kMedications).obtained());
  BOOST_TEST(facts.state(FactCategory::kMedications).note == "fetch timed out");
  BOOST_TEST(facts.warnings.empty());
}

BOOST_AUTO_TEST_CASE(resources_of_every_kind_are_read_from_any_input) {
  const PatientFacts facts = NormalizeTexts(
      {Bundle(
           {R"({"resourceType":"Condition","id":"c1","clinicalStatus":{"coding":[{"code":"active"}]}})",
            R"({"resourceType":"OperationOutcome","id":"oo"})"}),
       R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Mg"}})"});
  BOOST_TEST(facts.conditions.size() == 1u);
  BOOST_TEST(facts.observations.size() == 1u);
  BOOST_TEST(facts.warnings.empty());
}

BOOST_AUTO_TEST_CASE(non_object_inputs_and_invalid_refs_are_warnings) {
  auto array = testing::ParseOrFail("[1,2,3]");
  PatientFacts facts;
  Normalize({{FactCategory::kConditions, array->root()}, {FactCategory::kConditions, JsonRef()}},
            testing::AsOf(), {}, facts);
  BOOST_TEST(facts.warnings.size() == 2u);
  BOOST_TEST(HasWarning(facts, "input[0]: not a JSON object"));
  BOOST_TEST(HasWarning(facts, "input[1]: not a JSON object"));
}

BOOST_AUTO_TEST_CASE(garbage_bundle_entries_become_warnings_and_good_entries_are_read) {
  const PatientFacts facts = NormalizeText(ReadFixture("malformed_bundle.json"));
  BOOST_TEST_INFO("warnings:" << AllWarnings(facts));
  BOOST_TEST(HasWarning(facts, "Bundle/garbage entry[0]: not an object"));
  BOOST_TEST(HasWarning(facts, "Bundle/garbage entry[3]: not an object"));
  BOOST_TEST(HasWarning(facts, "Bundle/garbage entry[6]: not a JSON object"));
  BOOST_TEST(HasWarning(facts, "Bundle/garbage entry[7]: missing resourceType"));
  BOOST_TEST(HasWarning(facts, "Bundle/garbage entry[8]: resourceType is not a string"));
  BOOST_TEST(HasWarning(facts, "Bundle/inner: entry is not an array"));
  BOOST_TEST(HasWarning(facts, "MedicationRequest/(no id): id is not a string; skipped"));
  BOOST_TEST(HasWarning(facts, "Condition/bad-cond: code is not an object; skipped"));
  BOOST_TEST(HasWarning(facts, "Observation/bad-obs: valueQuantity is not an object; skipped"));
  BOOST_TEST(HasWarning(facts,
                        "MedicationRequest/good2: medicationReference target is malformed (code "
                        "is not an object); using its display"));
  BOOST_TEST(HasWarning(
      facts, "MedicationRequest/good3: authoredOn is not a valid FHIR dateTime; ignored"));
  BOOST_TEST(facts.warnings.size() == 13u);

  BOOST_TEST_REQUIRE(facts.medications.size() == 4u);
  BOOST_TEST(facts.medications[0].ref == "MedicationStatement/nested-good");
  BOOST_TEST(facts.medications[1].ref == "MedicationRequest/good1");
  BOOST_TEST(facts.medications[2].name == "pantoprazole 40 MG");
  BOOST_TEST(facts.medications[2].current);
  BOOST_TEST(!facts.medications[3].start.has_value());
  BOOST_TEST(facts.conditions.empty());
  BOOST_TEST(facts.observations.empty());
  BOOST_TEST(facts.patient_id == "p1");
}

// One resource per field that Normalize reads, each with that field of the
// wrong JSON type: every one is skipped with a warning naming the field.
BOOST_AUTO_TEST_CASE(wrong_json_type_in_any_read_field_skips_the_resource) {
  const std::string mr =
      R"("resourceType":"MedicationRequest","id":"m","status":"active","intent":"order")";
  const std::string med = R"("medicationCodeableConcept":{"text":"x"})";
  const std::string ms = R"("resourceType":"MedicationStatement","id":"s","status":"active")";
  const std::string cond = R"("resourceType":"Condition","id":"c")";
  const std::string obs = R"("resourceType":"Observation","id":"o","status":"final")";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{" + mr + R"(,"medicationCodeableConcept":"omeprazole"})",
       "MedicationRequest/m: medicationCodeableConcept is not an object; skipped"},
      {"{" + mr + R"(,"medicationReference":["Medication/1"]})",
       "MedicationRequest/m: medicationReference is not an object; skipped"},
      {"{" + mr + R"(,"medicationReference":{"reference":5}})",
       "MedicationRequest/m: medicationReference.reference is not a string; skipped"},
      {"{" + mr + R"(,"medicationReference":{"reference":"#x","display":false}})",
       "MedicationRequest/m: medicationReference.display is not a string; skipped"},
      {"{" + mr + "}", "MedicationRequest/m: medication[x] is missing; skipped"},
      {"{" + mr + R"(,"medicationCodeableConcept":{"coding":{"code":"1"}}})",
       "MedicationRequest/m: medicationCodeableConcept.coding is not an array; skipped"},
      {"{" + mr + R"(,"medicationCodeableConcept":{"coding":[7]}})",
       "MedicationRequest/m: medicationCodeableConcept.coding[0] is not an object; skipped"},
      {"{" + mr + R"(,"medicationCodeableConcept":{"coding":[{"code":7}]}})",
       "MedicationRequest/m: medicationCodeableConcept.coding[0].code is not a string; skipped"},
      {"{" + mr + R"(,"medicationCodeableConcept":{"text":["x"]}})",
       "MedicationRequest/m: medicationCodeableConcept.text is not a string; skipped"},
      {R"({"resourceType":"MedicationRequest","id":"m","status":1,"intent":"order",)" + med + "}",
       "MedicationRequest/m: status is not a string; skipped"},
      {R"({"resourceType":"MedicationRequest","id":"m","status":"active","intent":{},)" + med + "}",
       "MedicationRequest/m: intent is not a string; skipped"},
      {"{" + mr + "," + med + R"(,"doNotPerform":"true"})",
       "MedicationRequest/m: doNotPerform is not a boolean; skipped"},
      {"{" + mr + "," + med + R"(,"authoredOn":20240101})",
       "MedicationRequest/m: authoredOn is not a string; skipped"},
      {"{" + mr + "," + med + R"(,"dispenseRequest":[]})",
       "MedicationRequest/m: dispenseRequest is not an object; skipped"},
      {"{" + mr + "," + med + R"(,"dispenseRequest":{"validityPeriod":"2024"}})",
       "MedicationRequest/m: dispenseRequest.validityPeriod is not an object; skipped"},
      {"{" + mr + "," + med + R"(,"dispenseRequest":{"validityPeriod":{"end":5}}})",
       "MedicationRequest/m: dispenseRequest.validityPeriod.end is not a string; skipped"},
      {"{" + mr + "," + med + R"(,"dosageInstruction":{"route":{}}})",
       "MedicationRequest/m: dosageInstruction is not an array; skipped"},
      {"{" + mr + "," + med + R"(,"dosageInstruction":["oral"]})",
       "MedicationRequest/m: dosageInstruction[0] is not an object; skipped"},
      {"{" + mr + "," + med + R"(,"dosageInstruction":[{"route":"oral"}]})",
       "MedicationRequest/m: dosageInstruction[0].route is not an object; skipped"},
      {"{" + mr +
           R"(,"contained":[{"resourceType":"Medication","id":"x","ingredient":{}}],)"
           R"("medicationReference":{"reference":"#x","display":"d"}})",
       "MedicationRequest/m: medicationReference target is malformed (ingredient is not an "
       "array); using its display"},
      {"{" + ms + "," + med + R"(,"effectivePeriod":"2024"})",
       "MedicationStatement/s: effectivePeriod is not an object; skipped"},
      {"{" + ms + "," + med + R"(,"effectivePeriod":{"end":[]}})",
       "MedicationStatement/s: effectivePeriod.end is not a string; skipped"},
      {"{" + ms + "," + med + R"(,"effectiveDateTime":{}})",
       "MedicationStatement/s: effectiveDateTime is not a string; skipped"},
      {"{" + ms + "," + med + R"(,"dosage":[{"route":[]}]})",
       "MedicationStatement/s: dosage[0].route is not an object; skipped"},
      {"{" + cond + R"(,"clinicalStatus":"active"})",
       "Condition/c: clinicalStatus is not an object; skipped"},
      {"{" + cond + R"(,"verificationStatus":{"coding":[{"code":false}]}})",
       "Condition/c: verificationStatus.coding[0].code is not a string; skipped"},
      {"{" + cond + R"(,"category":{"coding":[]}})",
       "Condition/c: category is not an array; skipped"},
      {"{" + cond + R"(,"category":["problem-list-item"]})",
       "Condition/c: category[0] is not an object; skipped"},
      {"{" + cond + R"(,"abatementDateTime":2020})",
       "Condition/c: abatementDateTime is not a string; skipped"},
      {"{" + cond + R"(,"abatementPeriod":"2020"})",
       "Condition/c: abatementPeriod is not an object; skipped"},
      {"{" + cond + R"(,"onsetPeriod":{"start":1}})",
       "Condition/c: onsetPeriod.start is not a string; skipped"},
      {"{" + obs + R"(,"code":[]})", "Observation/o: code is not an object; skipped"},
      {R"({"resourceType":"Observation","id":"o","status":true})",
       "Observation/o: status is not a string; skipped"},
      {"{" + obs + R"(,"valueQuantity":{"value":1,"code":5}})",
       "Observation/o: valueQuantity.code is not a string; skipped"},
      {"{" + obs + R"(,"valueQuantity":{"value":1,"unit":{}}})",
       "Observation/o: valueQuantity.unit is not a string; skipped"},
      {"{" + obs + R"(,"valueQuantity":{"value":1,"comparator":1}})",
       "Observation/o: valueQuantity.comparator is not a string; skipped"},
      {"{" + obs + R"(,"effectivePeriod":[]})",
       "Observation/o: effectivePeriod is not an object; skipped"},
      {"{" + obs + R"(,"effectiveDateTime":1700000000})",
       "Observation/o: effectiveDateTime is not a string; skipped"},
      {"{" + obs + R"(,"issued":1700000000})", "Observation/o: issued is not a string; skipped"},
      {R"({"resourceType":"Patient","id":"p","gender":1})",
       "Patient/p: gender is not a string; skipped"},
      {R"({"resourceType":"Patient","id":"p","birthDate":true})",
       "Patient/p: birthDate is not a string; skipped"},
  };
  for (const auto& [text, warning] : cases) {
    BOOST_TEST_CONTEXT(text) {
      const PatientFacts facts = NormalizeText(text);
      BOOST_TEST(facts.warnings == std::vector<std::string>{warning});
      const bool skipped = warning.find("; skipped") != std::string::npos;
      const std::size_t read = facts.medications.size() + facts.conditions.size() +
                               facts.observations.size() + (facts.patient_id.empty() ? 0u : 1u);
      BOOST_TEST(read == (skipped ? 0u : 1u));
    }
  }
}

BOOST_AUTO_TEST_CASE(warnings_name_fields_never_values) {
  const PatientFacts facts = NormalizeText(Bundle(
      {R"({"resourceType":"Condition","id":"c","code":{"text":"Jane Doe's migraine","coding":"x"}})",
       R"({"resourceType":"MedicationRequest","id":"m","status":"active","intent":"order",
          "authoredOn":"Jane Doe","medicationCodeableConcept":{"text":"x"}})"}));
  BOOST_TEST_REQUIRE(facts.warnings.size() == 2u);
  for (const std::string& w : facts.warnings) BOOST_TEST(w.find("Jane") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
