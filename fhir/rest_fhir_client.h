#pragma once

// RestFhirClient: the FhirClient on cpprestsdk's http_client (style §4.3; the
// only file that includes cpprest's client is rest_fhir_client.cc, and this
// header exposes none of its types).
//
// - One http_client per FHIR origin, kept for the client's lifetime, so
//   keep-alive connections are reused across requests (stack notes §3).
// - "Authorization: Bearer <token>" and "Accept: application/fhir+json".
// - TLS certificate and host-name verification stay on; `ca_file` adds a
//   private CA to the system roots; TLS 1.2 or later only.
// - Only URLs that `policy` allows are contacted: https (or http to a loopback
//   host when the policy allows it) to the origin of a configured base.
//   Anything else is answered at once with an error and no connection.
// - The total deadline of each Get is enforced here: cpprestsdk's timeout
//   applies per phase (resolve, connect, each read; stack notes §3), so one
//   timer thread cancels requests whose deadline passes and answers them with
//   timed_out. Callbacks never wait on a cpprestsdk pool thread.
// - Bodies over `max_body_bytes` (declared or as read) fail the request.
// - One retry when a request fails on a connection the server had closed
//   (stale keep-alive), if the deadline leaves time for it.
// - `log` is called once per Get with the log path (never the URL's query
//   values nor the token), status, time taken and error.
//
// Thread-safety: Get and Post may be called from any thread. Shutdown (and the
// destructor) answers requests still in flight with an error ("client shut
// down"), stops the timer thread and waits for callbacks that are running;
// from then on no callback runs at all (late cpprestsdk continuations and
// later Gets are dropped), so the owner may destroy what the callbacks touch
// (issue #12: shutdown order in `magcds serve`). Callbacks run inside
// cpprestsdk tasks; an exception they throw is caught and dropped.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "fhir/fhir_client.h"
#include "fhir/fhir_url.h"

namespace cds::fhir {

struct FhirGetLog {
  std::string log_path;  // FhirGet::log_path
  std::string origin;    // "https://ehr.example:443"
  int status = 0;
  long long elapsed_ms = 0;
  int attempts = 0;
  bool timed_out = false;
  std::string error;
};

struct RestFhirClientOptions {
  FhirServerPolicy policy;  // what may be contacted (see above)
  std::string ca_file;      // PEM CA bundle added to the system roots; "" = system only
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  // cpprestsdk's per-phase timeout, a backstop below the per-request deadline.
  std::chrono::milliseconds phase_timeout{5000};
  std::function<void(const FhirGetLog&)> log;  // optional
};

class RestFhirClient : public FhirClient {
 public:
  // kRuleConfig when `ca_file` cannot be loaded.
  static Result<std::unique_ptr<RestFhirClient>> Create(RestFhirClientOptions options);
  ~RestFhirClient() override;

  RestFhirClient(const RestFhirClient&) = delete;
  RestFhirClient& operator=(const RestFhirClient&) = delete;

  void Get(FhirGet request, Done done) override;
  // Same rules as Get (allowlist, deadline, size cap, one stale-connection retry).
  void Post(FhirPost request, Done done) override;

  // See above. Idempotent; call from a thread that is not a callback.
  void Shutdown();

  struct State;

 private:
  explicit RestFhirClient(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace cds::fhir
