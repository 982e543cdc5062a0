// Condition normalisation (§5.3), through Normalize.

#include <string>

#include <boost/test/unit_test.hpp>

#include "fhir/patient_facts.h"
#include "tests/fhir/fhir_test_util.h"

namespace cds::fhir {
namespace {

using testing::NormalizeText;

std::string Status(const std::string& field, const std::string& code) {
  const std::string system =
      field == "clinicalStatus" ? "condition-clinical" : "condition-ver-status";
  return R"(,")" + field + R"(":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/)" +
         system + R"(","code":")" + code + R"("}]})";
}

// A migraine Condition with the given extra members.
ConditionFact Read(const std::string& extra) {
  const PatientFacts facts = NormalizeText(
      R"({"resourceType":"Condition","id":"c1","code":{"coding":[{"system":"http://snomed.info/sct",)"
      R"("code":"37796009","display":"Migraine"}]})" +
      extra + "}");
  BOOST_TEST(facts.warnings.empty());
  BOOST_TEST_REQUIRE(facts.conditions.size() == 1u);
  return facts.conditions[0];
}

BOOST_AUTO_TEST_SUITE(ConditionStatus)

BOOST_AUTO_TEST_CASE(active_condition_is_current_with_name_and_onset) {
  const ConditionFact c =
      Read(Status("clinicalStatus", "active") + R"(,"onsetDateTime":"2019-04-01")");
  BOOST_TEST(c.current);
  BOOST_TEST(!c.unconfirmed);
  BOOST_TEST(c.ref == "Condition/c1");
  BOOST_TEST(c.name == "Migraine");
  BOOST_TEST(c.code.codings[0].code == "37796009");
  BOOST_TEST_REQUIRE(c.onset.has_value());
  BOOST_TEST(c.onset->date_text == "2019-04-01");
}

BOOST_AUTO_TEST_CASE(recurrence_and_relapse_are_current) {
  BOOST_TEST(Read(Status("clinicalStatus", "recurrence")).current);
  BOOST_TEST(Read(Status("clinicalStatus", "relapse")).current);
}

BOOST_AUTO_TEST_CASE(resolved_inactive_and_remission_are_not_current) {
  const ConditionFact resolved = Read(Status("clinicalStatus", "resolved"));
  BOOST_TEST(!resolved.current);
  BOOST_TEST(resolved.excluded_reason == "clinicalStatus resolved");
  BOOST_TEST(!Read(Status("clinicalStatus", "inactive")).current);
  BOOST_TEST(!Read(Status("clinicalStatus", "remission")).current);
}

BOOST_AUTO_TEST_CASE(abatement_in_the_past_wins_over_active_status) {
  const ConditionFact c =
      Read(Status("clinicalStatus", "active") + R"(,"abatementDateTime":"2025-06-30")");
  BOOST_TEST(!c.current);
  BOOST_TEST(c.excluded_reason == "abated 2025-06-30");
  const ConditionFact period =
      Read(Status("clinicalStatus", "active") + R"(,"abatementPeriod":{"end":"2025-07-01"})");
  BOOST_TEST(!period.current);
  const ConditionFact future =
      Read(Status("clinicalStatus", "active") + R"(,"abatementDateTime":"2027-01-01")");
  BOOST_TEST(future.current);
}

BOOST_AUTO_TEST_CASE(missing_clinical_status_counts_only_for_unabated_problem_list_items) {
  const std::string problem_list =
      R"(,"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category",)"
      R"("code":"problem-list-item"}]}])";
  const std::string encounter_diagnosis =
      R"(,"category":[{"coding":[{"code":"encounter-diagnosis"}]}])";
  BOOST_TEST(Read(problem_list).current);
  const ConditionFact encounter = Read(encounter_diagnosis);
  BOOST_TEST(!encounter.current);
  BOOST_TEST(encounter.excluded_reason == "no clinicalStatus, not a problem-list-item");
  const ConditionFact abated = Read(problem_list + R"(,"abatementString":"childhood")");
  BOOST_TEST(!abated.current);
  BOOST_TEST(abated.excluded_reason == "no clinicalStatus, abatement recorded");
}

BOOST_AUTO_TEST_CASE(refuted_is_never_current) {
  const ConditionFact c =
      Read(Status("clinicalStatus", "active") + Status("verificationStatus", "refuted"));
  BOOST_TEST(!c.current);
  BOOST_TEST(c.excluded_reason == "refuted");
}

BOOST_AUTO_TEST_CASE(entered_in_error_is_never_current) {
  const ConditionFact c =
      Read(Status("clinicalStatus", "active") + Status("verificationStatus", "entered-in-error"));
  BOOST_TEST(!c.current);
  BOOST_TEST(c.excluded_reason == "entered-in-error");
}

BOOST_AUTO_TEST_CASE(unconfirmed_and_differential_are_current_but_flagged) {
  const ConditionFact unconfirmed =
      Read(Status("clinicalStatus", "active") + Status("verificationStatus", "unconfirmed"));
  BOOST_TEST(unconfirmed.current);
  BOOST_TEST(unconfirmed.unconfirmed);
  const ConditionFact differential =
      Read(Status("clinicalStatus", "active") + Status("verificationStatus", "differential"));
  BOOST_TEST(differential.current);
  BOOST_TEST(differential.unconfirmed);
  const ConditionFact provisional =
      Read(Status("clinicalStatus", "active") + Status("verificationStatus", "provisional"));
  BOOST_TEST(provisional.current);
  BOOST_TEST(!provisional.unconfirmed);
}

BOOST_AUTO_TEST_CASE(onset_period_start_is_the_onset) {
  const ConditionFact c =
      Read(Status("clinicalStatus", "active") + R"(,"onsetPeriod":{"start":"2018-02"})");
  BOOST_TEST_REQUIRE(c.onset.has_value());
  BOOST_TEST(c.onset->date_text == "2018-02");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
