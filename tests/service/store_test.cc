// The governance store (issue #16) as a unit: every case runs against both
// engines, SQLite in a temp file and a real PostgreSQL server this test
// starts itself (tests/support/postgres_cluster.h); and the StoreWriter's
// queue, drop and recovery rules against a store that can be switched off.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "service/store/feedback_report.h"
#include "service/store/feedback_store.h"
#include "service/store/store_writer.h"
#include "tests/support/child_process.h"
#include "tests/support/postgres_cluster.h"

namespace cds::service::store {
namespace {

using namespace std::chrono_literals;

// One PostgreSQL server for the whole test program, started on first use.
cds::testing::PostgresCluster& Postgres() {
  static std::unique_ptr<cds::testing::PostgresCluster> cluster = [] {
    std::string error;
    auto started = cds::testing::PostgresCluster::Start(&error);
    if (!started) BOOST_FAIL("cannot start PostgreSQL: " + error);
    return started;
  }();
  return *cluster;
}

// A fresh, empty store of `engine` per call; `reopen` returns another store on
// the same data (a restart).
struct TestStore {
  std::string engine;
  std::string dir;
  std::string location;  // file path or connection string

  explicit TestStore(const std::string& which) : engine(which) {
    static std::atomic<int> counter{0};
    dir = cds::testing::MakeTempDir("magcds-store");
    if (engine == "sqlite") {
      location = dir + "/test.db";
    } else {
      location = Postgres().CreateDatabase("t" + std::to_string(::getpid()) + "_" +
                                           std::to_string(counter++));
    }
  }
  ~TestStore() { cds::testing::RemoveTree(dir); }

  std::unique_ptr<FeedbackStore> Open() const {
    Result<std::unique_ptr<FeedbackStore>> store =
        engine == "sqlite" ? OpenSqliteStore(SqliteOptions{location, 5000})
                           : OpenPostgresStore(PostgresOptions{location, 2, 5000, 3});
    BOOST_REQUIRE_MESSAGE(store.has_value(), (store ? "" : store.error().message));
    return std::move(store).value();
  }
};

IssuedCard Card(const std::string& uuid, const std::string& rule, std::int64_t at = 1000) {
  IssuedCard card;
  card.card_uuid = uuid;
  card.service_id = "magnesium-check";
  card.rule_id = rule;
  card.rule_version = "1.0.0";
  card.ruleset_id = "magnesium";
  card.ruleset_version = "1.0.0";
  card.indicator = "warning";
  card.hook_instance = "hook-" + uuid;
  card.patient_hash = "hmac-sha256:00ff";
  card.issued_at = at;
  return card;
}

FeedbackRecord Feedback(const std::string& card, const std::string& outcome,
                        const std::string& code = "", std::int64_t at = 2000) {
  FeedbackRecord item;
  item.service_id = "magnesium-check";
  item.card_uuid = card;
  item.outcome = outcome;
  item.outcome_timestamp = "2026-11-22T10:00:00Z";
  if (outcome == "accepted") item.accepted_suggestions = {"s-1"};
  item.override_code = code;
  item.override_display = code.empty() ? "" : "display of " + code;
  item.user_comment = code.empty() ? "" : "comment";
  item.received_at = at;
  return item;
}

const RuleFeedback* Row(const std::vector<RuleFeedback>& rows, const std::string& rule) {
  for (const RuleFeedback& row : rows) {
    if (row.rule_id == rule) return &row;
  }
  return nullptr;
}

const char* const kEngines[] = {"sqlite", "postgres"};

}  // namespace

BOOST_AUTO_TEST_SUITE(FeedbackStoreEngines)

BOOST_DATA_TEST_CASE(feedback_is_joined_to_its_rule_and_counted,
                     boost::unit_test::data::make(kEngines), engine) {
  TestStore test(engine);
  auto store = test.Open();
  BOOST_TEST(std::string(store->engine()) == engine);
  BOOST_REQUIRE(store->RecordIssued(
      {Card("c1", "MG-01"), Card("c2", "MG-01"), Card("c3", "MG-01"), Card("c4", "MG-02")}));
  auto stored = store->RecordFeedback({Feedback("c1", "accepted"),
                                       Feedback("c2", "overridden", "already-treated"),
                                       Feedback("c3", "overridden", "already-treated"),
                                       Feedback("c4", "overridden", "not-relevant")});
  BOOST_REQUIRE(stored.has_value());
  BOOST_REQUIRE(stored->size() == 4u);
  BOOST_TEST((*stored)[0].inserted);
  BOOST_TEST((*stored)[0].rule_id == "MG-01");
  BOOST_TEST((*stored)[3].rule_id == "MG-02");

  auto counts = store->Counts(0);
  BOOST_REQUIRE(counts.has_value());
  const std::vector<RuleFeedback> rows = BuildFeedbackReport(*counts);
  const RuleFeedback* mg01 = Row(rows, "MG-01");
  BOOST_REQUIRE(mg01 != nullptr);
  BOOST_TEST(mg01->rule_version == "1.0.0");
  BOOST_TEST(mg01->cards_issued == 3);
  BOOST_TEST(mg01->feedback == 3);
  BOOST_TEST(mg01->accepted == 1);
  BOOST_TEST(mg01->overridden == 2);
  BOOST_TEST(mg01->suggestions_taken == 1);
  BOOST_REQUIRE(mg01->acceptance_rate.has_value());
  BOOST_TEST(*mg01->acceptance_rate == 1.0 / 3.0, boost::test_tools::tolerance(1e-9));
  BOOST_REQUIRE(mg01->override_reasons.size() == 1u);
  BOOST_TEST(mg01->override_reasons[0].code == "already-treated");
  BOOST_TEST(mg01->override_reasons[0].count == 2);
  const RuleFeedback* mg02 = Row(rows, "MG-02");
  BOOST_REQUIRE(mg02 != nullptr);
  BOOST_TEST(*mg02->acceptance_rate == 0.0);
}

BOOST_DATA_TEST_CASE(same_feedback_twice_is_stored_once, boost::unit_test::data::make(kEngines),
                     engine) {
  TestStore test(engine);
  auto store = test.Open();
  BOOST_REQUIRE(store->RecordIssued({Card("c1", "MG-01")}));
  auto first = store->RecordFeedback({Feedback("c1", "overridden", "x")});
  // Twice in one request and once more later: still one row.
  auto second =
      store->RecordFeedback({Feedback("c1", "overridden", "x"), Feedback("c1", "overridden", "x")});
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST((*first)[0].inserted);
  BOOST_TEST(!(*second)[0].inserted);
  BOOST_TEST(!(*second)[1].inserted);
  const auto rows = BuildFeedbackReport(*store->Counts(0));
  BOOST_TEST(Row(rows, "MG-01")->feedback == 1);
}

BOOST_DATA_TEST_CASE(feedback_for_an_unknown_card_is_kept_as_unmatched,
                     boost::unit_test::data::make(kEngines), engine) {
  TestStore test(engine);
  auto store = test.Open();
  auto stored = store->RecordFeedback({Feedback("never-issued", "overridden")});
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST((*stored)[0].inserted);
  BOOST_TEST((*stored)[0].rule_id.empty());
  const auto rows = BuildFeedbackReport(*store->Counts(0));
  BOOST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].unmatched());
  BOOST_TEST(rows[0].overridden == 1);
  // The card shows up later (written by another replica): now it is joined.
  BOOST_REQUIRE(store->RecordIssued({Card("never-issued", "MG-03")}));
  const auto joined = BuildFeedbackReport(*store->Counts(0));
  BOOST_REQUIRE(joined.size() == 1u);
  BOOST_TEST(joined[0].rule_id == "MG-03");
}

BOOST_DATA_TEST_CASE(data_survives_reopening_and_schema_is_not_reapplied,
                     boost::unit_test::data::make(kEngines), engine) {
  TestStore test(engine);
  {
    auto store = test.Open();
    BOOST_REQUIRE(store->RecordIssued({Card("c1", "MG-01")}));
    BOOST_REQUIRE(store->RecordFeedback({Feedback("c1", "accepted")}).has_value());
  }
  auto reopened = test.Open();
  const auto rows = BuildFeedbackReport(*reopened->Counts(0));
  BOOST_REQUIRE(Row(rows, "MG-01") != nullptr);
  BOOST_TEST(Row(rows, "MG-01")->accepted == 1);
  BOOST_TEST(LatestSchemaVersion() >= 1);
}

BOOST_DATA_TEST_CASE(since_and_retention_purge, boost::unit_test::data::make(kEngines), engine) {
  TestStore test(engine);
  auto store = test.Open();
  BOOST_REQUIRE(store->RecordIssued({Card("old", "MG-01", 100), Card("new", "MG-01", 5000)}));
  BOOST_REQUIRE(store
                    ->RecordFeedback({Feedback("old", "accepted", "", 150),
                                      Feedback("new", "accepted", "", 5100)})
                    .has_value());
  BOOST_TEST(Row(BuildFeedbackReport(*store->Counts(1000)), "MG-01")->cards_issued == 1);
  auto purged = store->Purge(1000, 1000);
  BOOST_REQUIRE(purged.has_value());
  BOOST_TEST(*purged == 2);
  const std::vector<RuleFeedback> rows = BuildFeedbackReport(*store->Counts(0));
  const RuleFeedback* row = Row(rows, "MG-01");
  BOOST_REQUIRE(row != nullptr);
  BOOST_TEST(row->cards_issued == 1);
  BOOST_TEST(row->feedback == 1);
}

BOOST_DATA_TEST_CASE(replay_keys_are_remembered_until_they_expire,
                     boost::unit_test::data::make(kEngines), engine) {
  TestStore test(engine);
  auto store = test.Open();
  BOOST_TEST((*store->RememberOnce("k1", 200, 100) == ReplayVerdict::kFresh));
  BOOST_TEST((*store->RememberOnce("k1", 200, 150) == ReplayVerdict::kReplayed));
  BOOST_TEST((*store->RememberOnce("k2", 200, 150) == ReplayVerdict::kFresh));
  // Expired: the key may be used again (a new token with the same jti after exp).
  BOOST_TEST((*store->RememberOnce("k1", 400, 250) == ReplayVerdict::kFresh));
}

BOOST_AUTO_TEST_CASE(postgres_replay_insert_is_atomic_across_connections) {
  TestStore test("postgres");
  auto store = test.Open();
  auto other = test.Open();  // a second replica's pool
  std::vector<std::future<ReplayVerdict>> results;
  for (int i = 0; i < 8; ++i) {
    FeedbackStore* target = i % 2 == 0 ? store.get() : other.get();
    results.push_back(std::async(std::launch::async,
                                 [target] { return *target->RememberOnce("same-jti", 1000, 1); }));
  }
  int fresh = 0;
  for (auto& result : results) fresh += result.get() == ReplayVerdict::kFresh ? 1 : 0;
  BOOST_TEST(fresh == 1);
}

BOOST_AUTO_TEST_CASE(postgres_open_fails_with_a_clear_error_and_no_secret) {
  PostgresOptions options;
  options.connection = "host=127.0.0.1 port=1 dbname=x user=u password=s3cret-pw connect_timeout=2";
  auto store = OpenPostgresStore(options);
  BOOST_REQUIRE(!store);
  BOOST_TEST(store.error().message.find("cannot connect") != std::string::npos);
  BOOST_TEST(store.error().message.find("s3cret-pw") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// A store whose availability the test switches; counts what it was given.
class SwitchableStore : public FeedbackStore {
 public:
  const char* engine() const override { return "fake"; }
  bool shared() const override { return false; }
  Status RecordIssued(const std::vector<IssuedCard>& cards) override {
    std::unique_lock<std::mutex> lock(mutex);
    if (!up) return Error{ErrorCode::kUnavailable, "down"};
    cards_written += cards.size();
    return OkStatus();
  }
  Result<std::vector<FeedbackStored>> RecordFeedback(
      const std::vector<FeedbackRecord>& items) override {
    std::unique_lock<std::mutex> lock(mutex);
    if (!up) return Error{ErrorCode::kUnavailable, "down"};
    return std::vector<FeedbackStored>(items.size(), FeedbackStored{true, "MG-01"});
  }
  Result<ReportCounts> Counts(std::int64_t) override { return ReportCounts{}; }
  Result<std::int64_t> Purge(std::int64_t before, std::int64_t now) override {
    std::unique_lock<std::mutex> lock(mutex);
    if (!up) return Error{ErrorCode::kUnavailable, "down"};
    purges.emplace_back(before, now);
    return std::int64_t{3};
  }
  Result<ReplayVerdict> RememberOnce(const std::string&, std::int64_t, std::int64_t) override {
    return ReplayVerdict::kFresh;
  }
  void SetUp(bool value) {
    std::unique_lock<std::mutex> lock(mutex);
    up = value;
  }
  std::size_t Written() {
    std::unique_lock<std::mutex> lock(mutex);
    return cards_written;
  }

  std::mutex mutex;
  bool up = true;
  std::size_t cards_written = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> purges;  // (before, now)
};

StoreWriterOptions WriterOptions(std::size_t capacity) {
  StoreWriterOptions options;
  options.queue_capacity = capacity;
  options.retry_min = 10ms;
  options.retry_max = 50ms;
  options.clock = [] { return std::int64_t{1000}; };
  return options;
}

// Polls `condition` for up to 10 s (a bound, not a timing assertion).
template <class Fn>
bool Eventually(Fn condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(StoreWriterQueue)

BOOST_AUTO_TEST_CASE(cards_are_written_off_the_caller_thread) {
  auto store = std::make_shared<SwitchableStore>();
  StoreWriter writer(store, WriterOptions(1000));
  writer.Start();
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(writer.SubmitIssued({Card("c" + std::to_string(i), "MG-01")}));
  BOOST_TEST(Eventually([&] { return store->Written() == 10u; }));
  BOOST_TEST(writer.stats().written_cards == 10u);
  BOOST_TEST(writer.stats().dropped_cards == 0u);
}

BOOST_AUTO_TEST_CASE(a_down_store_fills_the_queue_then_drops_are_counted_and_it_recovers) {
  auto store = std::make_shared<SwitchableStore>();
  store->SetUp(false);
  std::vector<std::string> events;
  std::mutex events_mutex;
  StoreWriterOptions options = WriterOptions(100);
  options.log = [&](const char*, const char* event,
                    const std::vector<std::pair<std::string, std::string>>&) {
    std::lock_guard<std::mutex> lock(events_mutex);
    events.emplace_back(event);
  };
  StoreWriter writer(store, options);
  writer.Start();
  int accepted = 0;
  for (int i = 0; i < 150; ++i)
    accepted += writer.SubmitIssued({Card("c" + std::to_string(i), "MG-01")}) ? 1 : 0;
  BOOST_TEST(accepted <= 100 + 256);  // bounded: capacity plus the batch being retried
  BOOST_TEST(Eventually([&] { return !writer.stats().up; }));
  // Feedback is refused at once while the store is down (the EHR resends it).
  std::promise<bool> refused;
  writer.SubmitFeedback({Feedback("c1", "overridden")}, [&](Result<std::vector<FeedbackStored>> r) {
    refused.set_value(!r.has_value());
  });
  BOOST_TEST(refused.get_future().get());
  // Fill past capacity for sure.
  for (int i = 0; i < 300; ++i) (void)writer.SubmitIssued({Card("d" + std::to_string(i), "MG-01")});
  const StoreWriterStats down = writer.stats();
  BOOST_TEST(down.dropped_cards > 0u);
  BOOST_TEST(down.write_failures > 0u);
  BOOST_TEST(down.refused_feedback == 1u);
  BOOST_TEST(down.queued <= 100u + 256u);

  store->SetUp(true);
  BOOST_TEST(Eventually([&] { return writer.stats().up && writer.stats().queued == 0; }));
  BOOST_TEST(store->Written() + writer.stats().dropped_cards == 450u);
  std::lock_guard<std::mutex> lock(events_mutex);
  const auto has = [&](const char* name) {
    return std::find(events.begin(), events.end(), name) != events.end();
  };
  BOOST_TEST(has("store_unavailable"));
  BOOST_TEST(has("store_queue_full"));
  BOOST_TEST(has("store_recovered"));
}

BOOST_AUTO_TEST_CASE(feedback_is_answered_by_its_deadline_when_the_store_hangs) {
  // A store call that does not come back until released (a hung database).
  class HangingStore : public SwitchableStore {
   public:
    Result<std::vector<FeedbackStored>> RecordFeedback(
        const std::vector<FeedbackRecord>&) override {
      std::unique_lock<std::mutex> lock(gate);
      released.wait(lock, [this] { return open; });
      return std::vector<FeedbackStored>();
    }
    void Release() {
      std::lock_guard<std::mutex> lock(gate);
      open = true;
      released.notify_all();
    }
    std::mutex gate;
    std::condition_variable released;
    bool open = false;
  };
  auto store = std::make_shared<HangingStore>();
  StoreWriterOptions options = WriterOptions(1000);
  options.feedback_deadline = 100ms;
  StoreWriter writer(store, options);
  writer.Start();
  std::promise<std::string> answer;
  writer.SubmitFeedback({Feedback("c1", "overridden")}, [&](Result<std::vector<FeedbackStored>> r) {
    answer.set_value(r ? "stored" : r.error().message);
  });
  auto future = answer.get_future();
  BOOST_REQUIRE(future.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(future.get() == "the feedback store did not answer in time");
  BOOST_TEST(writer.stats().refused_feedback == 1u);
  store->Release();
  writer.Stop(1s);
}

BOOST_AUTO_TEST_CASE(retention_purges_rows_older_than_the_configured_days) {
  auto store = std::make_shared<SwitchableStore>();
  StoreWriterOptions options = WriterOptions(1000);
  options.retention_days = 30;
  options.clock = [] { return std::int64_t{10'000'000}; };
  StoreWriter writer(store, options);
  writer.Start();
  BOOST_TEST(Eventually([&] {
    std::lock_guard<std::mutex> lock(store->mutex);
    return !store->purges.empty();
  }));
  {
    std::lock_guard<std::mutex> lock(store->mutex);
    BOOST_TEST(store->purges[0].first == 10'000'000 - 30 * 86400);
    BOOST_TEST(store->purges[0].second == 10'000'000);
  }
  BOOST_TEST(Eventually([&] { return writer.stats().purged_rows == 3u; }));
  writer.Stop(1s);
}

BOOST_AUTO_TEST_CASE(without_retention_only_expired_replay_entries_go) {
  auto store = std::make_shared<SwitchableStore>();
  StoreWriter writer(store, WriterOptions(1000));  // retention_days 0
  writer.Start();
  BOOST_TEST(Eventually([&] {
    std::lock_guard<std::mutex> lock(store->mutex);
    return !store->purges.empty();
  }));
  {
    std::lock_guard<std::mutex> lock(store->mutex);
    BOOST_TEST(store->purges[0].first == 0);  // nothing is older than epoch 0
  }
  writer.Stop(1s);
}

BOOST_AUTO_TEST_CASE(stop_flushes_what_is_queued) {
  auto store = std::make_shared<SwitchableStore>();
  StoreWriter writer(store, WriterOptions(10000));
  for (int i = 0; i < 500; ++i)
    BOOST_TEST(writer.SubmitIssued({Card("c" + std::to_string(i), "MG-01")}));
  writer.Start();
  writer.Stop(10s);
  BOOST_TEST(store->Written() == 500u);
  // After stop nothing is accepted, and that is counted.
  BOOST_TEST(!writer.SubmitIssued({Card("late", "MG-01")}));
  BOOST_TEST(writer.stats().dropped_cards == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cds::service::store
