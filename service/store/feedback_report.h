#pragma once

// The governance report (`magcds report feedback`): per rule and version,
// how many cards were issued, how much feedback came back, how often the card
// was accepted or overridden, which override reasons were given (most
// frequent first) and how many suggestions were taken. Built from the raw
// counts of either engine, so both report the same way.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "service/store/feedback_store.h"

namespace cds::service::store {

struct ReasonCount {
  std::string code;     // "" = overridden without a reason
  std::string display;  // as sent with the code (first one seen)
  std::int64_t count = 0;
};

struct RuleFeedback {
  std::string rule_id;       // "" for feedback on cards this store never saw issued
  std::string rule_version;  // "" likewise
  std::int64_t cards_issued = 0;
  std::int64_t feedback = 0;  // items received (accepted + overridden)
  std::int64_t accepted = 0;
  std::int64_t overridden = 0;
  std::int64_t suggestions_taken = 0;
  // accepted / (accepted + overridden); nullopt without feedback.
  std::optional<double> acceptance_rate;
  std::vector<ReasonCount> override_reasons;  // most frequent first, then by code

  bool unmatched() const { return rule_id.empty(); }
};

// Rows sorted by rule id, then version; the unmatched row (if any) last.
std::vector<RuleFeedback> BuildFeedbackReport(const ReportCounts& counts);

}  // namespace cds::service::store
