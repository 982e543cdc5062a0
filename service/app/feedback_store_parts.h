#pragma once

// The feedback store as `magcds serve` runs it (issue #16): the configured
// store, the writer thread that keeps it off the response path, the sink the
// HookHandler talks to, the shared jti replay cache (PostgreSQL only, unless
// switched off) and the /metrics series. Built once at startup.

#include <chrono>
#include <memory>

#include "common/result.h"
#include "service/app/config.h"
#include "service/auth/shared_replay_cache.h"
#include "service/feedback/store_feedback_sink.h"
#include "service/ops/metrics.h"
#include "service/store/feedback_store.h"
#include "service/store/store_writer.h"

namespace cds::service {

struct FeedbackStoreParts {
  // Declared in dependency order: destroyed replay, sink, writer, then store.
  std::shared_ptr<store::FeedbackStore> store;  // null with store.engine "off"
  std::unique_ptr<store::StoreWriter> writer;
  std::unique_ptr<StoreFeedbackSink> sink;
  std::unique_ptr<SharedReplayCache> replay;  // null unless shared (PostgreSQL)

  FeedbackSink* feedback_sink() const { return sink.get(); }
  // Writes what is queued (up to `deadline`), then stops the writer thread.
  void Stop(std::chrono::milliseconds deadline);
};

// kRuleConfig when the store or its hash key cannot be opened. `metrics`
// must outlive the parts (its collector reads the writer's stats).
Result<FeedbackStoreParts> BuildFeedbackStoreParts(const ServiceConfig& config, Metrics& metrics);

}  // namespace cds::service
