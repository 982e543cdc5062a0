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
#include <mutex>
#include <string>
#include <string_view>
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
// Group writes (issue #18): the writer is woken by the first line queued, then
// lingers this long for more, so a busy service pays one wake-up and one
// write(2) per few milliseconds instead of one per request. A half-full queue
// or a Flush ends the linger early.
constexpr auto kLinger = std::chrono::milliseconds(2);
constexpr std::size_t kWriteNowLines = kMaxQueuedLines / 2;

class LogQueue {
 public:
  // Appends `line` and a newline to the pending buffer: no allocation per
  // line once the buffers have grown, and nothing allocated on a request's
  // thread is freed on the writer's (issue #18: with malloc's arenas shared,
  // those frees made the I/O threads wait for each other).
  void Push(std::string_view line) {
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
      if (lines_ >= kMaxQueuedLines || pending_.size() + line.size() + 1 > kMaxQueuedBytes) {
        dropped_.fetch_add(1);
        unreported_ += 1;
        return;
      }
      pending_.append(line);
      pending_ += '\n';
      // A non-empty queue means the writer is writing or lingering: no wake-up.
      if (++lines_ != 1 && lines_ != kWriteNowLines) return;
    }
    wakeup_.notify_one();
  }

  // Waits (bounded) until the writer has written what was queued.
  void Flush(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!started_) return;
    ++flushing_;
    wakeup_.notify_one();
    idle_.wait_for(lock, timeout, [this] { return lines_ == 0 && !writing_; });
    --flushing_;
  }

  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  void Run() {
    std::string batch;  // swapped with pending_: both keep their capacity
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wakeup_.wait(lock, [this] { return lines_ > 0; });
      wakeup_.wait_for(lock, kLinger, [this] { return lines_ >= kWriteNowLines || flushing_ > 0; });
      batch.swap(pending_);
      lines_ = 0;
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
      batch.clear();
      lock.lock();
      writing_ = false;
      if (lines_ == 0) idle_.notify_all();
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
  std::string pending_;    // whole lines, each ending in '\n'
  std::size_t lines_ = 0;  // in pending_
  std::uint64_t unreported_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  bool started_ = false;
  bool writing_ = false;
  int flushing_ = 0;  // Flush calls waiting: no lingering
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
  Queue().Push(std::string_view(buffer.GetString(), buffer.GetSize()));
}

std::uint64_t LogLinesDropped() { return Queue().dropped(); }

void FlushLogs(std::chrono::milliseconds timeout) { Queue().Flush(timeout); }

std::string LogMs(double ms) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", ms);
  return text;
}

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
