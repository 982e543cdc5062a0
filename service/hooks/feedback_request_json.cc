// Parsing of feedback bodies (service/hooks/feedback_request.h).
#include <string>
#include <utility>

#include "common/json_internal.h"
#include "fhir/fhir_time.h"
#include "service/hooks/feedback_request.h"

namespace cds::service {
namespace {

Error Invalid(std::string message) { return Error{ErrorCode::kInvalidRequest, std::move(message)}; }

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

bool IsNonEmptyString(const rapidjson::Value* value) {
  return value != nullptr && value->IsString() && value->GetStringLength() > 0;
}

std::string Text(const rapidjson::Value& value) {
  return std::string(value.GetString(), value.GetStringLength());
}

// An optional string member no longer than `max`; "" when absent or null.
Status OptionalString(const rapidjson::Value& object, const char* name, const std::string& path,
                      std::size_t max, std::string& out) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || value->IsNull()) return OkStatus();
  if (!value->IsString()) return Invalid("'" + path + "." + name + "' must be a string");
  if (value->GetStringLength() > max) {
    return Invalid("'" + path + "." + name + "' is longer than " + std::to_string(max) +
                   " characters");
  }
  out = Text(*value);
  return OkStatus();
}

// CDS Hooks 2.0 §Overridden guidance: overrideReason {reason: Coding, userComment}.
Status ParseOverrideReason(const rapidjson::Value& value, const std::string& path,
                           FeedbackItem& item) {
  if (!value.IsObject()) return Invalid("'" + path + "' must be an object");
  const rapidjson::Value* reason = Member(value, "reason");
  if (reason != nullptr && !reason->IsNull()) {
    const std::string at = path + ".reason";
    if (!reason->IsObject()) return Invalid("'" + at + "' must be a Coding object");
    if (!IsNonEmptyString(Member(*reason, "code"))) {
      return Invalid("'" + at + ".code' must be a non-empty string");
    }
    for (const auto& [name, out] :
         {std::pair<const char*, std::string*>{"code", &item.override_code},
          {"system", &item.override_system},
          {"display", &item.override_display}}) {
      if (Status s = OptionalString(*reason, name, at, kMaxCodingFieldLength, *out); !s) return s;
    }
  }
  return OptionalString(value, "userComment", path, kMaxUserCommentLength, item.user_comment);
}

Result<FeedbackItem> ParseItem(const rapidjson::Value& value, const std::string& path) {
  if (!value.IsObject()) return Invalid("'" + path + "' must be an object");
  FeedbackItem item;
  const rapidjson::Value* card = Member(value, "card");
  if (!IsNonEmptyString(card)) return Invalid("'" + path + ".card' must be a non-empty string");
  item.card = Text(*card);
  if (item.card.size() > kMaxFeedbackIdLength) {
    return Invalid("'" + path + ".card' is longer than " + std::to_string(kMaxFeedbackIdLength) +
                   " characters");
  }

  const rapidjson::Value* outcome = Member(value, "outcome");
  if (!IsNonEmptyString(outcome)) {
    return Invalid("'" + path + ".outcome' must be a non-empty string");
  }
  item.outcome = Text(*outcome);
  if (item.outcome != "accepted" && item.outcome != "overridden") {
    return Invalid("'" + path + ".outcome' must be \"accepted\" or \"overridden\"");
  }

  const rapidjson::Value* accepted = Member(value, "acceptedSuggestions");
  if (accepted != nullptr && !accepted->IsNull()) {
    if (!accepted->IsArray()) return Invalid("'" + path + ".acceptedSuggestions' must be an array");
    for (const rapidjson::Value& suggestion : accepted->GetArray()) {
      const rapidjson::Value* id = suggestion.IsObject() ? Member(suggestion, "id") : nullptr;
      if (!IsNonEmptyString(id)) {
        return Invalid("'" + path + ".acceptedSuggestions[]' items must be {\"id\": string}");
      }
      if (id->GetStringLength() > kMaxFeedbackIdLength) {
        return Invalid("'" + path + ".acceptedSuggestions[].id' is longer than " +
                       std::to_string(kMaxFeedbackIdLength) + " characters");
      }
      item.accepted_suggestions.push_back(Text(*id));
    }
  }
  if (item.outcome == "accepted" && item.accepted_suggestions.empty()) {
    return Invalid("'" + path + ".acceptedSuggestions' is required when outcome is \"accepted\"");
  }

  const rapidjson::Value* reason = Member(value, "overrideReason");
  if (reason != nullptr && !reason->IsNull()) {
    if (Status s = ParseOverrideReason(*reason, path + ".overrideReason", item); !s) {
      return s.error();
    }
  }

  const rapidjson::Value* timestamp = Member(value, "outcomeTimestamp");
  if (!IsNonEmptyString(timestamp)) {
    return Invalid("'" + path + ".outcomeTimestamp' must be a non-empty string");
  }
  item.outcome_timestamp = Text(*timestamp);
  if (item.outcome_timestamp.find('T') == std::string::npos ||
      !fhir::ParseFhirDateTime(item.outcome_timestamp)) {
    return Invalid("'" + path + ".outcomeTimestamp' must be an RFC 3339 date-time");
  }
  return item;
}

}  // namespace

Result<FeedbackRequest> ParseFeedbackRequest(std::string_view body) {
  auto document = JsonDocument::Parse(body);
  if (!document) return document.error();
  const rapidjson::Value& root = json_internal::AsValue((*document)->root());
  if (!root.IsObject()) return Invalid("request body must be a JSON object");
  const rapidjson::Value* feedback = Member(root, "feedback");
  if (feedback == nullptr || feedback->IsNull()) {
    return Invalid("missing required field 'feedback'");
  }
  if (!feedback->IsArray()) return Invalid("'feedback' must be an array");
  if (feedback->Size() > kMaxFeedbackItems) {
    return Invalid("'feedback' has " + std::to_string(feedback->Size()) + " items; at most " +
                   std::to_string(kMaxFeedbackItems) + " per request");
  }
  FeedbackRequest request;
  rapidjson::SizeType index = 0;
  for (const rapidjson::Value& value : feedback->GetArray()) {
    auto item = ParseItem(value, "feedback[" + std::to_string(index++) + "]");
    if (!item) return item.error();
    request.items.push_back(std::move(item).value());
  }
  return request;
}

}  // namespace cds::service
