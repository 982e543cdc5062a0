#include "fhir/batch_capability.h"

#include <utility>

#include "fhir/batch_bundle.h"
#include "fhir/fhir_client.h"

namespace cds::fhir {
namespace {

// How long the background read of a CapabilityStatement may take.
constexpr std::chrono::seconds kProbeTimeout{10};

}  // namespace

bool BatchCapability::Use(const std::string& base) {
  const Verdict verdict = Check(base);
  if (verdict == Verdict::kProbe) Probe(base);
  return verdict == Verdict::kUse;
}

void BatchCapability::Probe(const std::string& base) {
  if (client_ == nullptr) {
    Learn(base, false);
    return;
  }
  FhirGet get;
  get.url = base + "/metadata";
  get.deadline = Clock::now() + kProbeTimeout;
  get.log_path = "metadata (batch support)";
  // Holds a share: the answer may come after the hook call that started it.
  client_->Get(std::move(get), [self = shared_from_this(), base](const FhirResponse& response) {
    if (response.status == 0) {
      self->ProbeFailed(base);
    } else {
      self->Learn(base, CapabilityDeclaresBatch(response));
    }
  });
}

BatchCapability::Verdict BatchCapability::Check(const std::string& base, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = bases_[base];
  if (entry.probing) return Verdict::kDontUse;
  if (entry.until > now) {
    return entry.known && entry.supported ? Verdict::kUse : Verdict::kDontUse;
  }
  // Unknown, stale, or the wait after a failed probe is over: this caller
  // probes (and does not batch meanwhile); the others wait for its verdict.
  entry.probing = true;
  return Verdict::kProbe;
}

void BatchCapability::Learn(const std::string& base, bool supported, Clock::time_point now) {
  Settle(base, supported, now + ttl_);
}

void BatchCapability::BatchFailed(const std::string& base, int status, bool timed_out,
                                  Clock::time_point now) {
  // An overload or outage answer, or a dropped connection, says nothing about
  // batch support; a refusal, a wrong answer or a hang does.
  const bool transient = !timed_out && (status == 0 || status == 429 || status == 502 ||
                                        status == 503 || status == 504);
  if (transient) {
    Pause(base, now);
  } else {
    Learn(base, false, now);
  }
}

void BatchCapability::Pause(const std::string& base, Clock::time_point now) {
  Settle(base, false, now + retry_after_);
}

void BatchCapability::Settle(const std::string& base, bool supported, Clock::time_point until) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = bases_[base];
  entry.known = true;
  entry.supported = supported;
  entry.probing = false;
  entry.until = until;
}

void BatchCapability::ProbeFailed(const std::string& base, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = bases_[base];
  entry.probing = false;
  entry.until = now + retry_after_;
}

}  // namespace cds::fhir
