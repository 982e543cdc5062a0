#pragma once

// A bounded pool of libpq connections for the PostgreSQL store (internal to
// service/store/; the libpq type is only forward-declared here).
//
// Connections are opened lazily, up to `size`. A connection that failed a
// call is closed by its Lease and replaced on a later Acquire, which is how
// the store reconnects after the database comes back. While the database is
// unreachable, connection attempts are at most one per `retry_interval`;
// Acquire fails at once in between, so callers never queue behind a dead
// server.
//
// Thread-safety: Acquire may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

struct pg_conn;
struct pg_result;

namespace cds::service::store::internal {

struct PostgresPoolOptions {
  std::string connection;  // never logged
  std::size_t size = 4;
  int connect_timeout_s = 3;
  int statement_timeout_ms = 5000;
  std::chrono::milliseconds retry_interval{500};
  std::chrono::milliseconds acquire_timeout{5000};
};

class PostgresPool {
 public:
  explicit PostgresPool(PostgresPoolOptions options);
  ~PostgresPool();
  PostgresPool(const PostgresPool&) = delete;
  PostgresPool& operator=(const PostgresPool&) = delete;

  class Lease {
   public:
    Lease(PostgresPool* pool, pg_conn* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(other.conn_), broken_(other.broken_) {
      other.conn_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    pg_conn* get() const { return conn_; }
    // The connection failed a call: close it instead of returning it.
    void MarkBroken() { broken_ = true; }
    bool broken() const { return broken_; }

   private:
    PostgresPool* pool_;
    pg_conn* conn_;
    bool broken_ = false;
  };

  // A connection, or kUnavailable (database unreachable, pool exhausted for
  // longer than acquire_timeout).
  Result<Lease> Acquire();

  // Runs `sql` (with `count` text parameters, or as a plain possibly
  // multi-statement query when `values` is null) and waits for the answer for
  // at most statement_timeout_ms + 1 s, polling the socket: a database that
  // hangs (stopped, network black hole) cannot hold the caller, where a
  // blocking PQexec would wait forever. On timeout the lease is marked broken
  // and null is returned. The result is the first error, else the last one.
  pg_result* Exec(Lease& lease, const char* sql, int count, const char* const* values) const;

 private:
  void Release(pg_conn* conn, bool broken);
  Result<pg_conn*> Connect();
  static pg_result* ExecUntil(pg_conn* conn, const char* sql, int count, const char* const* values,
                              std::chrono::steady_clock::time_point deadline, bool& timed_out);

  const PostgresPoolOptions options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<pg_conn*> idle_;
  std::size_t open_ = 0;  // idle + leased + being connected
  std::chrono::steady_clock::time_point next_attempt_{};
  std::string last_error_;
};

}  // namespace cds::service::store::internal
