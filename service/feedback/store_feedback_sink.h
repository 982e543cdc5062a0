#pragma once

// StoreFeedbackSink: the FeedbackSink of `magcds serve` (issue #16). It turns
// answered cards and feedback into the governance store's records and hands
// them to the StoreWriter's queue: the patient id only as its keyed hash (no
// hash key configured: not kept at all), no card text, no clinical value.
//
// Thread-safety: as FeedbackSink.

#include <optional>

#include "service/hooks/feedback_sink.h"
#include "service/ops/audit_log.h"
#include "service/store/store_writer.h"

namespace cds::service {

class StoreFeedbackSink : public FeedbackSink {
 public:
  // `writer` is not owned and must outlive the sink.
  StoreFeedbackSink(store::StoreWriter& writer, std::optional<PatientHasher> hasher)
      : writer_(writer), hasher_(std::move(hasher)) {}

  void CardsIssued(const std::string& service_id, const std::string& hook_instance,
                   const std::string& patient_id, const std::vector<cards::Card>& cards,
                   fhir::EpochSeconds issued_at) override;
  void FeedbackReceived(const std::string& service_id, FeedbackRequest feedback,
                        fhir::EpochSeconds received_at, std::function<void(Status)> done) override;

 private:
  store::StoreWriter& writer_;
  const std::optional<PatientHasher> hasher_;
};

}  // namespace cds::service
