#pragma once

// Population backtest (`magcds rules backtest`, issue #17): runs the service's
// own core call (service/hooks/service_call.h) for every patient of a population
// (service/backtest/population.h), prefetch = that patient's resources, once with the
// new ruleset and, if given, once with a baseline, and counts what clinicians
// would have seen: cards per rule and indicator, undecided rules and why,
// cards per patient, and with a baseline the patients gaining and losing each
// card plus a sample of changed patients (keyed-hash ids, explain reasons).
//
// Patients run on `jobs` threads; the totals do not depend on the order in
// which they finish, and the sample is the changed patients with the smallest
// hashed ids, so the same input, rules, key and "now" give the same report.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "fhir/fhir_time.h"
#include "rules/ruleset.h"
#include "service/backtest/population.h"

namespace cds::service {

struct BacktestProgress {
  std::size_t done = 0;  // patients finished (evaluated or skipped)
  std::size_t total = 0;
  std::size_t skipped = 0;
  std::uint64_t bytes = 0;  // input bytes of finished patients
  double seconds = 0;
  bool finished = false;
};

struct BacktestOptions {
  std::vector<std::string> population;
  std::shared_ptr<const rules::RuleSet> rules;     // required: the version under test
  std::shared_ptr<const rules::RuleSet> baseline;  // optional
  std::string hook = "patient-view";
  std::optional<fhir::EpochSeconds> now;  // every patient "as of" this instant
  // Each patient as of the latest date in their record (falls back to `now`).
  bool now_per_patient = false;
  int jobs = 1;
  std::size_t sample_size = 20;
  std::string hash_key;  // HMAC key for patient ids in the sample (>= 16 bytes)
  // Called about five times a second from a reporting thread, and once at the end.
  std::function<void(const BacktestProgress&)> progress;
};

struct RuleCount {
  std::string rule_id;
  std::string title;
  std::string version;  // "" when the rule is not in this ruleset
  std::size_t cards = 0;
  std::size_t by_indicator[3] = {};  // info, warning, critical
  std::size_t unknown = 0;           // patients for whom the rule was undecided
  std::map<std::string, std::size_t> unknown_reasons;
  std::size_t patients_gaining = 0;  // with a baseline: card now, not before
  std::size_t patients_losing = 0;   // with a baseline: card before, not now
};

struct BacktestSide {
  std::string ruleset;           // "magnesium@1.0.0"
  std::string service_id;        // the service serving the hook
  std::vector<RuleCount> rules;  // the ruleset's rules in file order, then others
  std::size_t cards = 0;
  std::size_t patients_with_card = 0;
  std::map<std::size_t, std::size_t> cards_per_patient;  // cards -> patients
  std::map<std::string, std::size_t> call_errors;        // e.g. 412 messages -> patients
};

struct ChangedRule {
  std::string rule_id;
  std::string change;  // "gained" | "lost"
  std::vector<std::string> new_explain;
  std::vector<std::string> baseline_explain;
};

struct ChangedPatient {
  std::string patient_hash;  // "hmac-sha256:..."
  std::vector<ChangedRule> rules;
};

struct BacktestReport {
  std::string rules;     // label
  std::string baseline;  // label or ""
  std::string hook;
  std::string now;  // "2026-11-22T12:00:00Z" or "per patient (...)"
  std::vector<std::string> population;
  int jobs = 1;
  double seconds = 0;
  std::uint64_t input_bytes = 0;
  std::size_t patients_total = 0;  // found in the input
  std::size_t patients_evaluated = 0;
  std::size_t patients_skipped = 0;
  std::vector<InputProblem> problems;  // first 500
  std::size_t problem_count = 0;
  std::vector<std::pair<std::string, std::size_t>> unjoined;  // shared resources left out
  std::string hash_key_id;
  BacktestSide current;
  std::optional<BacktestSide> previous;  // the baseline run
  std::size_t patients_changed = 0;
  std::vector<ChangedPatient> sample;
};

// kInvalidRequest when the population cannot be read at all (a path is
// missing or unreadable, nothing in it) or a ruleset has no service for the
// hook; otherwise a report, with bad input counted in patients_skipped.
Result<BacktestReport> RunBacktest(const BacktestOptions& options);

}  // namespace cds::service
