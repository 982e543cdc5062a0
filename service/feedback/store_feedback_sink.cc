#include "service/feedback/store_feedback_sink.h"

#include <utility>

namespace cds::service {

void StoreFeedbackSink::CardsIssued(const std::string& service_id, const std::string& hook_instance,
                                    const std::string& patient_id,
                                    const std::vector<cards::Card>& cards,
                                    fhir::EpochSeconds issued_at) {
  const std::string patient_hash =
      hasher_ && !patient_id.empty() ? hasher_->Hash(patient_id) : std::string();
  std::vector<store::IssuedCard> records;
  records.reserve(cards.size());
  for (const cards::Card& card : cards) {
    store::IssuedCard record;
    record.card_uuid = card.uuid;
    record.service_id = service_id;
    record.rule_id = card.rule_id;
    record.rule_version = card.rule_version;
    record.ruleset_id = card.ruleset_id;
    record.ruleset_version = card.ruleset_version;
    record.indicator = rules::IndicatorName(card.indicator);
    record.hook_instance = hook_instance;
    record.patient_hash = patient_hash;
    record.issued_at = issued_at;
    records.push_back(std::move(record));
  }
  // A full queue drops and counts them (StoreWriter); the response goes out regardless.
  (void)writer_.SubmitIssued(std::move(records));
}

void StoreFeedbackSink::FeedbackReceived(const std::string& service_id, FeedbackRequest feedback,
                                         fhir::EpochSeconds received_at,
                                         std::function<void(Status)> done) {
  std::vector<store::FeedbackRecord> records;
  records.reserve(feedback.items.size());
  for (FeedbackItem& item : feedback.items) {
    store::FeedbackRecord record;
    record.service_id = service_id;
    record.card_uuid = std::move(item.card);
    record.outcome = std::move(item.outcome);
    record.outcome_timestamp = std::move(item.outcome_timestamp);
    record.accepted_suggestions = std::move(item.accepted_suggestions);
    record.override_system = std::move(item.override_system);
    record.override_code = std::move(item.override_code);
    record.override_display = std::move(item.override_display);
    record.user_comment = std::move(item.user_comment);
    record.received_at = received_at;
    records.push_back(std::move(record));
  }
  writer_.SubmitFeedback(
      std::move(records),
      [done = std::move(done)](const Result<std::vector<store::FeedbackStored>>& stored) {
        if (!stored) return done(stored.error());
        done(OkStatus());
      });
}

}  // namespace cds::service
