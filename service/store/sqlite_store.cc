// The SQLite engine of the governance store (service/store/feedback_store.h).
// One connection, serialised by a mutex: SQLite has one writer at a time in
// any case, and the store's writes come from StoreWriter's single thread.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "service/store/feedback_store.h"
#include "service/store/json_text.h"
#include "service/store/migrations.h"

namespace cds::service::store {
namespace {

// A batch of issued cards (up to 256) is ~2 ms of CPU in one burst. On a
// small node a request thread, or a client on the same host, woken on the
// CPU running it waited the burst out: the one-connection p99 was ~1.5-2 ms
// against ~0.3 ms with the store off (tests/bench/results/profile-notes.md,
// session 14). Yielding every few rows lets them in after ~0.25 ms at most;
// with nothing waiting the yield returns at once.
constexpr std::size_t kRowsBetweenYields = 32;

Error Unavailable(sqlite3* db, const std::string& what) {
  return Error{ErrorCode::kUnavailable,
               "sqlite: " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no connection")};
}

// A prepared statement, finalised on scope exit; reset for each use.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() const { return stmt_; }

  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void Bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  // "" is stored as NULL (an absent optional field).
  void BindOptional(int index, const std::string& text) {
    if (text.empty()) {
      sqlite3_bind_null(stmt_, index);
    } else {
      Bind(index, text);
    }
  }
  void Bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  // Marks a text parameter whose "" is stored as NULL, for BindAll.
  struct OrNull {
    const std::string& text;
  };
  void Bind(int index, OrNull value) { BindOptional(index, value.text); }
  // Binds ?1, ?2, ... in order: one line per row instead of one per column.
  template <typename... Values>
  void BindAll(const Values&... values) {
    int index = 0;
    (Bind(++index, values), ...);
  }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(text),
                             static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteStore : public FeedbackStore {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  const char* engine() const override { return "sqlite"; }
  bool shared() const override { return false; }

  Status Exec(const char* sql, const std::string& what) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      Error error{ErrorCode::kUnavailable,
                  "sqlite: " + what + ": " + (message != nullptr ? message : "failed")};
      sqlite3_free(message);
      return error;
    }
    return OkStatus();
  }

  // COMMIT, or ROLLBACK when it fails (e.g. busy past the timeout), so the
  // connection never stays inside a transaction.
  Status Commit(const std::string& what) {
    Status committed = Exec("COMMIT", what);
    if (!committed && sqlite3_get_autocommit(db_) == 0) (void)Exec("ROLLBACK", "rollback");
    return committed;
  }

  Status Migrate() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status s = Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                        "applied_at INTEGER NOT NULL)",
                        "create schema_migrations");
        !s) {
      return s;
    }
    // IMMEDIATE: two processes opening a new file at once migrate one after the other.
    if (Status s = Exec("BEGIN IMMEDIATE", "begin migration"); !s) return s;
    Status result = ApplyMigrations();
    if (Status s = Exec(result ? "COMMIT" : "ROLLBACK", "end migration"); !s && result) return s;
    return result;
  }

  Status RecordIssued(const std::vector<IssuedCard>& cards) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement insert(db_,
                     "INSERT OR IGNORE INTO issued_cards (card_uuid, service_id, rule_id, "
                     "rule_version, ruleset_id, ruleset_version, indicator, hook_instance, "
                     "patient_hash, issued_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
    if (!insert.ok()) return Unavailable(db_, "prepare insert issued_cards");
    if (Status s = Exec("BEGIN IMMEDIATE", "begin"); !s) return s;
    std::size_t rows = 0;
    for (const IssuedCard& card : cards) {
      if (++rows % kRowsBetweenYields == 0) std::this_thread::yield();
      insert.Reset();
      insert.BindAll(card.card_uuid, card.service_id, card.rule_id, card.rule_version,
                     card.ruleset_id, card.ruleset_version, card.indicator, card.hook_instance,
                     Statement::OrNull{card.patient_hash}, card.issued_at);
      if (insert.Step() != SQLITE_DONE) {
        Error error = Unavailable(db_, "insert issued card");
        (void)Exec("ROLLBACK", "rollback");
        return error;
      }
    }
    return Commit("commit issued cards");
  }

  Result<std::vector<FeedbackStored>> RecordFeedback(
      const std::vector<FeedbackRecord>& items) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement insert(db_,
                     "INSERT OR IGNORE INTO feedback (service_id, card_uuid, outcome, "
                     "outcome_timestamp, accepted_suggestions, suggestion_count, override_system, "
                     "override_code, override_display, user_comment, received_at) "
                     "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    Statement rule(db_, "SELECT rule_id FROM issued_cards WHERE card_uuid = ?1");
    if (!insert.ok() || !rule.ok()) return Unavailable(db_, "prepare insert feedback");
    if (Status s = Exec("BEGIN IMMEDIATE", "begin"); !s) return s.error();
    std::vector<FeedbackStored> stored;
    stored.reserve(items.size());
    for (const FeedbackRecord& item : items) {
      insert.Reset();
      insert.BindAll(item.service_id, item.card_uuid, item.outcome, item.outcome_timestamp,
                     internal::JsonStringArray(item.accepted_suggestions),
                     static_cast<std::int64_t>(item.accepted_suggestions.size()),
                     Statement::OrNull{item.override_system}, Statement::OrNull{item.override_code},
                     Statement::OrNull{item.override_display}, Statement::OrNull{item.user_comment},
                     item.received_at);
      if (insert.Step() != SQLITE_DONE) {
        Error error = Unavailable(db_, "insert feedback");
        (void)Exec("ROLLBACK", "rollback");
        return error;
      }
      FeedbackStored result;
      result.inserted = sqlite3_changes(db_) == 1;
      rule.Reset();
      rule.Bind(1, item.card_uuid);
      if (rule.Step() == SQLITE_ROW) result.rule_id = rule.Text(0);
      stored.push_back(std::move(result));
    }
    if (Status s = Commit("commit feedback"); !s) return s.error();
    return stored;
  }

  Result<ReportCounts> Counts(std::int64_t since) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ReportCounts counts;
    Statement issued(db_,
                     "SELECT rule_id, rule_version, COUNT(*) FROM issued_cards "
                     "WHERE issued_at >= ?1 GROUP BY rule_id, rule_version");
    Statement feedback(
        db_,
        "SELECT COALESCE(c.rule_id, ''), COALESCE(c.rule_version, ''), f.outcome, "
        "COALESCE(f.override_code, ''), COALESCE(f.override_display, ''), "
        "SUM(f.suggestion_count), COUNT(*) FROM feedback f "
        "LEFT JOIN issued_cards c ON c.card_uuid = f.card_uuid WHERE f.received_at >= ?1 "
        "GROUP BY 1, 2, 3, 4, 5");
    if (!issued.ok() || !feedback.ok()) return Unavailable(db_, "prepare report");
    issued.Bind(1, since);
    int rc = 0;
    while ((rc = issued.Step()) == SQLITE_ROW) {
      counts.issued.push_back(IssuedCount{issued.Text(0), issued.Text(1), issued.Int(2)});
    }
    if (rc != SQLITE_DONE) return Unavailable(db_, "count issued cards");
    feedback.Bind(1, since);
    while ((rc = feedback.Step()) == SQLITE_ROW) {
      counts.feedback.push_back(FeedbackCount{feedback.Text(0), feedback.Text(1), feedback.Text(2),
                                              feedback.Text(3), feedback.Text(4), feedback.Int(5),
                                              feedback.Int(6)});
    }
    if (rc != SQLITE_DONE) return Unavailable(db_, "count feedback");
    return counts;
  }

  Result<std::int64_t> Purge(std::int64_t before, std::int64_t now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::int64_t deleted = 0;
    const std::pair<const char*, std::int64_t> statements[] = {
        {"DELETE FROM issued_cards WHERE issued_at < ?1", before},
        {"DELETE FROM feedback WHERE received_at < ?1", before},
        {"DELETE FROM jwt_replay WHERE expires_at <= ?1", now}};
    for (const auto& [sql, bound] : statements) {
      Statement statement(db_, sql);
      if (!statement.ok()) return Unavailable(db_, "prepare purge");
      statement.Bind(1, bound);
      if (statement.Step() != SQLITE_DONE) return Unavailable(db_, "purge");
      deleted += sqlite3_changes(db_);
    }
    return deleted;
  }

  Result<ReplayVerdict> RememberOnce(const std::string& key, std::int64_t expires_at,
                                     std::int64_t now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement upsert(db_,
                     "INSERT INTO jwt_replay (replay_key, expires_at) VALUES (?1, ?2) "
                     "ON CONFLICT (replay_key) DO UPDATE SET expires_at = excluded.expires_at "
                     "WHERE jwt_replay.expires_at <= ?3");
    if (!upsert.ok()) return Unavailable(db_, "prepare replay insert");
    upsert.Bind(1, key);
    upsert.Bind(2, expires_at);
    upsert.Bind(3, now);
    if (upsert.Step() != SQLITE_DONE) return Unavailable(db_, "replay insert");
    return sqlite3_changes(db_) == 1 ? ReplayVerdict::kFresh : ReplayVerdict::kReplayed;
  }

 private:
  Status ApplyMigrations() {
    Statement current(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!current.ok() || current.Step() != SQLITE_ROW) {
      return Unavailable(db_, "read schema version");
    }
    const std::int64_t version = current.Int(0);
    const auto& migrations = internal::SqliteMigrations();
    if (!migrations.empty() && version > migrations.back().version) {
      return Error{ErrorCode::kRuleConfig, "sqlite: database schema version " +
                                               std::to_string(version) +
                                               " is newer than this magcds supports (" +
                                               std::to_string(migrations.back().version) + ")"};
    }
    for (const internal::Migration& migration : migrations) {
      if (migration.version <= version) continue;
      if (Status s = Exec(migration.sql, std::string("migration ") + migration.name); !s) return s;
      Statement record(db_,
                       "INSERT INTO schema_migrations (version, name, applied_at) "
                       "VALUES (?1, ?2, ?3)");
      if (!record.ok()) return Unavailable(db_, "prepare record migration");
      record.Bind(1, static_cast<std::int64_t>(migration.version));
      record.Bind(2, std::string(migration.name));
      record.Bind(3, static_cast<std::int64_t>(std::time(nullptr)));
      if (record.Step() != SQLITE_DONE) return Unavailable(db_, "record migration");
    }
    return OkStatus();
  }

  sqlite3* db_;
  std::mutex mutex_;
};

}  // namespace

Result<std::unique_ptr<FeedbackStore>> OpenSqliteStore(const SqliteOptions& options) {
  const auto config_error = [&options](const std::string& what) {
    return Error{ErrorCode::kRuleConfig,
                 "store: cannot open SQLite database '" + options.path + "': " + what};
  };
  if (options.path.empty()) return config_error("no path");
  // Created owner-only before SQLite opens it: the file holds governance data.
  const int fd = ::open(options.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return config_error("cannot create the file");
  ::close(fd);
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(options.path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return config_error(message);
  }
  auto store = std::make_unique<SqliteStore>(db);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  // WAL: readers (magcds report) never block the service's writer. FULL
  // synchronous: a committed feedback item survives a power cut too.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    if (Status s = store->Exec(pragma, pragma); !s) return config_error(s.error().message);
  }
  if (Status s = store->Migrate(); !s) return config_error(s.error().message);
  return std::unique_ptr<FeedbackStore>(std::move(store));
}

}  // namespace cds::service::store
