#pragma once

// The body of POST /cds-services/{id}/feedback (CDS Hooks 2.0 §Feedback,
// checklist §4): {"feedback": [{card, outcome, acceptedSuggestions?,
// overrideReason?, outcomeTimestamp}, ...]}. Parsed and checked here; kept
// by the governance store (service/store/, issue #16).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cds::service {

struct FeedbackItem {
  std::string card;                               // the card's uuid
  std::string outcome;                            // "accepted" | "overridden"
  std::vector<std::string> accepted_suggestions;  // suggestion uuids
  // overrideReason.reason (a Coding) and overrideReason.userComment; "" if absent.
  std::string override_system;
  std::string override_code;
  std::string override_display;
  std::string user_comment;
  std::string outcome_timestamp;  // RFC 3339 date-time
};

// Limits on one feedback body (documented in the README, "Card feedback"):
// longer values are a 400 naming the item and field, never silently cut.
inline constexpr std::size_t kMaxFeedbackItems = 100;
inline constexpr std::size_t kMaxFeedbackIdLength = 128;    // card and suggestion ids
inline constexpr std::size_t kMaxUserCommentLength = 1000;  // characters (bytes of UTF-8)
inline constexpr std::size_t kMaxCodingFieldLength = 256;   // reason system, code, display

struct FeedbackRequest {
  std::vector<FeedbackItem> items;
};

// kInvalidRequest when the body is not a JSON object with a `feedback` array
// of well-formed items: `card` and `outcomeTimestamp` (a date-time with a zone)
// are required; `outcome` is "accepted" or "overridden"; `accepted` needs a
// non-empty `acceptedSuggestions` array of {"id": string}; `overrideReason`, if
// sent, is an object {reason?: Coding with a non-empty code, userComment?:
// string}. At most kMaxFeedbackItems items; ids, codes and comments within the
// limits above. The message names the item and field ("'feedback[3].outcome'
// ..."). Unknown members are ignored.
Result<FeedbackRequest> ParseFeedbackRequest(std::string_view body);

}  // namespace cds::service
