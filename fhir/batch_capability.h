#pragma once

// BatchCapability: which FHIR servers take a batch (fhir/batch_bundle.h), as
// learnt at run time, per base URL. Issue #18: the data gatherer sends one
// batch instead of a GET per query only to a server that declared the batch
// interaction in its CapabilityStatement and has not failed a batch since.
//
// - Use(base) for a base not known yet (or whose verdict is older than
//   `ttl`) starts one read of [base]/metadata through `client`, without the
//   patient's token (a CapabilityStatement is public: FHIR R4 http.html
//   #capabilities), and answers false; so does every Use until the answer is
//   in. No hook call waits for it, and it is not part of any call's record.
// - A probe that got no answer (network error, timeout) is retried after
//   `retry_after`, not after `ttl`.
// - A batch that fails as a whole (HTTP error, not a batch-response, or no
//   answer by the deadline) makes the base kDontUse for `ttl` (BatchFailed):
//   a server may declare batch and still refuse it, e.g. behind a
//   gateway, or hang on it.
// - A batch that fails for a reason that says nothing about batch support
//   (HTTP 429, 502, 503, 504, or the connection failed) makes the base
//   kDontUse for `retry_after` only, after which the
//   CapabilityStatement is read again: a server that was briefly overloaded
//   or restarting gets batches again within minutes, not after an hour.
//
// Thread-safety: all members may be called concurrently.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace cds::fhir {

class FhirClient;

class BatchCapability : public std::enable_shared_from_this<BatchCapability> {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { kUse, kDontUse, kProbe };

  // `client` (not owned) must outlive every probe's answer; the service's
  // RestFhirClient does. Make it with std::make_shared (probes hold a share).
  explicit BatchCapability(FhirClient* client, std::chrono::seconds ttl = std::chrono::hours(1),
                           std::chrono::seconds retry_after = std::chrono::minutes(1))
      : client_(client), ttl_(ttl), retry_after_(retry_after) {}

  // True when `base` takes batches now; starts the probe when it is due.
  bool Use(const std::string& base);

  // The state machine under Use: kProbe means "this caller must probe".
  Verdict Check(const std::string& base, Clock::time_point now = Clock::now());
  // What the probe (or a failed batch) showed.
  void Learn(const std::string& base, bool supported, Clock::time_point now = Clock::now());
  // The probe got no answer: ask again after retry_after.
  void ProbeFailed(const std::string& base, Clock::time_point now = Clock::now());
  // A batch to `base` failed as a whole (its HTTP status, 0 if none; whether
  // the deadline passed): Pause for a transient failure, else Learn(false).
  void BatchFailed(const std::string& base, int status, bool timed_out,
                   Clock::time_point now = Clock::now());

 private:
  struct Entry {
    bool known = false;
    bool supported = false;
    bool probing = false;
    Clock::time_point until;  // verdict (or the wait after a failed probe) holds until then
  };

  void Probe(const std::string& base);
  // No batches for retry_after, then probe again.
  void Pause(const std::string& base, Clock::time_point now);
  // A verdict on `base` that holds until `until`.
  void Settle(const std::string& base, bool supported, Clock::time_point until);

  FhirClient* const client_;
  const std::chrono::seconds ttl_;
  const std::chrono::seconds retry_after_;
  std::mutex mutex_;
  std::map<std::string, Entry> bases_;
};

}  // namespace cds::fhir
