#include "tests/support/postgres_cluster.h"

#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/http_test_client.h"

namespace cds::testing {
namespace {

// Runs a shell command; its exit status.
int Run(const std::string& command) { return std::system(command.c_str()); }

std::string Capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  ::pclose(pipe);
  return out;
}

}  // namespace

std::string PostgresCluster::AsPostgres(const std::string& command) const {
  if (::geteuid() != 0) return command;
  return "runuser -u postgres -- " + command;
}

std::unique_ptr<PostgresCluster> PostgresCluster::Start(std::string* error) {
  std::unique_ptr<PostgresCluster> cluster(new PostgresCluster());
  const char* bin = std::getenv("CDS_PG_BIN");
  cluster->bin_ = bin != nullptr && *bin != '\0' ? bin : "/usr/lib/postgresql/15/bin";
  if (::access((cluster->bin_ + "/initdb").c_str(), X_OK) != 0) {
    *error = "no initdb in " + cluster->bin_ + " (install the postgresql package)";
    return nullptr;
  }
  cluster->dir_ = MakeTempDir("magcds-pg");
  if (::geteuid() == 0) {
    const passwd* user = ::getpwnam("postgres");
    if (user == nullptr || ::chown(cluster->dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      *error = "no postgres user to run the server as";
      return nullptr;
    }
  }
  const std::string& dir = cluster->dir_;
  if (Run(cluster->AsPostgres(cluster->bin_ + "/initdb -D " + dir +
                              "/data -A trust -U postgres "
                              "-E UTF8 --no-sync >" +
                              dir + "/initdb.log 2>&1")) != 0) {
    *error = "initdb failed: " + ReadFile(dir + "/initdb.log");
    return nullptr;
  }
  std::ofstream(dir + "/data/postgresql.conf", std::ios::app)
      << "listen_addresses = '127.0.0.1'\nunix_socket_directories = '" << dir << "'\n"
      << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 50\n";
  for (int attempt = 0; attempt < 5 && !cluster->running_; ++attempt) {
    cluster->port_ = FindFreePort();
    cluster->running_ = cluster->Restart();
  }
  if (!cluster->running_) {
    *error = "pg_ctl start failed: " + ReadFile(dir + "/server.log");
    return nullptr;
  }
  if (Run(cluster->AsPostgres(cluster->bin_ + "/createdb -h " + dir + " -p " +
                              std::to_string(cluster->port_) + " -U postgres magcds")) != 0) {
    *error = "createdb failed";
    return nullptr;
  }
  return cluster;
}

PostgresCluster::~PostgresCluster() {
  Resume();  // a stopped server would not stop
  if (running_) {
    Run(AsPostgres(bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop >/dev/null 2>&1"));
  }
  if (!dir_.empty()) RemoveTree(dir_);
}

std::string PostgresCluster::ConnectionString(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + database + " user=postgres";
}

std::string PostgresCluster::CreateDatabase(const std::string& name) const {
  Query("CREATE DATABASE " + name);
  return ConnectionString(name);
}

bool PostgresCluster::Stop() {
  running_ =
      Run(AsPostgres(bin_ + "/pg_ctl -D " + dir_ + "/data -m fast -w stop >/dev/null 2>&1")) != 0;
  return !running_;
}

bool PostgresCluster::Restart() {
  running_ =
      Run(AsPostgres(bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -o '-p " +
                     std::to_string(port_) + "' -w -t 30 start >/dev/null 2>&1")) == 0;
  return running_;
}

namespace {

// The postmaster's pid and every process whose parent it is.
std::vector<pid_t> ServerProcesses(const std::string& data_dir) {
  std::vector<pid_t> pids;
  const pid_t postmaster =
      static_cast<pid_t>(std::atol(ReadFile(data_dir + "/postmaster.pid").c_str()));
  if (postmaster <= 0) return pids;
  pids.push_back(postmaster);
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (const dirent* entry = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atol(entry->d_name));
    if (pid <= 0) continue;
    const std::string stat = ReadFile("/proc/" + std::string(entry->d_name) + "/stat");
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    int parent = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &parent) == 2 &&
        parent == postmaster) {
      pids.push_back(pid);
    }
  }
  ::closedir(proc);
  return pids;
}

}  // namespace

void PostgresCluster::Pause() {
  for (const pid_t pid : ServerProcesses(dir_ + "/data")) ::kill(pid, SIGSTOP);
}

void PostgresCluster::Resume() {
  for (const pid_t pid : ServerProcesses(dir_ + "/data")) ::kill(pid, SIGCONT);
}

std::string PostgresCluster::Query(const std::string& sql, const std::string& database) const {
  return Capture(AsPostgres(bin_ + "/psql -h " + dir_ + " -p " + std::to_string(port_) +
                            " -U postgres -d " + database + " -tA -c \"" + sql + "\" 2>/dev/null"));
}

std::string PostgresCluster::DumpData(const std::string& database) const {
  return Capture(AsPostgres(bin_ + "/pg_dump -h " + dir_ + " -p " + std::to_string(port_) +
                            " -U postgres --data-only " + database + " 2>/dev/null"));
}

}  // namespace cds::testing
