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

namespace {

// Wraps `done` to add the query's outcome to the trace. Captures only the
// trace: the decorator may be gone when the answer comes.
fhir::FhirClient::Done Traced(std::shared_ptr<RequestTrace> trace, std::string path,
                              fhir::FhirClient::Done done) {
  return [trace = std::move(trace), started = std::chrono::steady_clock::now(),
          path = std::move(path), done = std::move(done)](fhir::FhirResponse response) {
    TracedFhirQuery query;
    query.path = path;
    query.status = response.status;
    query.outcome = FhirOutcome(response);
    query.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    trace->AddFhirQuery(std::move(query));
    done(std::move(response));
  };
}

}  // namespace

void RecordingFhirClient::Get(fhir::FhirGet request, Done done) {
  std::string path = request.log_path;
  inner_->Get(std::move(request), Traced(trace_, std::move(path), std::move(done)));
}

void RecordingFhirClient::Post(fhir::FhirPost request, Done done) {
  std::string path = request.log_path;
  inner_->Post(std::move(request), Traced(trace_, std::move(path), std::move(done)));
}

}  // namespace cds::service
