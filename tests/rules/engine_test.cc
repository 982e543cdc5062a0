// Engine semantics on the shipped rules: three-valued logic, comparators,
// precedence and explain. Patients are small inline Bundles.

#include "rules/engine.h"

#include <algorithm>

#include <boost/test/unit_test.hpp>

#include "tests/support/rule_fixtures.h"

namespace cds {
namespace {

using fhir::FactCategory;
using rules::Truth;

const fhir::EpochSeconds kNow = test::At("2026-11-22T12:00:00Z");

std::string Med(const std::string& id, const std::string& rxnorm, const std::string& text,
                const std::string& status = "active", const std::string& authored = "2022-01-10") {
  return R"({"resource":{"resourceType":"MedicationRequest","id":")" + id + R"(","status":")" +
         status + R"(","intent":"order","authoredOn":")" + authored +
         R"(","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":")" +
         rxnorm + R"("}],"text":")" + text + R"("}}})";
}
std::string Cond(const std::string& id, const std::string& icd,
                 const std::string& verification = "confirmed") {
  return R"({"resource":{"resourceType":"Condition","id":")" + id +
         R"(","clinicalStatus":{"coding":[{"code":"active"}]},"verificationStatus":{"coding":[{"code":")" +
         verification +
         R"("}]},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":")" + icd +
         R"("}]}}})";
}
std::string Obs(const std::string& id, const std::string& loinc, const std::string& quantity,
                const std::string& date, const std::string& status = "final") {
  return R"({"resource":{"resourceType":"Observation","id":")" + id + R"(","status":")" + status +
         R"(","code":{"coding":[{"system":"http://loinc.org","code":")" + loinc +
         R"("}]},"effectiveDateTime":")" + date + R"(","valueQuantity":)" + quantity + "}}";
}
std::string Bundle(std::initializer_list<std::string> entries) {
  std::string out = R"({"resourceType":"Bundle","type":"collection","entry":[)";
  bool first = true;
  for (const auto& e : entries) {
    out += (first ? "" : ",") + e;
    first = false;
  }
  return out + "]}";
}

const std::string kPpi = Med("ppi", "7646", "omeprazole 20 mg");
const std::string kCramp = Cond("cramp", "R25.2");

struct Run {
  std::shared_ptr<const rules::RuleSet> rs = test::ShippedRules();
  rules::Evaluation evaluation;
  Run(const std::string& bundle, std::vector<FactCategory> not_obtained = {},
      std::vector<FactCategory> partial = {}, bool explain = false) {
    fhir::PatientFacts facts = test::FactsFromJson(bundle, kNow, not_obtained, partial);
    evaluation = rules::Evaluate(*rs, facts, kNow, rules::EvaluateOptions{explain});
  }
  const rules::RuleOutcome& Of(const std::string& id) const {
    return test::OutcomeOf(*rs, evaluation, id);
  }
  bool Fired(const std::string& id) const { return Of(id).fired; }
  std::string Explain(const std::string& id) const {
    std::string out;
    for (const auto& line : Of(id).explain) out += line + "\n";
    return out;
  }
};

BOOST_AUTO_TEST_SUITE(Engine)

BOOST_AUTO_TEST_CASE(absence_rules_are_unknown_when_observations_were_not_obtained) {
  Run run(Bundle({kPpi, kCramp, Med("cis", "2555", "cisplatin")}), {FactCategory::kObservations});
  for (const char* id : {"MG-01", "MG-05", "MG-13"}) {
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST(run.Of(id).truth == Truth::kUnknown);
      BOOST_TEST(!run.Fired(id));
    }
  }
}

BOOST_AUTO_TEST_CASE(absence_rules_are_unknown_when_observations_are_partial) {
  Run run(Bundle({kPpi, kCramp}), {}, {FactCategory::kObservations});
  BOOST_TEST(run.Of("MG-01").truth == Truth::kUnknown);
  BOOST_TEST(run.Of("MG-05").truth == Truth::kUnknown);
}

BOOST_AUTO_TEST_CASE(same_patient_with_complete_observations_fires) {
  Run run(Bundle({kPpi, kCramp}));
  BOOST_TEST(run.Fired("MG-01"));
  BOOST_TEST(run.Of("MG-01").indicator == rules::Indicator::kWarning);
  BOOST_TEST(run.Of("MG-05").replaced_by == run.rs->FindRule("MG-01"));
}

BOOST_AUTO_TEST_CASE(a_found_match_counts_even_when_another_part_is_unknown) {
  // advancedCkd = any(eGFR < 30, CKD 4/5 condition): the condition decides it even
  // though the eGFR could not be read.
  Run run(Bundle({Med("mgo", "6582", "magnesium oxide 400 MG Oral Tablet"), Cond("ckd", "N18.5")}),
          {FactCategory::kObservations});
  BOOST_TEST(run.Fired("MG-06"));
  BOOST_TEST(run.Of("MG-06").indicator == rules::Indicator::kWarning);
}

BOOST_AUTO_TEST_CASE(medications_not_obtained_make_no_magnesium_product_unknown) {
  Run run(Bundle({Cond("mig", "G43.909")}), {FactCategory::kMedications});
  BOOST_TEST(run.Of("MG-09").truth == Truth::kUnknown);
}

BOOST_AUTO_TEST_CASE(egfr_with_comparator_is_an_interval_not_a_value) {
  const std::string mgo = Med("mgo", "6582", "magnesium oxide 400 MG Oral Tablet");
  Run above(Bundle(
      {mgo,
       Obs("e1", "98979-8",
           R"({"value":60,"comparator":">","unit":"mL/min/{1.73_m2}","code":"mL/min/{1.73_m2}"})",
           "2026-10-01")}));
  BOOST_TEST(above.Of("MG-06").truth == Truth::kFalse);
  Run below(Bundle(
      {mgo,
       Obs("e1", "98979-8",
           R"({"value":15,"comparator":"<","unit":"mL/min/{1.73_m2}","code":"mL/min/{1.73_m2}"})",
           "2026-10-01")}));
  BOOST_TEST(below.Fired("MG-06"));
  Run straddles(Bundle(
      {mgo,
       Obs("e1", "98979-8",
           R"({"value":40,"comparator":"<","unit":"mL/min/{1.73_m2}","code":"mL/min/{1.73_m2}"})",
           "2026-10-01")}));
  BOOST_TEST(straddles.Of("MG-06").truth == Truth::kUnknown);
}

BOOST_AUTO_TEST_CASE(mg_thresholds_are_strict_at_the_boundaries) {
  auto mg = [](const std::string& mmol) {
    return Run(
        Bundle({Obs("m", "2601-3", R"({"value":)" + mmol + R"(,"unit":"mmol/L","code":"mmol/L"})",
                    "2026-11-01")}));
  };
  BOOST_TEST(!mg("0.70").Fired("MG-03"));
  BOOST_TEST(mg("0.69").Fired("MG-03"));
  BOOST_TEST(mg("0.69").Of("MG-03").indicator == rules::Indicator::kWarning);
  BOOST_TEST(mg("0.49").Of("MG-03").indicator == rules::Indicator::kCritical);
  BOOST_TEST(!mg("1.05").Fired("MG-12"));
  BOOST_TEST(mg("1.06").Of("MG-12").indicator == rules::Indicator::kWarning);
  BOOST_TEST(mg("2.0").Of("MG-12").indicator == rules::Indicator::kCritical);
}

BOOST_AUTO_TEST_CASE(precedence_mg01_replaces_mg02_and_names_the_diuretic) {
  Run run(Bundle({kPpi, kCramp, Med("furo", "4603", "furosemide 40 MG Oral Tablet")}));
  BOOST_TEST(run.Fired("MG-01"));
  BOOST_TEST(!run.Fired("MG-02"));
  BOOST_TEST(run.Of("MG-02").truth == Truth::kTrue);
  BOOST_TEST(run.Of("MG-02").replaced_by == run.rs->FindRule("MG-01"));
  BOOST_TEST(run.Of("MG-01").bound.count("diuretic") == 1u);
}

// The engine answers value-set membership from the loader's index; a rule set
// made some other way (no index) is indexed for the call and gives the same
// outcomes.
BOOST_AUTO_TEST_CASE(rule_set_without_the_loaders_index_evaluates_the_same) {
  const std::string bundle =
      Bundle({kPpi, kCramp, Med("furo", "4603", "furosemide 40 MG Oral Tablet")});
  Run loaded(bundle);
  rules::RuleSet copy = *loaded.rs;
  copy.value_set_index = rules::ValueSetIndex();
  BOOST_TEST_REQUIRE(copy.value_set_index.set_count() == 0u);
  const fhir::PatientFacts facts = test::FactsFromJson(bundle, kNow, {}, {});
  const rules::Evaluation evaluation = rules::Evaluate(copy, facts, kNow);
  BOOST_TEST_REQUIRE(evaluation.outcomes.size() == loaded.evaluation.outcomes.size());
  for (std::size_t i = 0; i < evaluation.outcomes.size(); ++i) {
    BOOST_TEST_CONTEXT(copy.rules[i].id) {
      BOOST_TEST(evaluation.outcomes[i].truth == loaded.evaluation.outcomes[i].truth);
      BOOST_TEST(evaluation.outcomes[i].fired == loaded.evaluation.outcomes[i].fired);
    }
  }
  BOOST_TEST(loaded.Fired("MG-01"));
}

BOOST_AUTO_TEST_CASE(precedence_mg10_replaces_mg03) {
  Run run(Bundle(
      {Med("dig", "3407", "digoxin 0.125 MG Oral Tablet"),
       Obs("m", "19123-9", R"({"value":1.3,"unit":"mg/dL","code":"mg/dL"})", "2026-11-10")}));
  BOOST_TEST(run.Fired("MG-10"));
  BOOST_TEST(!run.Fired("MG-03"));
  BOOST_TEST(run.Of("MG-10").indicator == rules::Indicator::kCritical);
}

BOOST_AUTO_TEST_CASE(red_flag_withholds_symptom_advice_but_not_safety_rules) {
  Run run(Bundle({kPpi, kCramp, Cond("ces", "G83.4", "unconfirmed")}));
  BOOST_TEST(run.Fired("MG-11"));
  BOOST_TEST(!run.Fired("MG-01"));
  BOOST_TEST(run.Of("MG-01").replaced_by == run.rs->FindRule("MG-11"));
  BOOST_TEST(run.Fired("MG-05"));  // safety: still fires once MG-01 is withheld
}

BOOST_AUTO_TEST_CASE(unconfirmed_symptom_does_not_trigger_advice) {
  Run run(Bundle({kPpi, Cond("cramp", "R25.2", "unconfirmed")}));
  BOOST_TEST(!run.Fired("MG-01"));
  BOOST_TEST(run.Fired("MG-05"));
}

BOOST_AUTO_TEST_CASE(explain_names_the_stopped_ppi_and_the_entered_in_error_result) {
  Run run(Bundle({Med("ppi", "7646", "omeprazole 20 mg", "stopped"), kCramp,
                  Obs("bad", "2601-3", R"({"value":0.4,"unit":"mmol/L","code":"mmol/L"})",
                      "2026-11-01", "entered-in-error")}),
          {}, {}, true);
  BOOST_TEST(!run.Fired("MG-01"));
  BOOST_TEST(!run.Fired("MG-03"));
  std::string mg01 = run.Explain("MG-01"), mg03 = run.Explain("MG-03");
  BOOST_TEST(mg01.find("MedicationRequest/ppi 'omeprazole 20 mg' not counted: status stopped") !=
                 std::string::npos,
             mg01);
  BOOST_TEST(mg03.find("Observation/bad excluded:") != std::string::npos, mg03);
  BOOST_TEST(mg03.find("entered-in-error") != std::string::npos, mg03);
}

BOOST_AUTO_TEST_CASE(rule_fires_only_on_true_and_reports_every_rule) {
  Run run(Bundle({}));
  BOOST_TEST(run.evaluation.outcomes.size() == run.rs->rules.size());
  BOOST_TEST(std::none_of(run.evaluation.outcomes.begin(), run.evaluation.outcomes.end(),
                          [](const rules::RuleOutcome& o) { return o.fired; }));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
