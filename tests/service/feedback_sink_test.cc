// Issue #16 at the HookHandler seam, without sockets or a database:
// - answered cards are handed to the FeedbackSink with their rule, ruleset,
//   service and hook instance (so feedback can be joined to its rule);
// - valid feedback reaches the sink and is answered 200 only once stored;
//   a store that cannot take it gives 503 with Retry-After; invalid
//   feedback never reaches the sink;
// - rule files can give a rule's card its overrideReasons (a Coding list),
//   which the card carries to the EHR; bad entries are load errors.

#include "service/hooks/feedback_sink.h"

#include <rapidjson/document.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "rules/loader.h"
#include "service/hooks/rule_set_holder.h"
#include "tests/service/handler_test_util.h"
#include "tests/support/rule_fixtures.h"
#include "tests/support/temp_ruleset.h"

namespace cds::service {
namespace {

using testing::Call;
using testing::FixedOptions;

class RecordingSink : public FeedbackSink {
 public:
  struct Issued {
    std::string service_id, hook_instance, patient_id;
    std::vector<cards::Card> cards;
  };
  void CardsIssued(const std::string& service_id, const std::string& hook_instance,
                   const std::string& patient_id, const std::vector<cards::Card>& cards,
                   fhir::EpochSeconds) override {
    std::lock_guard<std::mutex> lock(mutex);
    issued.push_back({service_id, hook_instance, patient_id, cards});
  }
  void FeedbackReceived(const std::string& service_id, FeedbackRequest feedback, fhir::EpochSeconds,
                        std::function<void(Status)> done) override {
    {
      std::lock_guard<std::mutex> lock(mutex);
      received.emplace_back(service_id, std::move(feedback));
    }
    if (available) {
      done(OkStatus());
    } else {
      done(Error{ErrorCode::kUnavailable, "the feedback store is unavailable"});
    }
  }

  std::mutex mutex;
  bool available = true;
  std::vector<Issued> issued;
  std::vector<std::pair<std::string, FeedbackRequest>> received;
};

std::string SampleRequest() {
  return cds::test::ReadText(std::string(CDS_TEST_DATA_DIR) +
                             "/requests/patient-view-ppi-cramps.json");
}

constexpr char kFeedbackPath[] = "/cds-services/magnesium-advisor/feedback";

// MG-01's card with two override reasons (local codes of a test code system).
constexpr char kReasons[] =
    R"("overrideReasons": [{"system": "http://example.org/magcds/override-reason", "code": "already-taking-magnesium", "display": "Patient already taking magnesium"},
                           {"system": "http://example.org/magcds/override-reason", "code": "not-clinically-relevant", "display": "Not clinically relevant"}],
    "suggestions": [)";

}  // namespace

BOOST_AUTO_TEST_SUITE(FeedbackSinkSeam)

BOOST_AUTO_TEST_CASE(answered_cards_reach_the_sink_with_their_rule) {
  RecordingSink sink;
  RuleSetHolder holder(testing::LoadShippedRules());
  HookHandlerOptions options = FixedOptions();
  options.feedback_sink = &sink;
  const HookHandler handler(holder, std::move(options));
  const HttpResponseView response =
      Call(handler, "POST", "/cds-services/magnesium-advisor", SampleRequest());
  BOOST_REQUIRE_EQUAL(response.status, 200);
  std::lock_guard<std::mutex> lock(sink.mutex);
  BOOST_REQUIRE(sink.issued.size() == 1u);
  const RecordingSink::Issued& issued = sink.issued[0];
  BOOST_TEST(issued.service_id == "magnesium-advisor");
  BOOST_TEST(issued.patient_id == "example");
  BOOST_TEST(!issued.hook_instance.empty());
  BOOST_REQUIRE(issued.cards.size() == 1u);
  BOOST_TEST(issued.cards[0].rule_id == "MG-01");
  BOOST_TEST(issued.cards[0].rule_version == "1.0.0");
  BOOST_TEST(issued.cards[0].ruleset_version == "1.0.0");
  BOOST_TEST(response.body.find(issued.cards[0].uuid) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(feedback_is_answered_after_the_sink_stored_it) {
  RecordingSink sink;
  RuleSetHolder holder(testing::LoadShippedRules());
  HookHandlerOptions options = FixedOptions();
  options.feedback_sink = &sink;
  const HookHandler handler(holder, std::move(options));
  const std::string body =
      R"({"feedback":[{"card":"c-1","outcome":"overridden","overrideReason":{"reason":{"system":"http://example.org/r","code":"not-clinically-relevant","display":"Not relevant"},"userComment":"seen by nephrology"},"outcomeTimestamp":"2026-11-22T10:00:00Z"}]})";
  HttpResponseView ok = Call(handler, "POST", kFeedbackPath, body);
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.body == "{}");
  {
    std::lock_guard<std::mutex> lock(sink.mutex);
    BOOST_REQUIRE(sink.received.size() == 1u);
    const FeedbackItem& item = sink.received[0].second.items.at(0);
    BOOST_TEST(sink.received[0].first == "magnesium-advisor");
    BOOST_TEST(item.override_code == "not-clinically-relevant");
    BOOST_TEST(item.override_system == "http://example.org/r");
    BOOST_TEST(item.override_display == "Not relevant");
    BOOST_TEST(item.user_comment == "seen by nephrology");
  }
  sink.available = false;
  HttpResponseView down = Call(handler, "POST", kFeedbackPath, body);
  BOOST_TEST(down.status == 503);
  BOOST_TEST(testing::HeaderOf(down, "Retry-After") == "5");
  BOOST_TEST(down.body.find("unavailable") != std::string::npos);
  // Invalid feedback is a 400 and never reaches the sink.
  HttpResponseView bad = Call(handler, "POST", kFeedbackPath, R"({"feedback":[{"card":"c"}]})");
  BOOST_TEST(bad.status == 400);
  std::lock_guard<std::mutex> lock(sink.mutex);
  BOOST_TEST(sink.received.size() == 2u);
}

BOOST_AUTO_TEST_CASE(override_reasons_from_the_rule_file_travel_on_the_card) {
  cds::test::TempRuleSet copy(std::string(CDS_RULES_DIR) + "/magnesium/1.0.0");
  // MG-01 is the first rule with suggestions in the file.
  copy.Replace("ruleset.json", R"("suggestions": [)", kReasons);
  auto loaded = rules::LoadRuleSet(copy.dir());
  BOOST_REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().message));
  const rules::Rule* mg01 = nullptr;
  for (const rules::Rule& rule : (*loaded)->rules) {
    if (rule.id == "MG-01") mg01 = &rule;
  }
  BOOST_REQUIRE(mg01 != nullptr);
  BOOST_REQUIRE(mg01->override_reasons.size() == 2u);
  BOOST_TEST(mg01->override_reasons[0].code == "already-taking-magnesium");

  RuleSetHolder holder(*loaded);
  const HookHandler handler(holder, FixedOptions());
  const HttpResponseView response =
      Call(handler, "POST", "/cds-services/magnesium-advisor", SampleRequest());
  BOOST_REQUIRE_EQUAL(response.status, 200);
  rapidjson::Document doc;
  doc.Parse(response.body.c_str());
  BOOST_REQUIRE(!doc.HasParseError());
  const rapidjson::Value& card = doc["cards"][0];
  BOOST_REQUIRE(card.HasMember("overrideReasons"));
  const rapidjson::Value& reasons = card["overrideReasons"];
  BOOST_REQUIRE(reasons.Size() == 2u);
  BOOST_TEST(std::string(reasons[1]["code"].GetString()) == "not-clinically-relevant");
  BOOST_TEST(std::string(reasons[1]["system"].GetString()) ==
             "http://example.org/magcds/override-reason");
  BOOST_TEST(std::string(reasons[1]["display"].GetString()) == "Not clinically relevant");
}

BOOST_AUTO_TEST_CASE(shipped_cards_have_no_override_reasons_and_bad_ones_fail_to_load) {
  // 1.0.0 is released and immutable: its cards carry none.
  RuleSetHolder holder(testing::LoadShippedRules());
  const HookHandler handler(holder, FixedOptions());
  const HttpResponseView response =
      Call(handler, "POST", "/cds-services/magnesium-advisor", SampleRequest());
  BOOST_TEST(response.body.find("overrideReasons") == std::string::npos);

  cds::test::TempRuleSet missing(std::string(CDS_RULES_DIR) + "/magnesium/1.0.0");
  missing.Replace(
      "ruleset.json", R"("suggestions": [)",
      R"("overrideReasons": [{"system": "http://example.org/r", "code": "x"}], "suggestions": [)");
  rules::LoadReport report = rules::LoadRuleSetReport(missing.dir());
  BOOST_TEST(report.rule_set == nullptr);
  std::string all;
  for (const auto& issue : report.errors) all += issue.ToString() + "\n";
  BOOST_TEST(all.find("overrideReasons") != std::string::npos, all);
  BOOST_TEST(all.find("display") != std::string::npos, all);

  cds::test::TempRuleSet duplicate(std::string(CDS_RULES_DIR) + "/magnesium/1.0.0");
  duplicate.Replace(
      "ruleset.json", R"("suggestions": [)",
      R"("overrideReasons": [{"system": "s", "code": "x", "display": "X"}, {"system": "s", "code": "x", "display": "Y"}], "suggestions": [)");
  rules::LoadReport dup_report = rules::LoadRuleSetReport(duplicate.dir());
  all.clear();
  for (const auto& issue : dup_report.errors) all += issue.ToString() + "\n";
  BOOST_TEST(all.find("duplicate override reason 'x'") != std::string::npos, all);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cds::service
