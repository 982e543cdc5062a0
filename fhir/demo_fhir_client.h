#pragma once

// DemoFhirClient: a FhirClient that answers from a few example patients held in
// memory — the examples shipped with the ruleset. Used only when magcds runs on
// its embedded defaults (no config file) and a request names no fhirServer, so
// that the service can be tried without an EHR: a patient-view call carrying
// just context.patientId of an example patient gets that patient's cards.
// Never used with a configuration file; it serves no real patient data.
//
// Answers reads "<base>/Patient/<id>", "<base>/Medication/<id>" and searches
// "<base>/<Type>?patient=<id>..." (other parameters are ignored: normalisation
// applies the clinical filters) with a searchset Bundle; anything else is 404.
//
// Thread-safety: immutable after construction; Get may run concurrently and
// answers synchronously.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json_document.h"
#include "fhir/fhir_client.h"

namespace cds::fhir {

inline constexpr const char* kDemoFhirBase = "https://demo.magcds.invalid/fhir";

class DemoFhirClient : public FhirClient {
 public:
  // Each bundle holds one patient's resources (its Patient gives the id).
  // Bundles without a Patient are ignored.
  DemoFhirClient(
      const std::vector<std::pair<std::shared_ptr<const JsonDocument>, JsonRef>>& bundles);
  ~DemoFhirClient() override;

  void Get(FhirGet request, Done done) override;
  std::vector<std::string> PatientIds() const;
  bool HasPatient(const std::string& id) const;

 private:
  struct Data;
  std::unique_ptr<Data> data_;
};

}  // namespace cds::fhir
