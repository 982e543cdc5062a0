#pragma once

// FeedbackSink: where the CDS endpoints hand what the governance store keeps
// (issue #16): the cards of each service call as they are answered, and the
// feedback the EHR sends for them. HookHandler calls it; the real one
// (service/feedback/store_feedback_sink.h) queues to the store, off the response path.
//
// Thread-safety: both calls may come from any thread at once.

#include <functional>
#include <string>
#include <vector>

#include "cards/card.h"
#include "common/result.h"
#include "fhir/fhir_time.h"
#include "service/hooks/feedback_request.h"

namespace cds::service {

class FeedbackSink {
 public:
  virtual ~FeedbackSink() = default;

  // The cards just rendered for one service call. Must not block: the
  // response is sent right after. `patient_id` is the raw id: the sink keeps
  // only its keyed hash.
  virtual void CardsIssued(const std::string& service_id, const std::string& hook_instance,
                           const std::string& patient_id, const std::vector<cards::Card>& cards,
                           fhir::EpochSeconds issued_at) = 0;

  // Feedback for `service_id`, already validated. `done` is called exactly
  // once, possibly on another thread: Ok once stored, kUnavailable when the
  // store cannot take it now (the EHR may send it again; it is idempotent).
  virtual void FeedbackReceived(const std::string& service_id, FeedbackRequest feedback,
                                fhir::EpochSeconds received_at,
                                std::function<void(Status)> done) = 0;
};

}  // namespace cds::service
