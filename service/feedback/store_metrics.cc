#include "service/feedback/store_metrics.h"

namespace cds::service {
namespace {

void Family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP magcds_") + name + " " + help + "\n";
  out += std::string("# TYPE magcds_") + name + " " + type + "\n";
}

void Sample(std::string& out, const char* name, const std::string& labels, std::uint64_t value) {
  out += std::string("magcds_") + name + labels + " " + std::to_string(value) + "\n";
}

}  // namespace

void RenderStoreMetrics(const store::StoreWriterStats& stats, const char* engine,
                        std::uint64_t replay_unavailable, std::string& out) {
  const std::string engine_label = std::string("{engine=\"") + engine + "\"}";
  Family(out, "store_up", "gauge", "1 if the feedback store's last call succeeded, by engine.");
  Sample(out, "store_up", engine_label, stats.up ? 1 : 0);
  Family(out, "store_queue_depth", "gauge",
         "Issued cards and feedback items waiting to be written.");
  Sample(out, "store_queue_depth", "", stats.queued);
  Family(out, "store_queue_capacity", "gauge", "Capacity of the feedback store's write queue.");
  Sample(out, "store_queue_capacity", "", stats.capacity);
  Family(out, "store_written_total", "counter", "Rows written to the feedback store, by kind.");
  Sample(out, "store_written_total", "{kind=\"cards\"}", stats.written_cards);
  Sample(out, "store_written_total", "{kind=\"feedback\"}", stats.written_feedback);
  Family(out, "store_dropped_total", "counter",
         "Issued cards dropped (queue full or stopping) and feedback items refused with 503.");
  Sample(out, "store_dropped_total", "{kind=\"cards\"}", stats.dropped_cards);
  Sample(out, "store_dropped_total", "{kind=\"feedback\"}", stats.refused_feedback);
  Family(out, "store_write_failures_total", "counter",
         "Failed feedback store calls (database down or too slow), retries included.");
  Sample(out, "store_write_failures_total", "", stats.write_failures);
  Family(out, "store_purged_rows_total", "counter", "Rows deleted by the retention policy.");
  Sample(out, "store_purged_rows_total", "", stats.purged_rows);
  Family(out, "store_replay_unavailable_total", "counter",
         "Shared JWT replay checks that got no answer in time (local cache decided).");
  Sample(out, "store_replay_unavailable_total", "", replay_unavailable);
}

}  // namespace cds::service
