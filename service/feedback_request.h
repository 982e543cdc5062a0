#pragma once

// The body of POST /cds-services/{id}/feedback (CDS Hooks 2.0 §Feedback,
// checklist §4): {"feedback": [{card, outcome, acceptedSuggestions?,
// overrideReason?, outcomeTimestamp}, ...]}. Only the shape is checked;
// nothing is stored yet.

#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"

namespace cds::service {

struct FeedbackItem {
  std::string card;     // the card's uuid
  std::string outcome;  // "accepted" | "overridden"
  std::vector<std::string> accepted_suggestions;  // suggestion uuids
  std::string outcome_timestamp;                  // RFC 3339 date-time
};

struct FeedbackRequest {
  std::vector<FeedbackItem> items;
};

// kInvalidRequest when the body is not a JSON object with a `feedback` array
// of well-formed items: `card` and `outcomeTimestamp` (a date-time with a zone)
// are required; `outcome` is "accepted" or "overridden"; `accepted` needs a
// non-empty `acceptedSuggestions` array of {"id": string}; `overrideReason`, if
// sent, is an object. Unknown members are ignored.
Result<FeedbackRequest> ParseFeedbackRequest(std::string_view body);

}  // namespace cds::service
