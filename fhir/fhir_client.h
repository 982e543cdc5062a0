#pragma once

// FhirClient: the seam between the data gatherer and the network (style §4.3).
// Std types only; the one real implementation is RestFhirClient
// (fhir/rest_fhir_client.h, cpprestsdk). DataGatherer issues every query of a
// hook request through it, in parallel, under one deadline.
//
// Contract of Get:
// - it never blocks: it starts the request and returns;
// - `done` is called exactly once, on any thread (possibly before Get returns,
//   e.g. for a URL the client refuses or a deadline already past), and at the
//   latest shortly after `request.deadline`, whatever the server does;
// - an HTTP answer of any status is a response (status != 0, body as read);
//   no answer at all (refused URL, connect error, reset, timeout, body over the
//   size cap) has status 0 and `error` set.
// Neither `error` nor any log line ever holds the bearer token or the URL's
// query values (they carry patient ids).
//
// Post (issue #18: one FHIR batch instead of a GET per query) has the same
// contract with a request body; a client that cannot POST answers at once
// with status 0 and an error, and the caller falls back to Gets.
//
// Thread-safety: Get and Post may be called from many threads at once.

#include <chrono>
#include <functional>
#include <string>
#include <utility>

namespace cds::fhir {

struct FhirGet {
  std::string url;           // absolute URL of the read or search
  std::string bearer_token;  // sent as "Authorization: Bearer <token>"; "" = none
  std::chrono::steady_clock::time_point deadline;  // answer (or give up) by then
  // What logs may show for this query: the prefetch template or a path with
  // PHI-bearing values replaced, e.g. "Observation?patient={{context.patientId}}&...".
  std::string log_path;
};

// A POST of `body` (Content-Type `content_type`), e.g. a FHIR batch Bundle to
// the server's base. The body may hold PHI: it is never logged.
struct FhirPost {
  std::string url;
  std::string body;
  std::string content_type = "application/fhir+json";
  std::string bearer_token;
  std::chrono::steady_clock::time_point deadline;
  std::string log_path;  // as FhirGet::log_path, e.g. "batch (5 queries)"
};

struct FhirResponse {
  int status = 0;            // HTTP status; 0 when no HTTP answer was had
  std::string body;          // the response body (possibly empty)
  std::string content_type;  // the Content-Type header value, "" if none
  std::string error;         // why there is no answer (status 0); no token, no PHI
  bool timed_out = false;    // the deadline passed before the answer was complete
};

class FhirClient {
 public:
  using Done = std::function<void(FhirResponse)>;
  virtual ~FhirClient() = default;
  virtual void Get(FhirGet request, Done done) = 0;
  // Default: this client cannot POST (demo and test clients).
  // By value as in every override, which keeps both; this one needs neither.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual void Post(FhirPost /*request*/, Done done) {
    FhirResponse response;
    response.error = "this FHIR client cannot POST";
    done(std::move(response));
  }
};

}  // namespace cds::fhir
