// The PostgreSQL engine of the governance store (service/store/feedback_store.h),
// for several magcds replicas on one database. Every call takes a connection
// from the pool; a call that fails on a broken connection closes it, so the
// next call reconnects.
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <libpq-fe.h>

#include "service/store/feedback_store.h"
#include "service/store/json_text.h"
#include "service/store/migrations.h"
#include "service/store/postgres_pool.h"

namespace cds::service::store {
namespace {

using internal::PostgresPool;

// Any fixed number: the advisory lock that makes replicas migrate one at a time.
constexpr std::int64_t kMigrationLock = 0x6d6167636473;  // "magcds"

// A PGresult, cleared on scope exit.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  ~PgResult() { PQclear(result_); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PGresult* get() const { return result_; }
  bool Ok() const {
    const ExecStatusType status = PQresultStatus(result_);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  }
  int Rows() const { return PQntuples(result_); }
  std::string Text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column),
                       static_cast<std::size_t>(PQgetlength(result_, row, column)));
  }
  std::int64_t Int(int row, int column) const {
    return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
  }

 private:
  PGresult* result_;
};

// Text parameters for PQexecParams; "" may be sent as NULL.
class Params {
 public:
  void Add(std::string value) { values_.push_back(std::move(value)), nulls_.push_back(false); }
  void AddOptional(std::string value) {
    nulls_.push_back(value.empty());
    values_.push_back(std::move(value));
  }
  void Add(std::int64_t value) { Add(std::to_string(value)); }
  int Count() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> Pointers() const {
    std::vector<const char*> out;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      out.push_back(nulls_[i] ? nullptr : values_[i].c_str());
    }
    return out;
  }

 private:
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
};

std::string Trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

class PostgresStore : public FeedbackStore {
 public:
  explicit PostgresStore(const PostgresOptions& options) : pool_(PoolOptions(options)) {}

  const char* engine() const override { return "postgres"; }
  bool shared() const override { return true; }

  Status Migrate() {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    PGconn* conn = lease->get();
    const std::string lock = "SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")";
    const std::string unlock = "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")";
    if (Status s = Exec(*lease, lock.c_str(), "lock for migration"); !s) return s;
    Status result = ApplyMigrations(*lease);
    (void)Exec(*lease, unlock.c_str(), "unlock after migration");
    (void)conn;
    return result;
  }

  Status RecordIssued(const std::vector<IssuedCard>& cards) override {
    if (cards.empty()) return OkStatus();
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    // One multi-row INSERT per batch: one round trip, one transaction.
    std::string sql =
        "INSERT INTO issued_cards (card_uuid, service_id, rule_id, rule_version, ruleset_id, "
        "ruleset_version, indicator, hook_instance, patient_hash, issued_at) VALUES ";
    Params params;
    for (std::size_t i = 0; i < cards.size(); ++i) {
      const IssuedCard& card = cards[i];
      sql += i == 0 ? "(" : ",(";
      for (int column = 1; column <= 10; ++column) {
        sql += "$" + std::to_string(i * 10 + static_cast<std::size_t>(column));
        sql += column == 10 ? ")" : ",";
      }
      params.Add(card.card_uuid);
      params.Add(card.service_id);
      params.Add(card.rule_id);
      params.Add(card.rule_version);
      params.Add(card.ruleset_id);
      params.Add(card.ruleset_version);
      params.Add(card.indicator);
      params.Add(card.hook_instance);
      params.AddOptional(card.patient_hash);
      params.Add(card.issued_at);
    }
    sql += " ON CONFLICT (card_uuid) DO NOTHING";
    PgResult result(Run(*lease, sql, params));
    if (!result.Ok()) return Failed(*lease, "insert issued cards");
    return OkStatus();
  }

  Result<std::vector<FeedbackStored>> RecordFeedback(
      const std::vector<FeedbackRecord>& items) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    if (Status s = Exec(*lease, "BEGIN", "begin"); !s) return s.error();
    std::vector<FeedbackStored> stored;
    for (const FeedbackRecord& item : items) {
      Params params;
      params.Add(item.service_id);
      params.Add(item.card_uuid);
      params.Add(item.outcome);
      params.Add(item.outcome_timestamp);
      params.Add(internal::JsonStringArray(item.accepted_suggestions));
      params.Add(static_cast<std::int64_t>(item.accepted_suggestions.size()));
      params.AddOptional(item.override_system);
      params.AddOptional(item.override_code);
      params.AddOptional(item.override_display);
      params.AddOptional(item.user_comment);
      params.Add(item.received_at);
      PgResult insert(Run(*lease,
                          "INSERT INTO feedback (service_id, card_uuid, outcome, "
                          "outcome_timestamp, accepted_suggestions, suggestion_count, "
                          "override_system, override_code, override_display, user_comment, "
                          "received_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) "
                          "ON CONFLICT (service_id, card_uuid, outcome, outcome_timestamp) "
                          "DO NOTHING RETURNING id",
                          params));
      if (!insert.Ok()) return Failed(*lease, "insert feedback").error();
      FeedbackStored result;
      result.inserted = insert.Rows() == 1;
      Params card;
      card.Add(item.card_uuid);
      PgResult rule(Run(*lease, "SELECT rule_id FROM issued_cards WHERE card_uuid = $1", card));
      if (!rule.Ok()) return Failed(*lease, "look up card").error();
      if (rule.Rows() == 1) result.rule_id = rule.Text(0, 0);
      stored.push_back(std::move(result));
    }
    if (Status s = Exec(*lease, "COMMIT", "commit feedback"); !s) return s.error();
    return stored;
  }

  Result<ReportCounts> Counts(std::int64_t since) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Params params;
    params.Add(since);
    ReportCounts counts;
    PgResult issued(Run(*lease,
                        "SELECT rule_id, rule_version, COUNT(*) FROM issued_cards "
                        "WHERE issued_at >= $1 GROUP BY rule_id, rule_version",
                        params));
    if (!issued.Ok()) return Failed(*lease, "count issued cards").error();
    for (int row = 0; row < issued.Rows(); ++row) {
      counts.issued.push_back(
          IssuedCount{issued.Text(row, 0), issued.Text(row, 1), issued.Int(row, 2)});
    }
    PgResult feedback(
        Run(*lease,
            "SELECT COALESCE(c.rule_id, ''), COALESCE(c.rule_version, ''), f.outcome, "
            "COALESCE(f.override_code, ''), COALESCE(f.override_display, ''), "
            "SUM(f.suggestion_count), COUNT(*) FROM feedback f "
            "LEFT JOIN issued_cards c ON c.card_uuid = f.card_uuid WHERE f.received_at >= $1 "
            "GROUP BY 1, 2, 3, 4, 5",
            params));
    if (!feedback.Ok()) return Failed(*lease, "count feedback").error();
    for (int row = 0; row < feedback.Rows(); ++row) {
      counts.feedback.push_back(FeedbackCount{feedback.Text(row, 0), feedback.Text(row, 1),
                                              feedback.Text(row, 2), feedback.Text(row, 3),
                                              feedback.Text(row, 4), feedback.Int(row, 5),
                                              feedback.Int(row, 6)});
    }
    return counts;
  }

  Result<std::int64_t> Purge(std::int64_t before, std::int64_t now) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    std::int64_t deleted = 0;
    const std::pair<const char*, std::int64_t> statements[] = {
        {"DELETE FROM issued_cards WHERE issued_at < $1", before},
        {"DELETE FROM feedback WHERE received_at < $1", before},
        {"DELETE FROM jwt_replay WHERE expires_at <= $1", now}};
    for (const auto& [sql, bound] : statements) {
      Params params;
      params.Add(bound);
      PgResult result(Run(*lease, sql, params));
      if (!result.Ok()) return Failed(*lease, "purge").error();
      deleted += std::strtoll(PQcmdTuples(result.get()), nullptr, 10);
    }
    return deleted;
  }

  Result<ReplayVerdict> RememberOnce(const std::string& key, std::int64_t expires_at,
                                     std::int64_t now) override {
    auto lease = pool_.Acquire();
    if (!lease) return lease.error();
    Params params;
    params.Add(key);
    params.Add(expires_at);
    params.Add(now);
    // Insert-if-absent in one statement: of two replicas racing with the same
    // jti, exactly one gets the row back.
    PgResult result(Run(*lease,
                        "INSERT INTO jwt_replay (replay_key, expires_at) VALUES ($1, $2) "
                        "ON CONFLICT (replay_key) DO UPDATE SET expires_at = EXCLUDED.expires_at "
                        "WHERE jwt_replay.expires_at <= $3 RETURNING 1",
                        params));
    if (!result.Ok()) return Failed(*lease, "replay insert").error();
    return result.Rows() == 1 ? ReplayVerdict::kFresh : ReplayVerdict::kReplayed;
  }

 private:
  static internal::PostgresPoolOptions PoolOptions(const PostgresOptions& options) {
    internal::PostgresPoolOptions pool;
    pool.connection = options.connection;
    pool.size = options.pool_size == 0 ? 1 : options.pool_size;
    pool.connect_timeout_s = options.connect_timeout_s;
    pool.statement_timeout_ms = options.statement_timeout_ms;
    return pool;
  }

  PGresult* Run(PostgresPool::Lease& lease, const std::string& sql, const Params& params) const {
    const std::vector<const char*> values = params.Pointers();
    static const char* const kNone[] = {nullptr};
    return pool_.Exec(lease, sql.c_str(), params.Count(), values.empty() ? kNone : values.data());
  }

  // The error of the last call on `lease`; the connection is dropped when it
  // is no longer usable (or a transaction is left open), so the pool reconnects.
  Status Failed(PostgresPool::Lease& lease, const std::string& what) const {
    if (lease.broken()) {
      return Error{ErrorCode::kUnavailable, "postgres: " + what + ": no answer in time"};
    }
    const std::string message = Trimmed(PQerrorMessage(lease.get()));
    if (PQstatus(lease.get()) != CONNECTION_OK) {
      lease.MarkBroken();
    } else if (PQtransactionStatus(lease.get()) != PQTRANS_IDLE) {
      PgResult rollback(pool_.Exec(lease, "ROLLBACK", -1, nullptr));
      if (PQtransactionStatus(lease.get()) != PQTRANS_IDLE) lease.MarkBroken();
    }
    return Error{ErrorCode::kUnavailable, "postgres: " + what + ": " + message};
  }

  Status Exec(PostgresPool::Lease& lease, const char* sql, const std::string& what) const {
    PgResult result(pool_.Exec(lease, sql, -1, nullptr));
    if (!result.Ok()) return Failed(lease, what);
    return OkStatus();
  }

  Status ApplyMigrations(PostgresPool::Lease& lease) {
    if (Status s =
            Exec(lease,
                 "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                 "name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                 "create schema_migrations");
        !s) {
      return s;
    }
    PgResult current(
        pool_.Exec(lease, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, nullptr));
    if (!current.Ok() || current.Rows() != 1) return Failed(lease, "read schema version");
    const std::int64_t version = current.Int(0, 0);
    const auto& migrations = internal::PostgresMigrations();
    if (!migrations.empty() && version > migrations.back().version) {
      return Error{ErrorCode::kRuleConfig, "postgres: database schema version " +
                                               std::to_string(version) +
                                               " is newer than this magcds supports (" +
                                               std::to_string(migrations.back().version) + ")"};
    }
    for (const internal::Migration& migration : migrations) {
      if (migration.version <= version) continue;
      if (Status s = Exec(lease, "BEGIN", "begin migration"); !s) return s;
      if (Status s = Exec(lease, migration.sql, std::string("migration ") + migration.name); !s) {
        return s;
      }
      Params params;
      params.Add(static_cast<std::int64_t>(migration.version));
      params.Add(std::string(migration.name));
      params.Add(static_cast<std::int64_t>(std::time(nullptr)));
      PgResult record(Run(lease,
                          "INSERT INTO schema_migrations (version, name, applied_at) "
                          "VALUES ($1, $2, $3)",
                          params));
      if (!record.Ok()) return Failed(lease, "record migration");
      if (Status s = Exec(lease, "COMMIT", "commit migration"); !s) return s;
    }
    return OkStatus();
  }

  mutable PostgresPool pool_;
};

}  // namespace

Result<std::unique_ptr<FeedbackStore>> OpenPostgresStore(const PostgresOptions& options) {
  if (options.connection.empty()) {
    return Error{ErrorCode::kRuleConfig, "store: postgres needs a connection string"};
  }
  auto store = std::make_unique<PostgresStore>(options);
  if (Status s = store->Migrate(); !s) {
    // The libpq message names host and port, never the password.
    return Error{ErrorCode::kRuleConfig, "store: " + s.error().message};
  }
  return std::unique_ptr<FeedbackStore>(std::move(store));
}

}  // namespace cds::service::store
