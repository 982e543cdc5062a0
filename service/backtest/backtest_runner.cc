// The backtest loop (service/backtest/backtest.h): patients on `jobs` threads, each
// through BuildBundleRequest -> GatherPrefetchOnly -> RunServiceCall.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "cards/id_source.h"
#include "common/json_document.h"
#include "service/backtest/backtest.h"
#include "service/hooks/bundle_request.h"
#include "service/hooks/service_call.h"
#include "service/ops/audit_log.h"

namespace cds::service {
namespace {

using Steady = std::chrono::steady_clock;

struct RuleTally {
  std::size_t cards = 0;
  std::size_t by_indicator[3] = {};
  std::size_t unknown = 0;
  std::map<std::string, std::size_t> unknown_reasons;
  std::size_t gaining = 0;
  std::size_t losing = 0;
};

struct SideTally {
  std::map<std::string, RuleTally> rules;  // by rule id
  std::size_t cards = 0;
  std::size_t with_card = 0;
  std::map<std::size_t, std::size_t> per_patient;
  std::map<std::string, std::size_t> call_errors;

  void Merge(const SideTally& other) {
    for (const auto& [id, t] : other.rules) {
      RuleTally& mine = rules[id];
      mine.cards += t.cards;
      for (int i = 0; i < 3; ++i) mine.by_indicator[i] += t.by_indicator[i];
      mine.unknown += t.unknown;
      for (const auto& [why, n] : t.unknown_reasons) mine.unknown_reasons[why] += n;
      mine.gaining += t.gaining;
      mine.losing += t.losing;
    }
    cards += other.cards;
    with_card += other.with_card;
    for (const auto& [k, n] : other.per_patient) per_patient[k] += n;
    for (const auto& [k, n] : other.call_errors) call_errors[k] += n;
  }
};

// One ruleset's answer for one patient.
struct SideOutcome {
  bool answered = false;
  std::set<std::string> card_rules;  // rule ids with a card
  ServiceCallResult result;
};

SideOutcome CallFor(const rules::RuleSet& rule_set, const rules::ServiceDefinition& service,
                    const std::shared_ptr<const JsonDocument>& document, fhir::EpochSeconds now,
                    bool explain, SideTally* tally) {
  SideOutcome outcome;
  Result<HookRequest> request =
      BuildBundleRequest(document, rule_set, service, "Practitioner/magcds-backtest");
  if (!request) {
    if (tally) ++tally->call_errors[request.error().message];
    return outcome;
  }
  const fhir::GatherResult gathered =
      GatherPrefetchOnly(GatherInputFor(rule_set, service, *request));
  cards::SequentialIdSource ids;
  ServiceCallInput input;
  input.rule_set = &rule_set;
  input.service = &service;
  input.request = &*request;
  input.gathered = &gathered;
  input.now = now;
  ServiceCallOptions options;
  options.explain = explain;
  options.ids = &ids;
  outcome.result = RunServiceCall(input, options);
  if (!outcome.result.response) {
    if (tally) ++tally->call_errors[outcome.result.response.error().message];
    return outcome;
  }
  outcome.answered = true;
  for (const cards::Card& card : *outcome.result.response) outcome.card_rules.insert(card.rule_id);
  if (tally == nullptr) return outcome;
  const std::vector<cards::Card>& cards = *outcome.result.response;
  for (const cards::Card& card : cards) {
    RuleTally& rule = tally->rules[card.rule_id];
    ++rule.cards;
    ++rule.by_indicator[static_cast<int>(card.indicator)];
  }
  for (const UnknownRule& unknown : outcome.result.record.rules_unknown) {
    RuleTally& rule = tally->rules[unknown.rule_id];
    ++rule.unknown;
    ++rule.unknown_reasons[unknown.why];
  }
  tally->cards += cards.size();
  if (!cards.empty()) ++tally->with_card;
  ++tally->per_patient[cards.size()];
  return outcome;
}

std::vector<std::string> ExplainOf(const rules::RuleSet& rule_set, const SideOutcome& side,
                                   const std::string& rule_id) {
  const int index = rule_set.FindRule(rule_id);
  if (index < 0) return {"(not in this ruleset)"};
  if (!side.answered) return {"(no answer: the call failed)"};
  for (const rules::RuleOutcome& outcome : side.result.evaluation.outcomes) {
    if (outcome.rule != index) continue;
    std::vector<std::string> lines = {std::string("outcome: ") + rules::TruthName(outcome.truth) +
                                      (outcome.fired ? " (fires)" : "")};
    lines.insert(lines.end(), outcome.explain.begin(), outcome.explain.end());
    return lines;
  }
  return {};
}

BacktestSide Summarise(const rules::RuleSet& rule_set, const rules::ServiceDefinition& service,
                       const SideTally& tally, const rules::RuleSet* other) {
  BacktestSide side;
  side.ruleset = rule_set.Label();
  side.service_id = service.id;
  std::vector<std::pair<std::string, const rules::Rule*>> order;
  for (const rules::Rule& rule : rule_set.rules) order.emplace_back(rule.id, &rule);
  if (other != nullptr) {
    for (const rules::Rule& rule : other->rules) {
      if (rule_set.FindRule(rule.id) < 0) order.emplace_back(rule.id, nullptr);
    }
  }
  for (const auto& [id, rule] : order) {
    RuleCount count;
    count.rule_id = id;
    if (rule != nullptr) {
      count.title = rule->title;
      count.version = rule->version;
    } else if (other != nullptr) {
      count.title = other->rules[static_cast<std::size_t>(other->FindRule(id))].title;
    }
    if (const auto it = tally.rules.find(id); it != tally.rules.end()) {
      count.cards = it->second.cards;
      for (int i = 0; i < 3; ++i) count.by_indicator[i] = it->second.by_indicator[i];
      count.unknown = it->second.unknown;
      count.unknown_reasons = it->second.unknown_reasons;
      count.patients_gaining = it->second.gaining;
      count.patients_losing = it->second.losing;
    }
    side.rules.push_back(std::move(count));
  }
  side.cards = tally.cards;
  side.patients_with_card = tally.with_card;
  side.cards_per_patient = tally.per_patient;
  side.call_errors = tally.call_errors;
  return side;
}

const rules::ServiceDefinition* ServiceFor(const rules::RuleSet& rule_set,
                                           const std::string& hook) {
  for (const rules::ServiceDefinition& service : rule_set.services) {
    if (service.hook == hook) return &service;
  }
  return nullptr;
}

// One backtest run: the workers' shared state. Each worker keeps its own
// tallies and merges them at the end; the mutex guards the problem list, the
// sample and the merged totals.
class Run {
 public:
  Run(const BacktestOptions& options, const rules::ServiceDefinition& service,
      const rules::ServiceDefinition* baseline_service, const PatientHasher& hasher,
      Population& population, std::vector<InputProblem> problems)
      : options_(options),
        service_(service),
        baseline_service_(baseline_service),
        hasher_(hasher),
        population_(population),
        problems_(std::move(problems)),
        skipped_(population.skipped_while_indexing()),
        total_(population.patient_count() + population.skipped_while_indexing()) {}

  // Runs the workers (and the progress reporter); fails only when input that
  // was readable while listing no longer is.
  Status Execute() {
    std::thread reporter;
    if (options_.progress) reporter = std::thread([this] { Report(); });
    std::vector<std::thread> workers;
    for (int j = 1; j < std::max(1, options_.jobs); ++j) workers.emplace_back([this] { Work(); });
    Work();
    for (std::thread& worker : workers) worker.join();
    if (reporter.joinable()) {
      {
        std::lock_guard<std::mutex> lock(progress_mutex_);
        workers_done_ = true;
      }
      progress_cv_.notify_all();
      reporter.join();
    }
    if (fatal_) return *fatal_;
    if (options_.progress) options_.progress(Snapshot(true));
    return OkStatus();
  }

  BacktestReport Finish(Steady::time_point started) {
    BacktestReport report;
    report.rules = options_.rules->Label();
    report.hook = options_.hook;
    report.now = options_.now_per_patient ? "per patient: the latest date in their record"
                 : options_.now           ? fhir::FormatIsoUtc(*options_.now)
                                          : "";
    report.population = options_.population;
    report.jobs = std::max(1, options_.jobs);
    report.input_bytes = population_.input_bytes();
    report.patients_total = total_;
    report.patients_evaluated = evaluated_;
    report.patients_skipped = skipped_.load();
    report.problem_count = problems_.size();
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const InputProblem& a, const InputProblem& b) {
                       return a.file != b.file ? a.file < b.file : a.line < b.line;
                     });
    if (problems_.size() > 500) problems_.resize(500);
    report.problems = std::move(problems_);
    report.unjoined = population_.unjoined();
    report.hash_key_id = hasher_.key_id();
    report.current = Summarise(*options_.rules, service_, current_, options_.baseline.get());
    if (options_.baseline) {
      report.baseline = options_.baseline->Label();
      report.previous =
          Summarise(*options_.baseline, *baseline_service_, previous_, options_.rules.get());
      report.patients_changed = changed_;
      for (auto& [hash, patient] : sample_) report.sample.push_back(std::move(patient));
    }
    report.seconds = std::chrono::duration<double>(Steady::now() - started).count();
    return report;
  }

 private:
  struct WorkerTally {
    SideTally current, previous;
    std::size_t evaluated = 0, changed = 0;
  };

  void Work() {
    WorkerTally tally;
    PatientSlice slice;
    for (;;) {
      Result<bool> next = population_.Next(slice);
      if (!next) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!fatal_) fatal_ = next.error();
        break;
      }
      if (!*next) break;
      if (Patient(slice, tally)) {
        ++tally.evaluated;
      } else {
        ++skipped_;
      }
      bytes_done_ += slice.bytes;
      ++done_;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    current_.Merge(tally.current);
    previous_.Merge(tally.previous);
    evaluated_ += tally.evaluated;
    changed_ += tally.changed;
  }

  void Problem(InputProblem problem) {
    std::lock_guard<std::mutex> lock(mutex_);
    problems_.push_back(std::move(problem));
  }

  // One patient through the core call (twice with a baseline); false when
  // the input is bad and the patient is skipped.
  bool Patient(const PatientSlice& slice, WorkerTally& tally) {
    auto document = JsonDocument::Parse(slice.bundle_json);
    if (!document) {
      // "invalid JSON at byte offset N: ..." -> the file's line.
      const std::string& message = document.error().message;
      std::size_t line = 0;
      if (const std::size_t at = message.find("byte offset "); at != std::string::npos) {
        const std::size_t offset = std::strtoull(message.c_str() + at + 12, nullptr, 10);
        if (slice.patient_key.empty()) line = LineOfOffset(slice.bundle_json, offset);
      }
      Problem({slice.origin, line, "Bundle is not JSON: " + message + "; patient skipped"});
      return false;
    }
    Result<HookRequest> probe = BuildBundleRequest(*document, *options_.rules, service_);
    if (!probe) {
      // JSON, but not one patient's Bundle (a lone resource, two patients).
      Problem({slice.origin, slice.patient_key.empty() ? 1u : 0u,
               probe.error().message + "; patient skipped"});
      return false;
    }
    std::optional<fhir::EpochSeconds> now = options_.now;
    if (options_.now_per_patient) {
      if (const auto latest = LatestRecordedTime(**document)) now = *latest;
    }
    if (!now) {
      Problem({slice.origin, 0, "no dated resource for --now-per-patient; patient skipped"});
      return false;
    }
    const SideOutcome mine =
        CallFor(*options_.rules, service_, *document, *now, false, &tally.current);
    if (!options_.baseline) return true;
    const SideOutcome theirs =
        CallFor(*options_.baseline, *baseline_service_, *document, *now, false, &tally.previous);
    std::vector<std::pair<std::string, std::string>> changes;  // rule id, gained | lost
    for (const std::string& id : mine.card_rules) {
      if (theirs.card_rules.count(id) == 0) {
        ++tally.current.rules[id].gaining;
        changes.emplace_back(id, "gained");
      }
    }
    for (const std::string& id : theirs.card_rules) {
      if (mine.card_rules.count(id) == 0) {
        ++tally.current.rules[id].losing;
        changes.emplace_back(id, "lost");
      }
    }
    if (changes.empty()) return true;
    ++tally.changed;
    const std::string patient_id =
        slice.patient_key.empty() ? probe->patient_id : slice.patient_key;
    Sample(hasher_.Hash(patient_id), *document, *now, changes);
    return true;
  }

  // Keeps the changed patients with the smallest hashes (the same sample
  // whatever the thread timing); explain runs only for those.
  void Sample(const std::string& hash, const std::shared_ptr<const JsonDocument>& document,
              fhir::EpochSeconds now,
              const std::vector<std::pair<std::string, std::string>>& changes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const bool wanted = sample_.size() < options_.sample_size ||
                          (!sample_.empty() && hash < std::prev(sample_.end())->first);
      if (!wanted) return;
    }
    const SideOutcome mine = CallFor(*options_.rules, service_, document, now, true, nullptr);
    const SideOutcome theirs =
        CallFor(*options_.baseline, *baseline_service_, document, now, true, nullptr);
    ChangedPatient patient;
    patient.patient_hash = hash;
    for (const auto& [id, change] : changes) {
      patient.rules.push_back({id, change, ExplainOf(*options_.rules, mine, id),
                               ExplainOf(*options_.baseline, theirs, id)});
    }
    std::lock_guard<std::mutex> lock(mutex_);
    sample_.emplace(hash, std::move(patient));
    while (sample_.size() > options_.sample_size) sample_.erase(std::prev(sample_.end()));
  }

  BacktestProgress Snapshot(bool finished) const {
    BacktestProgress p;
    p.done = done_.load() + population_.skipped_while_indexing();
    p.total = total_;
    p.skipped = skipped_.load();
    p.bytes = bytes_done_.load();
    p.seconds = std::chrono::duration<double>(Steady::now() - started_).count();
    p.finished = finished;
    return p;
  }

  // Calls options_.progress five times a second until the workers are done.
  void Report() {
    std::unique_lock<std::mutex> lock(progress_mutex_);
    while (!progress_cv_.wait_for(lock, std::chrono::milliseconds(200),
                                  [this] { return workers_done_; })) {
      options_.progress(Snapshot(false));
    }
  }

  const BacktestOptions& options_;
  const rules::ServiceDefinition& service_;
  const rules::ServiceDefinition* const baseline_service_;  // null without a baseline
  const PatientHasher& hasher_;
  Population& population_;
  const Steady::time_point started_ = Steady::now();

  std::mutex mutex_;
  std::vector<InputProblem> problems_;
  std::map<std::string, ChangedPatient> sample_;  // by hash, smallest first
  SideTally current_, previous_;
  std::size_t evaluated_ = 0, changed_ = 0;
  std::optional<Error> fatal_;

  std::atomic<std::size_t> done_{0};
  std::atomic<std::size_t> skipped_;
  std::atomic<std::uint64_t> bytes_done_{0};
  const std::size_t total_;

  std::mutex progress_mutex_;
  std::condition_variable progress_cv_;
  bool workers_done_ = false;
};

}  // namespace

Result<BacktestReport> RunBacktest(const BacktestOptions& options) {
  const Steady::time_point started = Steady::now();
  const rules::ServiceDefinition* service = ServiceFor(*options.rules, options.hook);
  if (service == nullptr) {
    return Error{ErrorCode::kInvalidRequest,
                 options.rules->Label() + " has no service for hook '" + options.hook + "'"};
  }
  const rules::ServiceDefinition* baseline_service = nullptr;
  if (options.baseline) {
    baseline_service = ServiceFor(*options.baseline, options.hook);
    if (baseline_service == nullptr) {
      return Error{ErrorCode::kInvalidRequest,
                   options.baseline->Label() + " has no service for hook '" + options.hook + "'"};
    }
  }
  Result<PatientHasher> hasher = PatientHasher::Create(options.hash_key);
  if (!hasher) return Error{ErrorCode::kInvalidRequest, hasher.error().message};

  std::vector<InputProblem> problems;
  Result<std::unique_ptr<Population>> population =
      Population::Open(options.population, options.jobs, problems);
  if (!population) return population.error();

  Run run(options, *service, baseline_service, *hasher, **population, std::move(problems));
  if (Status executed = run.Execute(); !executed) return executed.error();
  return run.Finish(started);
}

}  // namespace cds::service
