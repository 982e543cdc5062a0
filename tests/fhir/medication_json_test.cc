// MedicationRequest / MedicationStatement normalisation (§5.2), through Normalize.

#include <string>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "fhir/patient_facts.h"
#include "tests/fhir/fhir_test_util.h"

namespace cds::fhir {
namespace {

namespace bdata = boost::unit_test::data;
using testing::Bundle;
using testing::NormalizeText;
using testing::NormalizeTexts;

constexpr const char* kOmeprazole =
    R"("medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm",)"
    R"("code":"198051","display":"omeprazole 20 MG Delayed Release Oral Capsule"}]})";

std::string Request(const std::string& id, const std::string& status, const std::string& intent,
                    const std::string& extra = "") {
  return R"({"resourceType":"MedicationRequest","id":")" + id + R"(","status":")" + status +
         R"(","intent":")" + intent + R"(","authoredOn":"2024-01-10",)" + kOmeprazole + extra + "}";
}

std::string Statement(const std::string& id, const std::string& status,
                      const std::string& extra = "") {
  return R"({"resourceType":"MedicationStatement","id":")" + id + R"(","status":")" + status +
         R"(",)" + kOmeprazole + extra + "}";
}

const MedicationFact& Only(const PatientFacts& facts) {
  BOOST_TEST_REQUIRE(facts.medications.size() == 1u);
  return facts.medications[0];
}

BOOST_AUTO_TEST_SUITE(MedicationRequestFilter)

BOOST_AUTO_TEST_CASE(active_order_is_current_with_name_start_and_code) {
  const PatientFacts facts = NormalizeText(Request("r1", "active", "order"));
  const MedicationFact& m = Only(facts);
  BOOST_TEST(m.current);
  BOOST_TEST(m.excluded_reason == "");
  BOOST_TEST(m.ref == "MedicationRequest/r1");
  BOOST_TEST(m.name == "omeprazole 20 MG Delayed Release Oral Capsule");
  BOOST_TEST_REQUIRE(m.code.codings.size() == 1u);
  BOOST_TEST(m.code.codings[0].code == "198051");
  BOOST_TEST_REQUIRE(m.start.has_value());
  BOOST_TEST(m.start->date_text == "2024-01-10");
  BOOST_TEST(facts.warnings.empty());
}

BOOST_AUTO_TEST_CASE(on_hold_request_is_still_part_of_the_regimen) {
  BOOST_TEST(Only(NormalizeText(Request("r1", "on-hold", "order"))).current);
}

BOOST_DATA_TEST_CASE(ended_or_invalid_status_is_excluded,
                     bdata::make({"stopped", "completed", "cancelled", "draft", "unknown"}),
                     status) {
  const PatientFacts facts = NormalizeText(Request("r1", status, "order"));
  BOOST_TEST(!Only(facts).current);
  BOOST_TEST(Only(facts).excluded_reason == std::string("status ") + status);
}

BOOST_AUTO_TEST_CASE(entered_in_error_request_is_excluded) {
  const PatientFacts facts = NormalizeText(Request("r1", "entered-in-error", "order"));
  BOOST_TEST(!Only(facts).current);
  BOOST_TEST(Only(facts).excluded_reason == "entered-in-error");
}

BOOST_DATA_TEST_CASE(order_intents_count,
                     bdata::make({"order", "original-order", "reflex-order", "filler-order",
                                  "instance-order", "plan"}),
                     intent) {
  BOOST_TEST(Only(NormalizeText(Request("r1", "active", intent))).current);
}

BOOST_AUTO_TEST_CASE(proposal_is_excluded_unless_the_site_opts_in) {
  const PatientFacts excluded = NormalizeText(Request("r1", "active", "proposal"));
  BOOST_TEST(!Only(excluded).current);
  BOOST_TEST(Only(excluded).excluded_reason == "intent proposal");

  NormalizeOptions options;
  options.count_proposal_intent = true;
  BOOST_TEST(Only(NormalizeText(Request("r1", "active", "proposal"), options)).current);
}

BOOST_AUTO_TEST_CASE(option_intent_is_excluded) {
  BOOST_TEST(Only(NormalizeText(Request("r1", "active", "option"))).excluded_reason ==
             "intent option");
}

BOOST_AUTO_TEST_CASE(do_not_perform_is_excluded) {
  const PatientFacts facts =
      NormalizeText(Request("r1", "active", "order", R"(,"doNotPerform":true)"));
  BOOST_TEST(!Only(facts).current);
  BOOST_TEST(Only(facts).excluded_reason == "doNotPerform");
  BOOST_TEST(
      Only(NormalizeText(Request("r2", "active", "order", R"(,"doNotPerform":false)"))).current);
}

BOOST_AUTO_TEST_CASE(validity_period_ended_in_the_past_is_excluded) {
  const PatientFacts facts = NormalizeText(Request(
      "r1", "active", "order", R"(,"dispenseRequest":{"validityPeriod":{"end":"2025-01-31"}})"));
  BOOST_TEST(!Only(facts).current);
  BOOST_TEST(Only(facts).excluded_reason == "ended 2025-01-31");
}

BOOST_AUTO_TEST_CASE(validity_period_ending_today_or_later_stays_current) {
  // as_of is 2026-11-22T12:00Z: a period that ends "2026-11-22" runs all day.
  BOOST_TEST(
      Only(NormalizeText(Request("r1", "active", "order",
                                 R"(,"dispenseRequest":{"validityPeriod":{"end":"2026-11-22"}})")))
          .current);
  BOOST_TEST(
      Only(NormalizeText(Request("r1", "active", "order",
                                 R"(,"dispenseRequest":{"validityPeriod":{"end":"2027-05-01"}})")))
          .current);
}

BOOST_AUTO_TEST_CASE(start_is_earliest_of_authored_on_and_validity_start) {
  const PatientFacts facts = NormalizeText(Request(
      "r1", "active", "order", R"(,"dispenseRequest":{"validityPeriod":{"start":"2023-06-01"}})"));
  BOOST_TEST_REQUIRE(Only(facts).start.has_value());
  BOOST_TEST(Only(facts).start->date_text == "2023-06-01");
}

BOOST_AUTO_TEST_CASE(missing_status_is_excluded_not_counted) {
  const PatientFacts facts =
      NormalizeText(R"({"resourceType":"MedicationRequest","id":"r1","intent":"order",)" +
                    std::string(kOmeprazole) + "}");
  BOOST_TEST(!Only(facts).current);
  BOOST_TEST(Only(facts).excluded_reason == "no status");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(MedicationStatementFilter)

BOOST_AUTO_TEST_CASE(active_statement_is_current_and_starts_at_effective_period_start) {
  const PatientFacts facts = NormalizeText(Statement(
      "s1", "active", R"(,"effectivePeriod":{"start":"2022-05-01"},"dateAsserted":"2020-01-01")"));
  BOOST_TEST(Only(facts).current);
  BOOST_TEST(Only(facts).ref == "MedicationStatement/s1");
  BOOST_TEST_REQUIRE(Only(facts).start.has_value());
  BOOST_TEST(Only(facts).start->date_text == "2022-05-01");
}

BOOST_AUTO_TEST_CASE(effective_date_time_is_the_start_and_date_asserted_is_not) {
  const PatientFacts with_effective =
      NormalizeText(Statement("s1", "active", R"(,"effectiveDateTime":"2021-02-03T08:00:00Z")"));
  BOOST_TEST_REQUIRE(Only(with_effective).start.has_value());
  BOOST_TEST(Only(with_effective).start->date_text == "2021-02-03");

  const PatientFacts asserted_only =
      NormalizeText(Statement("s2", "active", R"(,"dateAsserted":"2020-01-01")"));
  BOOST_TEST(!Only(asserted_only).start.has_value());
}

BOOST_DATA_TEST_CASE(finished_statements_are_excluded,
                     bdata::make({"completed", "stopped", "not-taken", "unknown"}), status) {
  const PatientFacts facts = NormalizeText(Statement("s1", status));
  BOOST_TEST(!Only(facts).current);
  BOOST_TEST(Only(facts).excluded_reason == std::string("status ") + status);
}

BOOST_AUTO_TEST_CASE(entered_in_error_statement_is_excluded) {
  BOOST_TEST(Only(NormalizeText(Statement("s1", "entered-in-error"))).excluded_reason ==
             "entered-in-error");
}

BOOST_AUTO_TEST_CASE(intended_counts_only_when_the_site_opts_in) {
  BOOST_TEST(Only(NormalizeText(Statement("s1", "intended"))).excluded_reason == "status intended");
  NormalizeOptions options;
  options.count_intended_statements = true;
  BOOST_TEST(Only(NormalizeText(Statement("s1", "intended"), options)).current);
}

BOOST_AUTO_TEST_CASE(on_hold_statement_counts_only_when_the_site_opts_in) {
  BOOST_TEST(!Only(NormalizeText(Statement("s1", "on-hold"))).current);
  NormalizeOptions options;
  options.count_on_hold_statements = true;
  BOOST_TEST(Only(NormalizeText(Statement("s1", "on-hold"), options)).current);
}

BOOST_AUTO_TEST_CASE(active_statement_with_end_in_the_past_is_not_current) {
  const PatientFacts facts = NormalizeText(
      Statement("s1", "active", R"(,"effectivePeriod":{"start":"2023-01-01","end":"2024-01-02"})"));
  BOOST_TEST(!Only(facts).current);
  BOOST_TEST(Only(facts).excluded_reason == "ended 2024-01-02");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(MedicationReference)

BOOST_AUTO_TEST_CASE(contained_reference_resolves_code_and_ingredients) {
  const PatientFacts facts = NormalizeText(R"({
    "resourceType": "MedicationRequest", "id": "r1", "status": "active", "intent": "order",
    "contained": [
      {"resourceType": "Medication", "id": "other", "code": {"text": "not this one"}},
      {"resourceType": "Medication", "id": "med1",
       "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "A02BC05"}]},
       "ingredient": [{"itemCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "283742", "display": "esomeprazole"}]}}]}
    ],
    "medicationReference": {"reference": "#med1", "display": "Nexium"}
  })");
  const MedicationFact& m = Only(facts);
  BOOST_TEST_REQUIRE(m.code.codings.size() == 1u);
  BOOST_TEST(m.code.codings[0].code == "A02BC05");
  BOOST_TEST_REQUIRE(m.ingredients.size() == 1u);
  BOOST_TEST(m.ingredients[0].codings[0].code == "283742");
  // No text or display on the code: the name comes from the first ingredient.
  BOOST_TEST(m.name == "esomeprazole");
  BOOST_TEST(facts.warnings.empty());
}

BOOST_AUTO_TEST_CASE(medication_id_reference_resolves_across_inputs) {
  const std::string medications = Bundle({Request("r1", "active", "order"),
                                          R"({"resourceType":"MedicationStatement","id":"s1",
      "status":"active","medicationReference":{"reference":"Medication/m7"}})"});
  const std::string other = Bundle({R"({"resourceType":"Medication","id":"m7",
      "code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"311277",
      "display":"lansoprazole 30 MG Delayed Release Oral Capsule"}]}})"});
  const PatientFacts facts = NormalizeTexts({medications, other});
  BOOST_TEST_REQUIRE(facts.medications.size() == 2u);
  const MedicationFact& s = facts.medications[1];
  BOOST_TEST(s.ref == "MedicationStatement/s1");
  BOOST_TEST_REQUIRE(s.code.codings.size() == 1u);
  BOOST_TEST(s.code.codings[0].code == "311277");
  BOOST_TEST(s.name == "lansoprazole 30 MG Delayed Release Oral Capsule");
  BOOST_TEST((s.route == Route::kOral));
}

BOOST_AUTO_TEST_CASE(full_url_references_resolve) {
  const std::string bundle = R"({"resourceType":"Bundle","type":"collection","entry":[
    {"fullUrl":"urn:uuid:0b4f","resource":{"resourceType":"Medication",
      "code":{"text":"furosemide 40 MG Oral Tablet"}}},
    {"fullUrl":"https://ehr.example/fhir/Medication/m9","resource":{"resourceType":"Medication",
      "id":"m9","code":{"text":"digoxin 0.125 MG Oral Tablet"}}},
    {"resource":{"resourceType":"MedicationRequest","id":"r1","status":"active","intent":"order",
      "medicationReference":{"reference":"urn:uuid:0b4f"}}},
    {"resource":{"resourceType":"MedicationRequest","id":"r2","status":"active","intent":"order",
      "medicationReference":{"reference":"https://ehr.example/fhir/Medication/m9/_history/3"}}},
    {"resource":{"resourceType":"MedicationRequest","id":"r3","status":"active","intent":"order",
      "medicationReference":{"reference":"Medication/m9"}}}
  ]})";
  const PatientFacts facts = NormalizeText(bundle);
  BOOST_TEST_REQUIRE(facts.medications.size() == 2u);  // r2 and r3 name the same drug: merged
  BOOST_TEST(facts.medications[0].name == "furosemide 40 MG Oral Tablet");
  BOOST_TEST(facts.medications[1].name == "digoxin 0.125 MG Oral Tablet");
  BOOST_TEST(facts.medications[1].ref == "MedicationRequest/r2");
  BOOST_TEST(facts.medications[1].merged_refs == std::vector<std::string>{"MedicationRequest/r3"});
}

BOOST_AUTO_TEST_CASE(unresolvable_reference_falls_back_to_display) {
  const PatientFacts facts = NormalizeText(R"({"resourceType":"MedicationStatement","id":"s1",
      "status":"active","medicationReference":{"reference":"Medication/missing",
      "display":"Mag-Ox 400 MG Oral Tablet"}})");
  const MedicationFact& m = Only(facts);
  BOOST_TEST(m.code.codings.empty());
  BOOST_TEST(m.code.text == "Mag-Ox 400 MG Oral Tablet");
  BOOST_TEST(m.name == "Mag-Ox 400 MG Oral Tablet");
  BOOST_TEST(m.current);
}

BOOST_AUTO_TEST_CASE(contained_reference_is_not_resolved_from_another_resource) {
  const PatientFacts facts = NormalizeText(Bundle(
      {R"({"resourceType":"MedicationRequest","id":"r1","status":"active","intent":"order",
          "contained":[{"resourceType":"Medication","id":"m","code":{"text":"omeprazole"}}],
          "medicationCodeableConcept":{"text":"omeprazole"}})",
       R"({"resourceType":"MedicationRequest","id":"r2","status":"completed","intent":"order",
          "medicationReference":{"reference":"#m","display":"unknown drug"}})"}));
  BOOST_TEST_REQUIRE(facts.medications.size() == 2u);
  BOOST_TEST(facts.medications[1].name == "unknown drug");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(MedicationMerge)

BOOST_AUTO_TEST_CASE(request_and_statement_for_same_code_merge_with_earliest_start) {
  const PatientFacts facts = NormalizeText(
      Bundle({Request("r1", "active", "order"),
              Statement("s1", "active", R"(,"effectivePeriod":{"start":"2021-03-04"})")}));
  const MedicationFact& m = Only(facts);
  BOOST_TEST(m.current);
  BOOST_TEST(m.ref == "MedicationRequest/r1");
  BOOST_TEST(m.merged_refs == std::vector<std::string>{"MedicationStatement/s1"});
  BOOST_TEST_REQUIRE(m.start.has_value());
  BOOST_TEST(m.start->date_text == "2021-03-04");
}

BOOST_AUTO_TEST_CASE(same_normalised_name_merges_without_codes) {
  const PatientFacts facts =
      NormalizeText(Bundle({R"({"resourceType":"MedicationStatement","id":"s1","status":"active",
          "medicationCodeableConcept":{"text":"Magnesium  Glycinate "}})",
                            R"({"resourceType":"MedicationStatement","id":"s2","status":"active",
          "effectiveDateTime":"2020-01-01",
          "medicationCodeableConcept":{"text":"magnesium glycinate"}})",
                            R"({"resourceType":"MedicationStatement","id":"s3","status":"active",
          "medicationCodeableConcept":{"text":"magnesium citrate"}})"}));
  BOOST_TEST_REQUIRE(facts.medications.size() == 2u);
  BOOST_TEST(facts.medications[0].merged_refs ==
             std::vector<std::string>{"MedicationStatement/s2"});
  BOOST_TEST(facts.medications[0].start->date_text == "2020-01-01");
  BOOST_TEST(facts.medications[1].ref == "MedicationStatement/s3");
}

BOOST_AUTO_TEST_CASE(excluded_records_are_not_merged_into_current_ones) {
  const PatientFacts facts =
      NormalizeText(Bundle({Request("r1", "stopped", "order"), Request("r2", "active", "order"),
                            Statement("s1", "completed")}));
  BOOST_TEST_REQUIRE(facts.medications.size() == 3u);
  BOOST_TEST(!facts.medications[0].current);
  BOOST_TEST(facts.medications[1].current);
  BOOST_TEST(facts.medications[1].merged_refs.empty());
  BOOST_TEST(!facts.medications[2].current);
}

BOOST_AUTO_TEST_CASE(same_resource_in_two_inputs_is_read_once) {
  const PatientFacts facts = NormalizeTexts(
      {Request("r1", "active", "order"), Bundle({Request("r1", "active", "order")})});
  BOOST_TEST(Only(facts).merged_refs.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(MedicationRouteFromDosage)

BOOST_AUTO_TEST_CASE(snomed_route_code_wins_over_the_name) {
  const PatientFacts facts = NormalizeText(R"({"resourceType":"MedicationRequest","id":"r1",
      "status":"active","intent":"order",
      "medicationCodeableConcept":{"text":"magnesium sulfate 500 MG/ML Injectable Solution"},
      "dosageInstruction":[{"route":{"coding":[{"system":"http://snomed.info/sct",
        "code":"78421000","display":"Intramuscular route"}]}}]})");
  BOOST_TEST((Only(facts).route == Route::kIntramuscular));
}

BOOST_AUTO_TEST_CASE(statement_dosage_route_is_read) {
  const PatientFacts facts = NormalizeText(Statement(
      "s1", "active",
      R"(,"dosage":[{"route":{"coding":[{"system":"http://snomed.info/sct","code":"47625008"}]}}])"));
  BOOST_TEST((Only(facts).route == Route::kIntravenous));
}

BOOST_AUTO_TEST_CASE(route_inferred_from_scd_name_when_no_dosage_route) {
  const PatientFacts facts = NormalizeText(
      Bundle({R"({"resourceType":"MedicationStatement","id":"s1","status":"active",
          "medicationCodeableConcept":{"text":"magnesium oxide 400 MG Oral Tablet"}})",
              R"({"resourceType":"MedicationRequest","id":"r1","status":"active","intent":"order",
          "medicationCodeableConcept":{"text":"magnesium sulfate 500 MG/ML Injectable Solution"}})",
              R"({"resourceType":"MedicationStatement","id":"s2","status":"active",
          "medicationCodeableConcept":{"text":"Epsom salt bath"}})"}));
  BOOST_TEST_REQUIRE(facts.medications.size() == 3u);
  BOOST_TEST((facts.medications[0].route == Route::kOral));
  BOOST_TEST((facts.medications[1].route == Route::kIntravenous));
  BOOST_TEST((facts.medications[2].route == Route::kTopical));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
