#pragma once

// A throwaway PostgreSQL server for tests (issue #16): a new cluster under a
// temp directory (initdb), started with pg_ctl on a free 127.0.0.1 port with
// its socket in that directory, trust authentication on loopback only, fsync
// off. PostgreSQL refuses to run as root, so when the tests run as root the
// server runs as the `postgres` user of the Debian package (runuser).
// Debian 12's binaries are in /usr/lib/postgresql/15/bin ($CDS_PG_BIN
// overrides). Stopped (immediate) and removed when the object goes away.

#include <cstdint>
#include <memory>
#include <string>

namespace cds::testing {

class PostgresCluster {
 public:
  // Null (and `error` set) when the cluster cannot be made or started.
  static std::unique_ptr<PostgresCluster> Start(std::string* error);
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // libpq keyword/value connection string for database `database`.
  std::string ConnectionString(const std::string& database = "magcds") const;
  // Creates an empty database (isolates one test from the next); its connection string.
  std::string CreateDatabase(const std::string& name) const;
  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // pg_ctl stop -m fast / start again on the same port (for outage tests).
  bool Stop();
  bool Restart();
  // SIGSTOP / SIGCONT the server and all its backends: a database that hangs
  // (accepts connections, never answers), as a stalled host or disk does.
  void Pause();
  void Resume();
  // `psql -tA -c sql` against the magcds database; the output, "" on failure.
  std::string Query(const std::string& sql, const std::string& database = "magcds") const;
  // Everything the database holds, as text (pg_dump --data-only).
  std::string DumpData(const std::string& database = "magcds") const;

 private:
  PostgresCluster() = default;
  std::string AsPostgres(const std::string& command) const;

  std::string dir_;
  std::string bin_;
  std::uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace cds::testing
