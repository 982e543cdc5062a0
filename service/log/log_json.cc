// JSON log lines (service/log/log.h).
#include <pthread.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include "fhir/fhir_time.h"
#include "service/log/log.h"
#include "service/log/log_text.h"

namespace cds::service {
namespace {

void String(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// debug 0, info 1, warn 2, error 3; unknown names count as error (always written).
int Rank(std::string_view level) {
  if (level == "debug") return 0;
  if (level == "info") return 1;
  if (level == "warn") return 2;
  return 3;
}

std::atomic<int> min_rank{1};

// Issue #12: a log reader that stalls (a full stdout pipe) must never stall a
// response. Lines go into a bounded queue that one writer thread drains into
// stdout with write(2); when the queue is full a line is dropped and counted,
// and the writer reports the count once the reader takes lines again.
constexpr std::size_t kMaxQueuedBytes = 1024 * 1024;
constexpr std::size_t kMaxQueuedLines = 4096;

class LogQueue {
 public:
  void Push(std::string line) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!started_) {
        started_ = true;
        // Never joined or destroyed: the queue lives until the process ends,
        // so late log lines from any thread (even at exit) stay safe.
        std::thread([this] {
          // Signals are for the threads that wait for them (serve's sigwait);
          // this thread may have been started before they were blocked.
          sigset_t all;
          sigfillset(&all);
          pthread_sigmask(SIG_BLOCK, &all, nullptr);
          Run();
        }).detach();
      }
      if (lines_.size() >= kMaxQueuedLines || bytes_ + line.size() > kMaxQueuedBytes) {
        dropped_.fetch_add(1);
        unreported_ += 1;
        return;
      }
      bytes_ += line.size();
      lines_.push_back(std::move(line));
    }
    wakeup_.notify_one();
  }

  // Waits (bounded) until the writer has written what was queued.
  void Flush(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!started_) return;
    idle_.wait_for(lock, timeout, [this] { return lines_.empty() && !writing_; });
  }

  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wakeup_.wait(lock, [this] { return !lines_.empty(); });
      std::string batch;
      while (!lines_.empty() && batch.size() < 64 * 1024) {
        batch += lines_.front();
        bytes_ -= lines_.front().size();
        lines_.pop_front();
      }
      const std::uint64_t lost = unreported_;
      unreported_ = 0;
      writing_ = true;
      lock.unlock();
      if (lost > 0) {
        const std::string note =
            "{\"level\":\"warn\",\"event\":\"log_lines_dropped\",\"count\":\"" +
            std::to_string(lost) + "\"}\n";
        WriteAll(note);
      }
      WriteAll(batch);
      lock.lock();
      writing_ = false;
      if (lines_.empty()) idle_.notify_all();
    }
  }

  // A closed reader (EPIPE; SIGPIPE is ignored by `serve`) loses the lines.
  static void WriteAll(const std::string& text) {
    std::size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      written += static_cast<std::size_t>(n);
    }
  }

  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::condition_variable idle_;
  std::deque<std::string> lines_;
  std::size_t bytes_ = 0;
  std::uint64_t unreported_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  bool started_ = false;
  bool writing_ = false;
};

LogQueue& Queue() {
  static LogQueue* const kQueue = [] {
    auto* q = new LogQueue();  // intentionally never deleted (see Push)
    std::atexit([] { Queue().Flush(std::chrono::milliseconds(1000)); });
    return q;
  }();
  return *kQueue;
}

}  // namespace

bool SetLogLevel(std::string_view level) {
  if (level != "debug" && level != "info" && level != "warn" && level != "error") return false;
  min_rank.store(Rank(level));
  return true;
}

bool LogEnabled(std::string_view level) { return Rank(level) >= min_rank.load(); }

void LogEvent(std::string_view level, std::string_view event, const LogFields& fields) {
  if (!LogEnabled(level)) return;
  const auto now = std::chrono::system_clock::now();
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("time");
  String(w, fhir::FormatIsoUtc(static_cast<fhir::EpochSeconds>(seconds)));
  w.Key("level");
  String(w, level);
  w.Key("event");
  String(w, event);
  for (const auto& [name, value] : fields) {
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    // Issue #12: values may come from requests (ids, JWT claims, messages).
    String(w, LogText(value));
  }
  w.EndObject();
  std::string line(buffer.GetString(), buffer.GetSize());
  line += '\n';
  Queue().Push(std::move(line));
}

std::uint64_t LogLinesDropped() { return Queue().dropped(); }

void FlushLogs(std::chrono::milliseconds timeout) { Queue().Flush(timeout); }

std::string NewCorrelationId() {
  static const unsigned long kPrefix =
      (static_cast<unsigned long>(::getpid()) << 16) ^
      static_cast<unsigned long>(std::chrono::steady_clock::now().time_since_epoch().count() &
                                 0xffffffff);
  static std::atomic<unsigned long> counter{0};
  char text[40];
  std::snprintf(text, sizeof(text), "c-%08lx-%06lu", kPrefix & 0xffffffffUL, ++counter);
  return text;
}

}  // namespace cds::service
