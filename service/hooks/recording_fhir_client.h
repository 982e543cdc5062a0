#pragma once

// RecordingFhirClient: a FhirClient decorator made for one service call. It
// passes every query to the real client and appends what happened (the log
// path, never the URL or token; status; outcome; time taken) to the
// request's RequestTrace, from which the metrics and the audit record are
// made. The FHIR code (fhir/) is not touched: this is the seam.
//
// Lifetime: the wrapped client must outlive every query; the decorator may
// be destroyed while queries are in flight (callbacks keep only the trace).
// Thread-safety: as the wrapped client.

#include <memory>
#include <string>

#include "fhir/fhir_client.h"
#include "service/hooks/request_trace.h"

namespace cds::service {

class RecordingFhirClient : public fhir::FhirClient {
 public:
  RecordingFhirClient(fhir::FhirClient* inner, std::shared_ptr<RequestTrace> trace)
      : inner_(inner), trace_(std::move(trace)) {}
  void Get(fhir::FhirGet request, Done done) override;
  void Post(fhir::FhirPost request, Done done) override;

 private:
  fhir::FhirClient* inner_;
  std::shared_ptr<RequestTrace> trace_;
};

// "ok" (2xx), "http_error" (any other status), "timeout", "network_error".
std::string FhirOutcome(const fhir::FhirResponse& response);

}  // namespace cds::service
