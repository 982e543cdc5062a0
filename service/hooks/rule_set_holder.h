#pragma once

// RuleSetHolder: the active rule set, shared by all requests. Each request
// takes one snapshot (Get) at its start and uses it to the end, so a reload
// (Set) never changes the rules under a running request.
//
// Thread-safety: Get and Set may be called from any thread at any time.

#include <memory>
#include <mutex>
#include <utility>

#include "rules/ruleset.h"

namespace cds::service {

class RuleSetHolder {
 public:
  RuleSetHolder() = default;
  explicit RuleSetHolder(std::shared_ptr<const rules::RuleSet> rule_set)
      : rule_set_(std::move(rule_set)) {}

  RuleSetHolder(const RuleSetHolder&) = delete;
  RuleSetHolder& operator=(const RuleSetHolder&) = delete;

  // The active rule set; null until one has been set.
  std::shared_ptr<const rules::RuleSet> Get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return rule_set_;
  }

  void Set(std::shared_ptr<const rules::RuleSet> rule_set) {
    std::lock_guard<std::mutex> lock(mutex_);
    rule_set_.swap(rule_set);
    // The old set (now in `rule_set`) is released outside the lock.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const rules::RuleSet> rule_set_;
};

}  // namespace cds::service
