#include "service/store/postgres_pool.h"

#include <poll.h>

#include <utility>

#include <libpq-fe.h>

namespace cds::service::store::internal {

PostgresPool::PostgresPool(PostgresPoolOptions options) : options_(std::move(options)) {}

PostgresPool::~PostgresPool() {
  for (pg_conn* conn : idle_) PQfinish(conn);
}

PostgresPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(conn_, broken_);
}

Result<pg_conn*> PostgresPool::Connect() {
  const std::string timeout = std::to_string(options_.connect_timeout_s);
  // Our defaults first: a connection string that sets them wins (expand_dbname).
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "magcds", options_.connection.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    PQfinish(conn);
    return Error{ErrorCode::kUnavailable, "postgres: cannot connect: " + message};
  }
  // A slow database must not hold a caller for longer than this.
  // NOTICEs (e.g. "already exists, skipping") would go to stderr: not wanted.
  const std::string set_timeout =
      "SET statement_timeout = " + std::to_string(options_.statement_timeout_ms) +
      "; SET client_min_messages = warning";
  bool timed_out = false;
  PGresult* result = ExecUntil(conn, set_timeout.c_str(), -1, nullptr,
                               std::chrono::steady_clock::now() +
                                   std::chrono::milliseconds(options_.statement_timeout_ms + 1000),
                               timed_out);
  const bool ok = result != nullptr && PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  if (!ok) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return Error{ErrorCode::kUnavailable, "postgres: cannot configure session: " + message};
  }
  return conn;
}

Result<PostgresPool::Lease> PostgresPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  for (;;) {
    if (!idle_.empty()) {
      pg_conn* conn = idle_.back();
      idle_.pop_back();
      return Lease(this, conn);
    }
    if (open_ < options_.size) {
      const auto now = std::chrono::steady_clock::now();
      if (now < next_attempt_) {
        return Error{ErrorCode::kUnavailable,
                     last_error_.empty() ? "postgres: unavailable" : last_error_};
      }
      ++open_;
      lock.unlock();
      Result<pg_conn*> conn = Connect();
      lock.lock();
      if (conn) {
        last_error_.clear();
        return Lease(this, *conn);
      }
      --open_;
      last_error_ = conn.error().message;
      next_attempt_ = std::chrono::steady_clock::now() + options_.retry_interval;
      available_.notify_all();
      return conn.error();
    }
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Error{ErrorCode::kUnavailable, "postgres: no free connection in the pool"};
    }
  }
}

pg_result* PostgresPool::Exec(Lease& lease, const char* sql, int count,
                              const char* const* values) const {
  bool timed_out = false;
  PGresult* result = ExecUntil(lease.get(), sql, count, values,
                               std::chrono::steady_clock::now() +
                                   std::chrono::milliseconds(options_.statement_timeout_ms + 1000),
                               timed_out);
  if (timed_out) lease.MarkBroken();
  return result;
}

PGresult* PostgresPool::ExecUntil(PGconn* conn, const char* sql, int count,
                                  const char* const* values,
                                  std::chrono::steady_clock::time_point deadline, bool& timed_out) {
  const int sent = values == nullptr
                       ? PQsendQuery(conn, sql)
                       : PQsendQueryParams(conn, sql, count, nullptr, values, nullptr, nullptr, 0);
  if (sent == 0) return nullptr;
  PGresult* kept = nullptr;
  for (;;) {
    while (PQisBusy(conn) != 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      pollfd socket{PQsocket(conn), POLLIN, 0};
      const int ready = left > 0 ? ::poll(&socket, 1, static_cast<int>(left)) : 0;
      if (ready == 0) {
        timed_out = true;
        PQclear(kept);
        return nullptr;
      }
      if (ready < 0 || PQconsumeInput(conn) == 0) {
        PQclear(kept);
        return nullptr;  // connection lost: PQstatus tells the caller
      }
    }
    PGresult* next = PQgetResult(conn);
    if (next == nullptr) return kept;
    const bool kept_error = kept != nullptr && PQresultStatus(kept) == PGRES_FATAL_ERROR;
    if (kept_error) {
      PQclear(next);
    } else {
      PQclear(kept);
      kept = next;
    }
  }
}

void PostgresPool::Release(pg_conn* conn, bool broken) {
  if (broken || PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
    PQfinish(conn);
    std::lock_guard<std::mutex> lock(mutex_);
    --open_;
  } else {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(conn);
  }
  available_.notify_one();
}

}  // namespace cds::service::store::internal
