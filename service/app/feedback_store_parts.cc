#include "service/app/feedback_store_parts.h"

#include <optional>
#include <string>
#include <utility>

#include "service/app/cli_common.h"
#include "service/feedback/store_metrics.h"
#include "service/log/log.h"
#include "service/ops/audit_log.h"

namespace cds::service {
namespace {

// The patient-id hash key: store.hashKeyFile, else the audit's key file, else
// $MAGCDS_AUDIT_HASH_KEY; none of them = the patient is not recorded.
Result<std::optional<PatientHasher>> StoreHasher(const ServiceConfig& config) {
  const std::string& file = !config.store.hash_key_file.empty()
                                ? config.store.hash_key_file
                                : config.operations.audit_hash_key_file;
  Result<PatientHasher> hasher = LoadPatientHasher(file);
  if (hasher) return std::optional<PatientHasher>(std::move(hasher).value());
  if (!file.empty()) return hasher.error();  // a configured key that cannot be read is an error
  return std::optional<PatientHasher>();
}

}  // namespace

Result<FeedbackStoreParts> BuildFeedbackStoreParts(const ServiceConfig& config, Metrics& metrics) {
  FeedbackStoreParts parts;
  Result<std::unique_ptr<store::FeedbackStore>> opened = OpenConfiguredStore(config.store);
  if (!opened && !config.store.configured) {
    // The implicit default (./magcds.db) is a convenience: an existing
    // deployment on a read-only directory keeps serving, loudly without it.
    LogEvent(
        "error", "feedback_store_unavailable",
        {{"error", opened.error().message},
         {"hint", "set store.path (or $MAGCDS_DB) to a writable file, or store.engine \"off\""}});
    return parts;
  }
  if (!opened) return opened.error();
  if (!*opened) {
    LogEvent("info", "feedback_store", {{"engine", "off"}});
    return parts;
  }
  parts.store = std::move(opened).value();
  Result<std::optional<PatientHasher>> hasher = StoreHasher(config);
  if (!hasher) return hasher.error();
  const bool patient_hash = hasher->has_value();

  store::StoreWriterOptions options;
  options.queue_capacity = config.store.queue_size;
  options.retention_days = static_cast<std::int64_t>(config.store.retention_days);
  options.clock = [] { return static_cast<std::int64_t>(SystemNow()); };
  options.on_feedback_stored = [&metrics](const std::string& rule_id, const std::string& outcome) {
    metrics.CountFeedback(rule_id, outcome);
  };
  options.log = [](const char* level, const char* event, const LogFields& fields) {
    LogEvent(level, event, fields);
  };
  parts.writer = std::make_unique<store::StoreWriter>(parts.store, std::move(options));
  parts.writer->Start();
  parts.sink = std::make_unique<StoreFeedbackSink>(*parts.writer, std::move(hasher).value());
  if (parts.store->shared() && config.store.shared_replay_cache) {
    parts.replay = std::make_unique<SharedReplayCache>(*parts.store, SharedReplayCacheOptions{});
  }

  store::StoreWriter* writer = parts.writer.get();
  SharedReplayCache* replay = parts.replay.get();
  const char* engine = parts.store->engine();
  metrics.AddCollector([writer, replay, engine](std::string& out) {
    RenderStoreMetrics(writer->stats(), engine, replay != nullptr ? replay->unavailable() : 0, out);
  });
  LogEvent("info", "feedback_store",
           {{"engine", engine},
            {"path", config.store.engine == "sqlite"
                         ? (config.store.path.empty() ? DefaultDatabasePath() : config.store.path)
                         : std::string()},
            {"patientHash", patient_hash ? "on" : "off"},
            {"sharedReplayCache", replay != nullptr ? "on" : "off"},
            {"retentionDays", std::to_string(config.store.retention_days)}});
  return parts;
}

void FeedbackStoreParts::Stop(std::chrono::milliseconds deadline) {
  if (writer) writer->Stop(deadline);
}

}  // namespace cds::service
