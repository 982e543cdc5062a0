#include "service/hooks/feedback_request.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

namespace cds::service {
namespace {

struct FeedbackCase {
  const char* name;
  std::string body;
  const char* message_part;  // nullptr: valid
};

std::string ManyItems(int count) {
  std::string body = R"({"feedback":[)";
  for (int i = 0; i < count; ++i) {
    body += std::string(i ? "," : "") + R"({"card":"c)" + std::to_string(i) +
            R"(","outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31Z"})";
  }
  return body + "]}";
}
std::ostream& operator<<(std::ostream& out, const FeedbackCase& c) { return out << c.name; }

const FeedbackCase kCases[] = {
    {"accepted",
     R"({"feedback":[{"card":"c1","outcome":"accepted","acceptedSuggestions":[{"id":"s1"}],"outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     nullptr},
    {"overridden_without_reason",
     R"({"feedback":[{"card":"c1","outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     nullptr},
    {"overridden_reason_without_display",
     R"({"feedback":[{"card":"c1","outcome":"overridden","overrideReason":{"reason":{"system":"s","code":"c"},"userComment":"x"},"outcomeTimestamp":"2021-12-11T10:05:31Z","extension":{}}]})",
     nullptr},
    {"empty_list", R"({"feedback":[]})", nullptr},
    {"not_json", "{", "invalid JSON"},
    {"array_root", "[]", "must be a JSON object"},
    {"missing_feedback", "{}", "missing required field 'feedback'"},
    {"feedback_object", R"({"feedback":{}})", "'feedback' must be an array"},
    {"item_string", R"({"feedback":["x"]})", "'feedback[0]' must be an object"},
    {"missing_card",
     R"({"feedback":[{"outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].card'"},
    {"bad_outcome",
     R"({"feedback":[{"card":"c","outcome":"ignored","outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "must be \"accepted\" or \"overridden\""},
    {"accepted_without_suggestions",
     R"({"feedback":[{"card":"c","outcome":"accepted","outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].acceptedSuggestions' is required"},
    {"accepted_suggestion_without_id",
     R"({"feedback":[{"card":"c","outcome":"accepted","acceptedSuggestions":[{}],"outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "acceptedSuggestions[]"},
    {"missing_timestamp", R"({"feedback":[{"card":"c","outcome":"overridden"}]})",
     "'feedback[0].outcomeTimestamp'"},
    {"date_only_timestamp",
     R"({"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"2021-12-11"}]})",
     "RFC 3339"},
    {"reason_string",
     R"({"feedback":[{"card":"c","outcome":"overridden","overrideReason":"x","outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].overrideReason' must be an object"},
    // Issue #16: the override reason is kept, so its parts are checked too.
    {"reason_coding_string",
     R"({"feedback":[{"card":"c","outcome":"overridden","overrideReason":{"reason":"x"},"outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].overrideReason.reason' must be a Coding object"},
    {"reason_without_code",
     R"({"feedback":[{"card":"c","outcome":"overridden","overrideReason":{"reason":{"system":"s"}},"outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].overrideReason.reason.code'"},
    {"reason_code_number",
     R"({"feedback":[{"card":"c","outcome":"overridden","overrideReason":{"reason":{"code":5}},"outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].overrideReason.reason.code'"},
    {"comment_number",
     R"({"feedback":[{"card":"c","outcome":"overridden","overrideReason":{"userComment":1},"outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].overrideReason.userComment' must be a string"},
    {"second_item_named",
     R"({"feedback":[{"card":"a","outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31Z"},{"card":"b","outcome":"overridden","outcomeTimestamp":"x"}]})",
     "'feedback[1].outcomeTimestamp'"},
    {"card_too_long",
     R"({"feedback":[{"card":")" + std::string(129, 'a') +
         R"(","outcome":"overridden","outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].card' is longer than 128"},
    {"comment_too_long",
     R"({"feedback":[{"card":"c","outcome":"overridden","overrideReason":{"userComment":")" +
         std::string(1001, 'x') + R"("},"outcomeTimestamp":"2021-12-11T10:05:31Z"}]})",
     "'feedback[0].overrideReason.userComment' is longer than 1000"},
    {"too_many_items", ManyItems(101), "'feedback' has 101 items; at most 100 per request"},
    {"hundred_items", ManyItems(100), nullptr},
};

BOOST_AUTO_TEST_SUITE(FeedbackRequestParsing)

BOOST_DATA_TEST_CASE(feedback_shape_is_checked, boost::unit_test::data::make(kCases), c) {
  const Result<FeedbackRequest> parsed = ParseFeedbackRequest(c.body);
  if (c.message_part == nullptr) {
    BOOST_TEST(parsed.has_value(), (parsed ? "" : parsed.error().message));
  } else {
    BOOST_REQUIRE(!parsed);
    BOOST_TEST(static_cast<int>(parsed.error().code) ==
               static_cast<int>(ErrorCode::kInvalidRequest));
    BOOST_TEST(parsed.error().message.find(c.message_part) != std::string::npos,
               "message: " << parsed.error().message);
  }
}

BOOST_AUTO_TEST_CASE(override_reason_and_comment_are_kept) {
  const Result<FeedbackRequest> parsed = ParseFeedbackRequest(
      R"({"feedback":[{"card":"c1","outcome":"overridden","overrideReason":{"reason":{"system":"http://example.org/r","code":"already-taking-magnesium","display":"Already taking"},"userComment":"on oral Mg"},"outcomeTimestamp":"2021-12-11T10:05:31Z"}]})");
  BOOST_REQUIRE(parsed.has_value());
  const FeedbackItem& item = parsed->items.at(0);
  BOOST_TEST(item.override_system == "http://example.org/r");
  BOOST_TEST(item.override_code == "already-taking-magnesium");
  BOOST_TEST(item.override_display == "Already taking");
  BOOST_TEST(item.user_comment == "on oral Mg");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
