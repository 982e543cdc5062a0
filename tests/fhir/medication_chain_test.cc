#include <boost/test/unit_test.hpp>

#include "fhir/medication_internal.h"

namespace cds::fhir {
namespace {

constexpr EpochSeconds kDay = kSecondsPerDay;

MedicationFact Fact(const std::string& ref, const std::string& status, bool current,
                    EpochSeconds start, std::optional<EpochSeconds> end = std::nullopt,
                    std::string prior = "") {
  MedicationFact f;
  f.ref = ref;
  f.name = "omeprazole 20 MG Delayed Release Oral Capsule";
  f.code.codings.push_back({"http://www.nlm.nih.gov/research/umls/rxnorm", "198051", ""});
  f.status = status;
  f.current = current;
  f.start = FhirInstant{start, "x"};
  f.end = end;
  if (!prior.empty()) f.prior_refs.push_back(prior);
  return f;
}

BOOST_AUTO_TEST_SUITE(MedicationChains)

BOOST_AUTO_TEST_CASE(prior_prescription_carries_exposure_back_through_completed_orders) {
  std::vector<MedicationFact> meds{Fact("MedicationRequest/y1", "completed", false, 0 * kDay),
                                   Fact("MedicationRequest/y2", "completed", false, 365 * kDay,
                                        std::nullopt, "MedicationRequest/y1"),
                                   Fact("MedicationRequest/y3", "active", true, 730 * kDay,
                                        std::nullopt, "MedicationRequest/y2")};
  internal::ExtendThroughCompletedChains(meds, 30);
  BOOST_TEST(meds[2].start->seconds == 0);
  BOOST_TEST(meds[2].chained_refs.size() == 2u);
}

BOOST_AUTO_TEST_CASE(adjacent_completed_order_of_the_same_drug_continues_exposure) {
  std::vector<MedicationFact> meds{Fact("MedicationRequest/old", "completed", false, 0, 400 * kDay),
                                   Fact("MedicationRequest/new", "active", true, 420 * kDay)};
  internal::ExtendThroughCompletedChains(meds, 30);
  BOOST_TEST(meds[1].start->seconds == 0);
}

BOOST_AUTO_TEST_CASE(a_gap_longer_than_allowed_breaks_the_chain) {
  std::vector<MedicationFact> meds{Fact("MedicationRequest/old", "completed", false, 0, 300 * kDay),
                                   Fact("MedicationRequest/new", "active", true, 420 * kDay)};
  internal::ExtendThroughCompletedChains(meds, 30);
  BOOST_TEST(meds[1].start->seconds == 420 * kDay);
  BOOST_TEST(meds[1].chained_refs.empty());
}

BOOST_AUTO_TEST_CASE(stopped_or_other_drugs_never_chain) {
  std::vector<MedicationFact> meds{
      Fact("MedicationRequest/stopped", "stopped", false, 0, 410 * kDay),
      Fact("MedicationRequest/other", "completed", false, 0, 410 * kDay),
      Fact("MedicationRequest/new", "active", true, 420 * kDay)};
  meds[1].name = "pantoprazole 40 MG";
  meds[1].code.codings[0].code = "314200";
  internal::ExtendThroughCompletedChains(meds, 30);
  BOOST_TEST(meds[2].start->seconds == 420 * kDay);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
