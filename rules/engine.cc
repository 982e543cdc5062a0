#include "rules/engine.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/engine_internal.h"

namespace cds::rules {
namespace internal {

Truth And(Truth a, Truth b) {
  if (a == Truth::kFalse || b == Truth::kFalse) return Truth::kFalse;
  if (a == Truth::kUnknown || b == Truth::kUnknown) return Truth::kUnknown;
  return Truth::kTrue;
}
Truth Or(Truth a, Truth b) {
  if (a == Truth::kTrue || b == Truth::kTrue) return Truth::kTrue;
  if (a == Truth::kUnknown || b == Truth::kUnknown) return Truth::kUnknown;
  return Truth::kFalse;
}
Truth Not(Truth a) {
  if (a == Truth::kUnknown) return a;
  return a == Truth::kTrue ? Truth::kFalse : Truth::kTrue;
}

// "Not found" only counts as false when the category is complete.
Truth Absent(const fhir::CategoryState& state) {
  return state.complete() ? Truth::kFalse : Truth::kUnknown;
}

// Whole UTC days since the epoch (floor, also before 1970).
EpochSeconds DayOf(EpochSeconds t) {
  return t >= 0 ? t / fhir::kSecondsPerDay
                : -((-t + fhir::kSecondsPerDay - 1) / fhir::kSecondsPerDay);
}

Evaluation Evaluator::Run() {
  Evaluation evaluation;
  evaluation.outcomes.resize(rs_.rules.size());
  // R7: some facts (a deceased patient) withhold every card. Unknown does not
  // withhold: a missing Patient resource must not silence safety alerts.
  for (const RuleSet::Withhold& w : rs_.withhold_all) {
    if (Eval(w.when, nullptr, nullptr, 0) != Truth::kTrue) continue;
    for (std::size_t u = 0; u < rs_.rules.size(); ++u) {
      evaluation.outcomes[u].rule = static_cast<int>(u);
      if (explain_) evaluation.outcomes[u].explain.push_back("withheld: " + w.reason);
    }
    return evaluation;
  }
  for (int i : rs_.evaluation_order) {
    auto u = static_cast<std::size_t>(i);
    const Rule& rule = rs_.rules[u];
    RuleOutcome& outcome = evaluation.outcomes[u];
    outcome.rule = i;
    if (!rule.enabled) {
      raw_[u] = Truth::kFalse;
      if (explain_) outcome.explain.push_back("disabled in the rule file");
      continue;
    }
    if (std::find(rule.hooks.begin(), rule.hooks.end(), hook_) == rule.hooks.end()) {
      raw_[u] = Truth::kFalse;
      if (explain_) outcome.explain.push_back("not a rule of hook " + hook_);
      continue;
    }
    std::vector<std::string>* trace = explain_ ? &outcome.explain : nullptr;
    current_rule_ = &rule;
    raw_[u] = outcome.truth = Eval(rule.when, &outcome.bound, trace, 0);
    current_rule_ = nullptr;
  }
  for (int i : rs_.precedence_order) {
    auto u = static_cast<std::size_t>(i);
    RuleOutcome& outcome = evaluation.outcomes[u];
    outcome.fired = outcome.truth == Truth::kTrue;
    if (!outcome.fired) continue;
    for (const Rule::Replacement& r : rs_.rules[u].replaced_by) {
      const RuleOutcome& by = evaluation.outcomes[static_cast<std::size_t>(r.by)];
      bool unknown = r.when_unknown && by.truth == Truth::kUnknown;
      if (by.fired || unknown) {
        outcome.fired = false;
        outcome.replaced_by = r.by;
        if (explain_) {
          const std::string& id = rs_.rules[static_cast<std::size_t>(r.by)].id;
          outcome.explain.push_back(by.fired ? "replaced by " + id
                                             : "withheld: " + id +
                                                   " is unknown and withholds when unknown");
        }
        break;
      }
    }
  }
  for (std::size_t u = 0; u < rs_.rules.size(); ++u) {
    RuleOutcome& outcome = evaluation.outcomes[u];
    if (!outcome.fired) {
      outcome.bound.clear();
      continue;
    }
    Finish(rs_.rules[u], outcome);
  }
  return evaluation;
}

void Evaluator::Finish(const Rule& rule, RuleOutcome& outcome) {
  for (const auto& [name, predicate] : rule.bindings) {
    Bound bound;
    std::map<std::string, Bound> scratch;
    if (Eval(predicate, &scratch, nullptr, 0) == Truth::kTrue) {
      auto it = scratch.find(name);
      if (it != scratch.end()) outcome.bound[name] = std::move(it->second);
    }
  }
  for (std::size_t c = 0; c < rule.summary_cases.size(); ++c) {
    if (Eval(rule.summary_cases[c].when, nullptr, nullptr, 0) == Truth::kTrue) {
      outcome.summary_case = static_cast<int>(c);
      break;
    }
  }
  for (const TextTable& table : rule.tables) {
    std::vector<std::string> lines;
    auto it = outcome.bound.find(table.binding);
    if (it != outcome.bound.end()) {
      for (std::size_t med : it->second.medication_indices) {
        std::string text = table.otherwise;
        for (const TextTable::Row& row : table.rows) {
          if (MedInSet(row.value_set, med)) {
            text = row.text;
            break;
          }
        }
        std::string line = facts_.medications[med].name + ": " + text;
        if (std::find(lines.begin(), lines.end(), line) == lines.end())
          lines.push_back(std::move(line));
      }
    }
    outcome.table_lines.push_back(std::move(lines));
  }
  outcome.indicator = rule.indicator;
  for (const IndicatorCase& c : rule.indicator_cases) {
    if (Eval(c.when, nullptr, nullptr, 0) == Truth::kTrue) {
      outcome.indicator = std::max(outcome.indicator, c.indicator);
    }
  }
  for (const SuggestionTemplate& s : rule.suggestions) {
    std::vector<bool> shown;
    for (const ActionTemplate& a : s.actions) {
      shown.push_back(!a.when || Eval(*a.when, nullptr, nullptr, 0) == Truth::kTrue);
    }
    outcome.actions_shown.push_back(std::move(shown));
  }
}

// Is `t` within the last `days` days? R6 (calendar_day_windows): t's UTC day
// >= now's UTC day - days; otherwise now - t <= days (1.0.0 semantics).
// Windows are bounded at load (0..36525 days), so the products cannot overflow.
bool Evaluator::InWindow(EpochSeconds t, double days) const {
  if (rs_.calendar_day_windows) {
    return DayOf(t) >= DayOf(now_) - static_cast<EpochSeconds>(days);
  }
  return static_cast<double>(now_ - t) <= days * static_cast<double>(fhir::kSecondsPerDay);
}

// Has `since` lasted at least `days` days by now?
bool Evaluator::AtLeastDays(EpochSeconds since, double days) const {
  if (rs_.calendar_day_windows) {
    return DayOf(since) <= DayOf(now_) - static_cast<EpochSeconds>(days);
  }
  return static_cast<double>(now_ - since) >= days * static_cast<double>(fhir::kSecondsPerDay);
}

Truth Evaluator::Eval(const Predicate& p, std::map<std::string, Bound>* binds,
                      std::vector<std::string>* trace, int depth) {
  std::vector<std::string> notes;
  std::size_t line = 0;
  if (trace != nullptr) {
    line = trace->size();
    trace->emplace_back();
  }
  Bound bound;
  Truth t;
  // Without explain, a leaf shared by several rules is evaluated once.
  if (trace == nullptr && p.leaf_id >= 0) {
    auto& slot = leaves_[static_cast<std::size_t>(p.leaf_id)];
    if (!slot) {
      Bound fresh;
      Truth truth = EvalNode(p, nullptr, nullptr, depth, fresh, nullptr);
      slot.emplace(truth, std::move(fresh));
    }
    t = slot->first;
    if (t == Truth::kTrue && binds != nullptr && !p.bind_as.empty()) bound = slot->second;
  } else {
    t = EvalNode(p, binds, trace, depth, bound, trace != nullptr ? &notes : nullptr);
  }
  if (t == Truth::kTrue && binds != nullptr && !p.bind_as.empty()) {
    Bound& into = (*binds)[p.bind_as];
    for (const auto& n : bound.names) AddName(into, n);
    for (const auto& r : bound.requests) {
      if (std::find(into.requests.begin(), into.requests.end(), r) == into.requests.end())
        into.requests.push_back(r);
    }
    for (const auto& n : bound.statement_only) {
      if (std::find(into.statement_only.begin(), into.statement_only.end(), n) ==
          into.statement_only.end()) {
        into.statement_only.push_back(n);
      }
    }
    for (std::size_t i : bound.medication_indices) {
      if (std::find(into.medication_indices.begin(), into.medication_indices.end(), i) ==
          into.medication_indices.end()) {
        into.medication_indices.push_back(i);
      }
    }
    if (bound.latest_start &&
        (!into.latest_start || bound.latest_start->seconds > into.latest_start->seconds)) {
      into.latest_start = bound.latest_start;
    }
    if (bound.earliest_start &&
        (!into.earliest_start || bound.earliest_start->seconds < into.earliest_start->seconds)) {
      into.earliest_start = bound.earliest_start;
    }
    if (bound.lab && !into.lab) {
      into.lab = bound.lab;
      into.analyte_unit = bound.analyte_unit;
    }
  }
  if (trace != nullptr) {
    std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
    (*trace)[line] = indent + Describe(p) + " -> " + TruthName(t);
    std::vector<std::string> detail;
    detail.reserve(notes.size());
    for (const auto& n : notes) detail.push_back(indent + "    " + n);
    trace->insert(trace->begin() + static_cast<std::ptrdiff_t>(line) + 1, detail.begin(),
                  detail.end());
  }
  return t;
}

Truth Evaluator::EvalNode(const Predicate& p, std::map<std::string, Bound>* binds,
                          std::vector<std::string>* trace, int depth, Bound& bound,
                          std::vector<std::string>* notes) {
  switch (p.kind) {
    case PredicateKind::kAll: {
      Truth t = Truth::kTrue;
      for (const Predicate& c : p.children) t = And(t, Eval(c, binds, trace, depth + 1));
      return t;
    }
    case PredicateKind::kAny: {
      Truth t = Truth::kFalse;
      for (const Predicate& c : p.children) t = Or(t, Eval(c, binds, trace, depth + 1));
      return t;
    }
    case PredicateKind::kNot:
      return Not(Eval(p.children.front(), nullptr, trace, depth + 1));
    case PredicateKind::kMedication:
      return EvalMedication(p, bound, notes);
    case PredicateKind::kCondition:
      return EvalCondition(p, bound, notes);
    case PredicateKind::kLab:
      return EvalLab(p, bound, notes);
    case PredicateKind::kNoLab:
      return EvalNoLab(p, notes);
    case PredicateKind::kPatient:
      return EvalPatient(p, notes);
    case PredicateKind::kDraftOrder:
      return EvalDraftOrder(p, bound, notes);
    case PredicateKind::kFact:
      return EvalFact(p, bound, notes);
    case PredicateKind::kRuleFires: {
      Truth t = Truth::kFalse;
      for (int r : p.rules) {
        auto u = static_cast<std::size_t>(r);
        t = Or(t, raw_[u]);
        if (raw_[u] == Truth::kTrue)
          AddName(bound, rs_.rules[u].id + " (" + rs_.rules[u].title + ")");
        if (notes != nullptr) notes->push_back(rs_.rules[u].id + ": " + TruthName(raw_[u]));
      }
      return t;
    }
  }
  return Truth::kUnknown;
}

}  // namespace internal

Evaluation Evaluate(const RuleSet& rule_set, const fhir::PatientFacts& facts,
                    fhir::EpochSeconds as_of, const EvaluateOptions& options) {
  return internal::Evaluator(rule_set, facts, as_of, options.explain, options.hook).Run();
}

}  // namespace cds::rules
