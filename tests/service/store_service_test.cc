// The service side of the feedback store (issue #16) as units:
// - the "store" config member: defaults, every member, errors naming it;
// - SharedReplayCache: fresh / replayed through a real (SQLite) store, and
//   "no answer" (nullopt) when the store fails or does not answer within the
//   deadline, so authentication never waits on a slow database.

#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/test/unit_test.hpp>

#include "service/app/config.h"
#include "service/auth/shared_replay_cache.h"
#include "service/store/feedback_store.h"
#include "tests/support/child_process.h"

namespace cds::service {
namespace {

using namespace std::chrono_literals;

Result<ServiceConfig> Parse(const std::string& store) {
  return ParseServiceConfig("{\"store\":" + store + "}");
}

void ExpectError(const std::string& store, const std::string& part) {
  const Result<ServiceConfig> parsed = Parse(store);
  BOOST_REQUIRE_MESSAGE(!parsed, store + " was accepted");
  BOOST_TEST(parsed.error().message.find(part) != std::string::npos,
             store << " -> " << parsed.error().message);
}

// A store whose RememberOnce blocks until released, or fails.
class GatedStore : public store::FeedbackStore {
 public:
  const char* engine() const override { return "gated"; }
  bool shared() const override { return true; }
  Status RecordIssued(const std::vector<store::IssuedCard>&) override { return OkStatus(); }
  Result<std::vector<store::FeedbackStored>> RecordFeedback(
      const std::vector<store::FeedbackRecord>&) override {
    return std::vector<store::FeedbackStored>();
  }
  Result<store::ReportCounts> Counts(std::int64_t) override { return store::ReportCounts{}; }
  Result<std::int64_t> Purge(std::int64_t, std::int64_t) override { return std::int64_t{0}; }
  Result<store::ReplayVerdict> RememberOnce(const std::string&, std::int64_t,
                                            std::int64_t) override {
    std::unique_lock<std::mutex> lock(mutex);
    ++calls;
    released.wait(lock, [this] { return open; });
    if (fail) return Error{ErrorCode::kUnavailable, "postgres: cannot connect"};
    return store::ReplayVerdict::kFresh;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex);
    open = true;
    released.notify_all();
  }

  std::mutex mutex;
  std::condition_variable released;
  bool open = false;
  bool fail = false;
  int calls = 0;
};

std::optional<bool> Ask(SharedReplayCache& cache, const std::string& jti) {
  std::promise<std::optional<bool>> answer;
  cache.Check("https://ehr.example", jti, 2000, 1000,
              [&answer](std::optional<bool> replayed) { answer.set_value(replayed); });
  auto future = answer.get_future();
  BOOST_REQUIRE(future.wait_for(10s) == std::future_status::ready);
  return future.get();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(StoreConfigMember)

BOOST_AUTO_TEST_CASE(defaults_without_a_store_member) {
  const Result<ServiceConfig> parsed = ParseServiceConfig("{}");
  BOOST_REQUIRE(parsed.has_value());
  BOOST_TEST(parsed->store.engine == "sqlite");
  BOOST_TEST(parsed->store.path.empty());
  BOOST_TEST(!parsed->store.configured);
  BOOST_TEST(parsed->store.retention_days == 0u);
}

BOOST_AUTO_TEST_CASE(every_member_is_read) {
  const Result<ServiceConfig> parsed = Parse(
      R"({"engine":"postgres","connectionFile":"/run/secrets/db","poolSize":8,"queueSize":500,)"
      R"("retentionDays":365,"hashKeyFile":"/etc/k","sharedReplayCache":false})");
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), (parsed ? "" : parsed.error().message));
  BOOST_TEST(parsed->store.engine == "postgres");
  BOOST_TEST(parsed->store.connection_file == "/run/secrets/db");
  BOOST_TEST(parsed->store.pool_size == 8u);
  BOOST_TEST(parsed->store.queue_size == 500u);
  BOOST_TEST(parsed->store.retention_days == 365u);
  BOOST_TEST(parsed->store.hash_key_file == "/etc/k");
  BOOST_TEST(!parsed->store.shared_replay_cache);
  BOOST_TEST(parsed->store.configured);
}

BOOST_AUTO_TEST_CASE(bad_members_are_named) {
  ExpectError(R"({"engine":"mysql"})", "'store.engine' must be");
  ExpectError(R"({"engine":"postgres"})", "exactly one of 'connection' and 'connectionFile'");
  ExpectError(R"({"engine":"postgres","connection":"a","connectionFile":"b"})", "exactly one");
  ExpectError(R"({"connection":"host=x"})", "need engine \"postgres\"");
  ExpectError(R"({"poolSize":0})", "'store.poolSize'");
  ExpectError(R"({"queueSize":5})", "'store.queueSize'");
  ExpectError(R"({"retentionDays":-1})", "'store.retentionDays'");
  ExpectError(R"({"path":""})", "'store.path' must be a non-empty string");
  ExpectError(R"({"sharedReplayCache":"yes"})", "'store.sharedReplayCache'");
  ExpectError(R"({"paht":"x"})", "unknown member 'store.paht'");
  ExpectError(R"([])", "'store' must be an object");
}

BOOST_AUTO_TEST_CASE(the_default_path_follows_magcds_db) {
  const char* old = std::getenv("MAGCDS_DB");
  const std::string saved = old != nullptr ? old : "";
  ::unsetenv("MAGCDS_DB");
  BOOST_TEST(DefaultDatabasePath() == "magcds.db");
  ::setenv("MAGCDS_DB", "/var/lib/magcds/x.db", 1);
  BOOST_TEST(DefaultDatabasePath() == "/var/lib/magcds/x.db");
  if (old != nullptr) {
    ::setenv("MAGCDS_DB", saved.c_str(), 1);
  } else {
    ::unsetenv("MAGCDS_DB");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(SharedReplay)

BOOST_AUTO_TEST_CASE(a_jti_is_fresh_once_then_replayed_through_the_store) {
  const std::string dir = cds::testing::MakeTempDir("magcds-replay");
  {
    auto opened = store::OpenSqliteStore({dir + "/r.db", 5000});
    BOOST_REQUIRE(opened.has_value());
    SharedReplayCache cache(**opened, SharedReplayCacheOptions{});
    BOOST_TEST((Ask(cache, "jti-1") == std::optional<bool>(false)));
    BOOST_TEST((Ask(cache, "jti-1") == std::optional<bool>(true)));
    BOOST_TEST((Ask(cache, "jti-2") == std::optional<bool>(false)));
    BOOST_TEST(cache.unavailable() == 0u);
  }
  // The key is a hash: neither the issuer nor the jti is stored as text.
  const std::string bytes = cds::testing::ReadFile(dir + "/r.db");
  BOOST_TEST(bytes.find("jti-1") == std::string::npos);
  BOOST_TEST(bytes.find(ReplayKey("https://ehr.example", "jti-1")) != std::string::npos);
  cds::testing::RemoveTree(dir);
}

BOOST_AUTO_TEST_CASE(a_slow_store_gets_no_say_after_the_deadline) {
  GatedStore store;
  SharedReplayCacheOptions options;
  options.deadline = 50ms;
  SharedReplayCache cache(store, options);
  // The store never answers in time: the answer is "unknown", not a wait.
  BOOST_TEST((Ask(cache, "slow") == std::nullopt));
  BOOST_TEST(cache.unavailable() >= 1u);
  // Within the backoff the store is not asked again: answers come at once.
  BOOST_TEST((Ask(cache, "next") == std::nullopt));
  {
    std::lock_guard<std::mutex> lock(store.mutex);
    BOOST_TEST(store.calls <= 1);
  }
  BOOST_TEST(cache.unavailable() >= 2u);
  store.Open();
}

BOOST_AUTO_TEST_CASE(a_failing_store_answers_unknown) {
  GatedStore store;
  store.fail = true;
  store.Open();
  SharedReplayCache cache(store, SharedReplayCacheOptions{});
  BOOST_TEST((Ask(cache, "x") == std::nullopt));
  BOOST_TEST(cache.unavailable() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cds::service
