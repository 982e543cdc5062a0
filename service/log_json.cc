// JSON log lines (service/log.h).
#include "service/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhir/fhir_time.h"

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
    String(w, value);
  }
  w.EndObject();
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::fwrite(buffer.GetString(), 1, buffer.GetSize(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
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
