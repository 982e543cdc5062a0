// The backtest loop (service/backtest.h): patients on `jobs` threads, each
// through BuildBundleRequest -> GatherPrefetchOnly -> RunServiceCall.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "cards/id_source.h"
#include "fhir/json_document.h"
#include "service/audit_log.h"
#include "service/backtest.h"
#include "service/bundle_request.h"
#include "service/service_call.h"

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
                    const std::shared_ptr<const fhir::JsonDocument>& document,
                    fhir::EpochSeconds now, bool explain, SideTally* tally) {
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

}  // namespace

Result<BacktestReport> RunBacktest(const BacktestOptions& options) {
  const Steady::time_point started = Steady::now();
  const rules::ServiceDefinition* service = nullptr;
  const rules::ServiceDefinition* baseline_service = nullptr;
  for (const rules::ServiceDefinition& s : options.rules->services) {
    if (s.hook == options.hook && service == nullptr) service = &s;
  }
  if (service == nullptr) {
    return Error{ErrorCode::kInvalidRequest,
                 options.rules->Label() + " has no service for hook '" + options.hook + "'"};
  }
  if (options.baseline) {
    for (const rules::ServiceDefinition& s : options.baseline->services) {
      if (s.hook == options.hook && baseline_service == nullptr) baseline_service = &s;
    }
    if (baseline_service == nullptr) {
      return Error{ErrorCode::kInvalidRequest,
                   options.baseline->Label() + " has no service for hook '" + options.hook + "'"};
    }
  }
  Result<PatientHasher> hasher = PatientHasher::Create(options.hash_key);
  if (!hasher) return Error{ErrorCode::kInvalidRequest, hasher.error().message};

  BacktestReport report;
  std::vector<InputProblem> problems;
  Result<std::unique_ptr<Population>> opened =
      Population::Open(options.population, options.jobs, problems);
  if (!opened) return opened.error();
  Population& population = **opened;

  std::mutex mutex;  // guards everything below up to `fatal`
  std::vector<SideTally> current_tallies, previous_tallies;
  std::map<std::string, ChangedPatient> sample;  // smallest hashes first
  std::size_t changed = 0, evaluated = 0;
  std::optional<Error> fatal;
  std::atomic<std::size_t> done{0}, skipped{population.skipped_while_indexing()};
  std::atomic<std::uint64_t> bytes_done{0};

  const auto note_problem = [&](InputProblem problem) {
    std::lock_guard<std::mutex> lock(mutex);
    problems.push_back(std::move(problem));
  };

  auto work = [&] {
    SideTally current, previous;
    std::size_t my_evaluated = 0, my_changed = 0;
    PatientSlice slice;
    for (;;) {
      Result<bool> next = population.Next(slice);
      if (!next) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!fatal) fatal = next.error();
        break;
      }
      if (!*next) break;
      auto document = fhir::JsonDocument::Parse(slice.bundle_json);
      if (!document) {
        // "invalid JSON at byte offset N: ..." -> the file's line.
        const std::string& message = document.error().message;
        std::size_t line = 0;
        if (const std::size_t at = message.find("byte offset "); at != std::string::npos) {
          const std::size_t offset = std::strtoull(message.c_str() + at + 12, nullptr, 10);
          if (slice.patient_key.empty()) line = LineOfOffset(slice.bundle_json, offset);
        }
        note_problem({slice.origin, line, "Bundle is not JSON: " + message + "; patient skipped"});
        ++skipped;
      } else if (Result<HookRequest> probe =
                     BuildBundleRequest(*document, *options.rules, *service);
                 !probe) {
        // JSON, but not a Bundle (e.g. a single resource in a *.json file).
        note_problem({slice.origin, 1, probe.error().message + "; patient skipped"});
        ++skipped;
      } else {
        std::optional<fhir::EpochSeconds> now = options.now;
        if (options.now_per_patient) {
          if (const auto latest = LatestRecordedTime(**document)) now = *latest;
        }
        if (!now) {
          note_problem(
              {slice.origin, 0, "no dated resource for --now-per-patient; patient skipped"});
          ++skipped;
        } else {
          SideOutcome mine = CallFor(*options.rules, *service, *document, *now, false, &current);
          if (options.baseline) {
            SideOutcome theirs =
                CallFor(*options.baseline, *baseline_service, *document, *now, false, &previous);
            std::vector<std::pair<std::string, std::string>> diffs;
            for (const std::string& id : mine.card_rules) {
              if (theirs.card_rules.count(id) == 0) {
                ++current.rules[id].gaining;
                diffs.emplace_back(id, "gained");
              }
            }
            for (const std::string& id : theirs.card_rules) {
              if (mine.card_rules.count(id) == 0) {
                ++current.rules[id].losing;
                diffs.emplace_back(id, "lost");
              }
            }
            if (!diffs.empty()) {
              ++my_changed;
              std::string patient_id = slice.patient_key;
              if (patient_id.empty()) {
                Result<HookRequest> request =
                    BuildBundleRequest(*document, *options.rules, *service);
                patient_id = request ? request->patient_id : slice.origin;
              }
              const std::string hash = hasher->Hash(patient_id);
              bool wanted = false;
              {
                std::lock_guard<std::mutex> lock(mutex);
                wanted = sample.size() < options.sample_size ||
                         (!sample.empty() && hash < std::prev(sample.end())->first);
              }
              if (wanted) {
                // Explain only for the few patients that go into the sample.
                const SideOutcome mine_explained =
                    CallFor(*options.rules, *service, *document, *now, true, nullptr);
                const SideOutcome theirs_explained =
                    CallFor(*options.baseline, *baseline_service, *document, *now, true, nullptr);
                ChangedPatient patient;
                patient.patient_hash = hash;
                for (const auto& [id, change] : diffs) {
                  patient.rules.push_back({id, change,
                                           ExplainOf(*options.rules, mine_explained, id),
                                           ExplainOf(*options.baseline, theirs_explained, id)});
                }
                std::lock_guard<std::mutex> lock(mutex);
                sample.emplace(hash, std::move(patient));
                while (sample.size() > options.sample_size) sample.erase(std::prev(sample.end()));
              }
            }
          }
          ++my_evaluated;
        }
      }
      bytes_done += slice.bytes;
      ++done;
    }
    std::lock_guard<std::mutex> lock(mutex);
    current_tallies.push_back(std::move(current));
    previous_tallies.push_back(std::move(previous));
    evaluated += my_evaluated;
    changed += my_changed;
  };

  // Progress reporter: wakes five times a second until the workers are done.
  std::mutex progress_mutex;
  std::condition_variable progress_cv;
  bool workers_done = false;
  const std::size_t total = population.patient_count() + population.skipped_while_indexing();
  const auto snapshot = [&](bool finished) {
    BacktestProgress p;
    p.done = done.load() + population.skipped_while_indexing();
    p.total = total;
    p.skipped = skipped.load();
    p.bytes = bytes_done.load();
    p.seconds = std::chrono::duration<double>(Steady::now() - started).count();
    p.finished = finished;
    return p;
  };
  std::thread reporter;
  if (options.progress) {
    reporter = std::thread([&] {
      std::unique_lock<std::mutex> lock(progress_mutex);
      while (!progress_cv.wait_for(lock, std::chrono::milliseconds(200),
                                   [&] { return workers_done; })) {
        options.progress(snapshot(false));
      }
    });
  }
  std::vector<std::thread> workers;
  for (int j = 1; j < std::max(1, options.jobs); ++j) workers.emplace_back(work);
  work();
  for (std::thread& worker : workers) worker.join();
  if (reporter.joinable()) {
    {
      std::lock_guard<std::mutex> lock(progress_mutex);
      workers_done = true;
    }
    progress_cv.notify_all();
    reporter.join();
  }
  if (fatal) return *fatal;
  if (options.progress) options.progress(snapshot(true));

  SideTally current, previous;
  for (const SideTally& t : current_tallies) current.Merge(t);
  for (const SideTally& t : previous_tallies) previous.Merge(t);
  report.rules = options.rules->Label();
  report.hook = options.hook;
  report.population = options.population;
  report.jobs = std::max(1, options.jobs);
  report.input_bytes = population.input_bytes();
  report.patients_total = total;
  report.patients_evaluated = evaluated;
  report.patients_skipped = skipped.load();
  report.problem_count = problems.size();
  std::stable_sort(problems.begin(), problems.end(),
                   [](const InputProblem& a, const InputProblem& b) {
                     return a.file != b.file ? a.file < b.file : a.line < b.line;
                   });
  if (problems.size() > 500) problems.resize(500);
  report.problems = std::move(problems);
  report.unjoined = population.unjoined();
  report.hash_key_id = hasher->key_id();
  report.current = Summarise(*options.rules, *service, current, options.baseline.get());
  if (options.baseline) {
    report.baseline = options.baseline->Label();
    report.previous =
        Summarise(*options.baseline, *baseline_service, previous, options.rules.get());
    report.patients_changed = changed;
    for (auto& [hash, patient] : sample) report.sample.push_back(std::move(patient));
  }
  report.seconds = std::chrono::duration<double>(Steady::now() - started).count();
  return report;
}

}  // namespace cds::service
