#include "service/hooks/recording_fhir_client.h"

#include <chrono>
#include <utility>

namespace cds::service {

std::string FhirOutcome(const fhir::FhirResponse& response) {
  if (response.timed_out) return "timeout";
  if (response.status == 0) return "network_error";
  if (response.status >= 200 && response.status < 300) return "ok";
  return "http_error";
}

void RecordingFhirClient::Get(fhir::FhirGet request, Done done) {
  const auto started = std::chrono::steady_clock::now();
  std::string path = request.log_path;
  // Captures only the trace: this decorator may be gone when the answer comes.
  inner_->Get(std::move(request), [trace = trace_, started, path = std::move(path),
                                   done = std::move(done)](fhir::FhirResponse response) {
    TracedFhirQuery query;
    query.path = path;
    query.status = response.status;
    query.outcome = FhirOutcome(response);
    query.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    trace->AddFhirQuery(std::move(query));
    done(std::move(response));
  });
}

}  // namespace cds::service
