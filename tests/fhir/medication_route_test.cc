#include <string>

#include <boost/test/unit_test.hpp>

#include "fhir/medication_internal.h"

namespace cds::fhir::internal {
namespace {

CodeableConcept Coded(const std::string& system, const std::string& code) {
  return CodeableConcept{{Coding{system, code, ""}}, ""};
}

CodeableConcept Text(const std::string& text) { return CodeableConcept{{}, text}; }

BOOST_AUTO_TEST_SUITE(MedicationRoute)

BOOST_AUTO_TEST_CASE(snomed_route_codes_map) {
  const std::string sct = "http://snomed.info/sct";
  BOOST_TEST((RouteFromConcept(Coded(sct, "26643006")) == Route::kOral));
  BOOST_TEST((RouteFromConcept(Coded(sct, "47625008")) == Route::kIntravenous));
  BOOST_TEST((RouteFromConcept(Coded(sct, "78421000")) == Route::kIntramuscular));
  BOOST_TEST((RouteFromConcept(Coded(sct, "34206005")) == Route::kSubcutaneous));
  BOOST_TEST((RouteFromConcept(Coded(sct, "6064005")) == Route::kTopical));
  BOOST_TEST((RouteFromConcept(Coded(sct, "37161004")) == Route::kRectal));
  BOOST_TEST((RouteFromConcept(Coded(sct, "447694001")) == Route::kInhalation));
  // A route we do not distinguish (sublingual) is "other", not inferred from the name.
  BOOST_TEST((RouteFromConcept(Coded(sct, "37839007")) == Route::kOther));
}

BOOST_AUTO_TEST_CASE(hl7_v3_route_codes_map) {
  const std::string v3 = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration";
  BOOST_TEST((RouteFromConcept(Coded(v3, "PO")) == Route::kOral));
  BOOST_TEST((RouteFromConcept(Coded(v3, "IV")) == Route::kIntravenous));
  BOOST_TEST((RouteFromConcept(Coded(v3, "IM")) == Route::kIntramuscular));
  BOOST_TEST((RouteFromConcept(Coded(v3, "SQ")) == Route::kSubcutaneous));
  BOOST_TEST((RouteFromConcept(Coded(v3, "SC")) == Route::kSubcutaneous));
  BOOST_TEST((RouteFromConcept(Coded(v3, "TOP")) == Route::kTopical));
  BOOST_TEST((RouteFromConcept(Coded(v3, "PR")) == Route::kRectal));
  BOOST_TEST((RouteFromConcept(Coded(v3, "RECTAL")) == Route::kRectal));
}

BOOST_AUTO_TEST_CASE(route_text_maps) {
  BOOST_TEST((RouteFromConcept(Text("By mouth")) == Route::kOral));
  BOOST_TEST((RouteFromConcept(Text("Oral")) == Route::kOral));
  BOOST_TEST((RouteFromConcept(Text("intravenous")) == Route::kIntravenous));
  BOOST_TEST((RouteFromConcept(Text("Topical")) == Route::kTopical));
  BOOST_TEST((RouteFromConcept(Text("Respiratory tract route")) == Route::kInhalation));
  BOOST_TEST((RouteFromConcept(Text("per the nurse")) == Route::kOther));
  BOOST_TEST((RouteFromConcept(CodeableConcept{}) == Route::kUnknown));
}

BOOST_AUTO_TEST_CASE(route_inferred_from_clinical_drug_names) {
  BOOST_TEST((RouteFromName("magnesium oxide 400 MG Oral Tablet") == Route::kOral));
  BOOST_TEST(
      (RouteFromName("magnesium sulfate 500 MG/ML Injectable Solution") == Route::kIntravenous));
  BOOST_TEST((RouteFromName("Epsom salt bath") == Route::kTopical));
  BOOST_TEST((RouteFromName("omeprazole 20 MG Delayed Release Oral Capsule") == Route::kOral));
  BOOST_TEST(
      (RouteFromName("calcium carbonate / magnesium hydroxide Chewable Tablet") == Route::kOral));
  BOOST_TEST((RouteFromName("pantoprazole 40 MG Injection") == Route::kIntravenous));
  BOOST_TEST((RouteFromName("magnesium citrate enema") == Route::kRectal));
  BOOST_TEST((RouteFromName("bisacodyl 10 MG Rectal Suppository") == Route::kRectal));
  BOOST_TEST((RouteFromName("magnesium Topical Gel") == Route::kTopical));
  BOOST_TEST((RouteFromName("lidocaine Oral Gel") == Route::kOral));
  BOOST_TEST((RouteFromName("magnesium glycinate") == Route::kUnknown));
  // R9: route abbreviations in free text, and non-systemic dose forms.
  BOOST_TEST((RouteFromName("magnesium sulfate 2 g IV") == Route::kIntravenous));
  BOOST_TEST((RouteFromName("gentamicin 80 mg IM") == Route::kIntramuscular));
  BOOST_TEST(
      (RouteFromName("magnesium sulfate 2 g IV Injectable Solution") == Route::kIntravenous));
  BOOST_TEST((RouteFromName("tobramycin 300 MG/5ML Inhalation Solution") == Route::kInhalation));
  BOOST_TEST((RouteFromName("BSS Irrigation Solution") == Route::kOther));
  BOOST_TEST((RouteFromName("Epsom salt foot soak") == Route::kTopical));
  BOOST_TEST((RouteFromName("Epsom salt") == Route::kUnknown));
  // Word matching: "angel" and "tabletop" are not dose forms.
  BOOST_TEST((RouteFromName("angel tabletop") == Route::kUnknown));
}

BOOST_AUTO_TEST_CASE(normalized_name_lowercases_and_collapses_whitespace) {
  BOOST_TEST(NormalizedName("  Omeprazole \t 20   MG ") == "omeprazole 20 mg");
  BOOST_TEST(NormalizedName("") == "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(MedicationMergeDirect)

MedicationFact Fact(const std::string& ref, const std::string& name, const std::string& code,
                    bool current, std::optional<EpochSeconds> start = std::nullopt) {
  MedicationFact m;
  m.ref = ref;
  m.name = name;
  if (!code.empty())
    m.code.codings.push_back({"http://www.nlm.nih.gov/research/umls/rxnorm", code, ""});
  m.current = current;
  if (start) m.start = FhirInstant{*start, "x"};
  return m;
}

BOOST_AUTO_TEST_CASE(merge_is_transitive_and_keeps_first_position) {
  // a~c by code, c~b by name: all three are one drug.
  std::vector<MedicationFact> in{
      Fact("a", "Omeprazole", "7646", true, 300), Fact("x", "other", "1", true),
      Fact("b", "omeprazole 20", "", true, 100), Fact("c", "OMEPRAZOLE 20", "7646", true, 200)};
  const auto out = MergeCurrentMedications(in);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  BOOST_TEST(out[0].ref == "a");
  BOOST_TEST((out[0].merged_refs == std::vector<std::string>{"b", "c"}));
  BOOST_TEST(out[0].start->seconds == 100);
  BOOST_TEST(out[1].ref == "x");
}

BOOST_AUTO_TEST_CASE(codes_without_system_or_empty_names_never_match) {
  MedicationFact a = Fact("a", "", "", true);
  MedicationFact b = Fact("b", "", "", true);
  a.code.codings.push_back({"", "7646", ""});
  b.code.codings.push_back({"", "7646", ""});
  BOOST_TEST(MergeCurrentMedications({a, b}).size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir::internal
