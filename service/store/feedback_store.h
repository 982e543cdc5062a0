#pragma once

// FeedbackStore: the governance store (issue #16). It remembers which card was
// issued by which rule, keeps the feedback the EHR sends for cards (CDS Hooks
// 2.0 §Feedback), answers the per-rule report, and, when shared by several
// replicas, holds the JWT replay cache.
//
// Two engines sit behind this one interface (no SQLite or libpq type appears
// in a public header):
//   - SQLite (OpenSqliteStore): an embedded file, WAL mode, the default;
//   - PostgreSQL (OpenPostgresStore): for several replicas on one database,
//     with a connection pool.
// Both create or upgrade their schema on open from the versioned migrations
// in service/store/migrations/<engine>/NNNN_*.sql.
//
// What is stored: card uuids, service ids, rule ids and versions, indicators,
// hook instances, times, the keyed hash of the patient id (never the raw id),
// feedback outcomes, suggestion uuids and override reason codings with the
// clinician's comment. Never a token, a raw patient id or a clinical value.
//
// The calls here block (they do I/O). The CDS request path never calls them
// directly: StoreWriter (service/store/store_writer.h) queues writes to a
// thread of its own.
//
// Thread-safety: every method may be called from any thread; the SQLite store
// serialises calls on one connection, the PostgreSQL store takes a pooled
// connection per call.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace cds::service::store {

// One card as issued to the EHR. Times are UTC epoch seconds.
struct IssuedCard {
  std::string card_uuid;
  std::string service_id;
  std::string rule_id;
  std::string rule_version;
  std::string ruleset_id;
  std::string ruleset_version;
  std::string indicator;      // "info" | "warning" | "critical"
  std::string hook_instance;  // the request's hookInstance
  std::string patient_hash;   // "hmac-sha256:<hex>", or "" when no hash key is configured
  std::int64_t issued_at = 0;
};

// One feedback item (CDS Hooks 2.0 §Feedback), as received.
struct FeedbackRecord {
  std::string service_id;
  std::string card_uuid;
  std::string outcome;                            // "accepted" | "overridden"
  std::string outcome_timestamp;                  // as sent (RFC 3339)
  std::vector<std::string> accepted_suggestions;  // suggestion uuids
  // overrideReason.reason (a Coding) and overrideReason.userComment; "" if absent.
  std::string override_system;
  std::string override_code;
  std::string override_display;
  std::string user_comment;
  std::int64_t received_at = 0;
};

// What storing one feedback item did.
struct FeedbackStored {
  bool inserted = false;  // false: the same item was already stored (idempotent)
  std::string rule_id;    // the issuing rule, "" when the card is unknown (unmatched)
};

// Raw counts for the report (service/store/feedback_report.h aggregates them).
struct IssuedCount {
  std::string rule_id;
  std::string rule_version;
  std::int64_t cards = 0;
};
struct FeedbackCount {
  std::string rule_id;       // "" = unmatched (no issued card with that uuid)
  std::string rule_version;  // "" = unmatched
  std::string outcome;
  std::string override_code;     // "" when none was given
  std::string override_display;  // as sent with the code
  std::int64_t suggestions = 0;  // accepted suggestions over these items
  std::int64_t items = 0;
};
struct ReportCounts {
  std::vector<IssuedCount> issued;
  std::vector<FeedbackCount> feedback;
};

// A shared replay-cache answer.
enum class ReplayVerdict { kFresh, kReplayed };

class FeedbackStore {
 public:
  virtual ~FeedbackStore() = default;

  // "sqlite" or "postgres".
  virtual const char* engine() const = 0;

  // Inserts the cards; a uuid already stored is left as it is. One transaction.
  virtual Status RecordIssued(const std::vector<IssuedCard>& cards) = 0;

  // Inserts the items in one transaction. Idempotent: an item equal in
  // (service, card, outcome, outcomeTimestamp) to a stored one is not stored
  // again. Returns one FeedbackStored per item, in order.
  virtual Result<std::vector<FeedbackStored>> RecordFeedback(
      const std::vector<FeedbackRecord>& items) = 0;

  // Counts of cards issued at or after `since` and feedback received at or
  // after `since` (epoch seconds; 0 = everything), by rule and version.
  virtual Result<ReportCounts> Counts(std::int64_t since) = 0;

  // Deletes issued cards and feedback older than `before` (epoch seconds) and
  // replay entries expired at `now`. Returns the number of rows deleted.
  virtual Result<std::int64_t> Purge(std::int64_t before, std::int64_t now) = 0;

  // Replay cache shared by every process on this store: remembers `key` until
  // `expires_at` unless it is already remembered and not expired at `now`.
  // kUnavailable when the store cannot answer (the caller decides).
  virtual Result<ReplayVerdict> RememberOnce(const std::string& key, std::int64_t expires_at,
                                             std::int64_t now) = 0;

  // True when the engine can be shared by several processes on several hosts
  // (PostgreSQL). The replay cache is only shared through such a store.
  virtual bool shared() const = 0;
};

struct SqliteOptions {
  std::string path;            // the database file; created with its schema
  int busy_timeout_ms = 5000;  // waits for another process's write lock
};

// Opens (creating if needed, mode 0600) a SQLite database in WAL mode and
// brings its schema up to date. kRuleConfig naming the path when it cannot.
Result<std::unique_ptr<FeedbackStore>> OpenSqliteStore(const SqliteOptions& options);

struct PostgresOptions {
  std::string connection;           // libpq connection string or URI (a secret: never logged)
  std::size_t pool_size = 4;        // connections at most
  int statement_timeout_ms = 5000;  // per statement, so a slow database cannot hold a caller
  int connect_timeout_s = 3;
};

// Connects to PostgreSQL and brings its schema up to date (under an advisory
// lock, so replicas starting together migrate once). kRuleConfig when the
// first connection or a migration fails; later connection losses are errors
// of the calls (kUnavailable) and the pool reconnects on the next call.
Result<std::unique_ptr<FeedbackStore>> OpenPostgresStore(const PostgresOptions& options);

// The schema version the migrations in this build bring a store to.
int LatestSchemaVersion();

}  // namespace cds::service::store
