#pragma once

// The feedback store's series for /metrics (issue #16), rendered from
// StoreWriter::stats() and the shared replay cache (Metrics::AddCollector):
//   magcds_store_up                          gauge   1 = last write succeeded
//   magcds_store_queue_depth                 gauge   items waiting to be written
//   magcds_store_queue_capacity              gauge
//   magcds_store_written_total{kind}         counter cards | feedback
//   magcds_store_dropped_total{kind}         counter cards dropped (queue full, stop) |
//                                                    feedback refused with 503
//   magcds_store_write_failures_total        counter failed store calls (retries included)
//   magcds_store_purged_rows_total           counter rows deleted by retention
//   magcds_store_replay_unavailable_total    counter shared jti checks without an answer

#include <cstdint>
#include <string>

#include "service/store/store_writer.h"

namespace cds::service {

void RenderStoreMetrics(const store::StoreWriterStats& stats, const char* engine,
                        std::uint64_t replay_unavailable, std::string& out);

}  // namespace cds::service
