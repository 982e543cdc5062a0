#include "rules/engine.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace cds::rules {
namespace {

using fhir::Availability;
using fhir::EpochSeconds;
using fhir::FactCategory;

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

// Civil date of a UTC day number (Howard Hinnant's days_from_civil inverse).
void CivilFromDays(EpochSeconds z, int& y, int& m, int& d) {
  z += 719468;
  const EpochSeconds era = (z >= 0 ? z : z - 146096) / 146097;
  const EpochSeconds doe = z - era * 146097;
  const EpochSeconds yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const EpochSeconds doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const EpochSeconds mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const char* ComparisonText(Comparison c) {
  switch (c) {
    case Comparison::kBelow:
      return "<";
    case Comparison::kAtOrBelow:
      return "<=";
    case Comparison::kAbove:
      return ">";
    case Comparison::kAtOrAbove:
      return ">=";
    case Comparison::kBetween:
      return "between";
    case Comparison::kNone:
      break;
  }
  return "";
}

// Whether every value a (possibly censored) result can stand for satisfies the
// comparison: kTrue if all do, kFalse if none, kUnknown if some. A result "> 60"
// is never "below 30"; "< 15" always is; "< 40" against "below 30" is unknown.
Truth Compare(const fhir::LabValue& lab, const Predicate& p) {
  double lo = lab.value, hi = lab.value;
  bool lo_open = false, hi_open = false, lo_inf = false, hi_inf = false;
  if (lab.comparator == "<") {
    lo_inf = true;
    hi_open = true;
  } else if (lab.comparator == "<=") {
    lo_inf = true;
  } else if (lab.comparator == ">") {
    hi_inf = true;
    lo_open = true;
  } else if (lab.comparator == ">=") {
    hi_inf = true;
  }
  // Is every value below t (value < t, or <= t when inclusive)? None? Some?
  auto below = [&](double t, bool inclusive) {
    bool all = !hi_inf && (hi < t || (hi == t && (inclusive || hi_open)));
    bool none = !lo_inf && (lo > t || (lo == t && (!inclusive || lo_open)));
    if (all) return Truth::kTrue;
    return none ? Truth::kFalse : Truth::kUnknown;
  };
  switch (p.comparison) {
    case Comparison::kNone:
      return Truth::kTrue;
    case Comparison::kBelow:
      return below(p.threshold, false);
    case Comparison::kAtOrBelow:
      return below(p.threshold, true);
    case Comparison::kAbove:
      return Not(below(p.threshold, true));
    case Comparison::kAtOrAbove:
      return Not(below(p.threshold, false));
    case Comparison::kBetween:
      return And(Not(below(p.threshold, false)), below(p.threshold_high, true));
  }
  return Truth::kUnknown;
}

class Evaluator {
 public:
  Evaluator(const RuleSet& rule_set, const fhir::PatientFacts& facts, EpochSeconds now,
            bool explain, std::string hook)
      : hook_(std::move(hook)),
        rs_(rule_set),
        facts_(facts),
        now_(now),
        explain_(explain),
        med_member_(rule_set.value_sets.size()),
        cond_member_(rule_set.value_sets.size()),
        labs_(rule_set.analytes.size()),
        raw_(rule_set.rules.size(), Truth::kFalse),
        leaves_(static_cast<std::size_t>(rule_set.leaf_count)) {}

  Evaluation Run() {
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

 private:
  void Finish(const Rule& rule, RuleOutcome& outcome) {
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

  const fhir::CategoryState& State(FactCategory c) const { return facts_.state(c); }

  // Is `t` within the last `days` days? R6 (calendar_day_windows): t's UTC day
  // >= now's UTC day - days; otherwise now - t <= days (1.0.0 semantics).
  // Windows are bounded at load (0..36525 days), so the products cannot overflow.
  bool InWindow(EpochSeconds t, double days) const {
    if (rs_.calendar_day_windows) {
      return DayOf(t) >= DayOf(now_) - static_cast<EpochSeconds>(days);
    }
    return static_cast<double>(now_ - t) <= days * static_cast<double>(fhir::kSecondsPerDay);
  }
  // Has `since` lasted at least `days` days by now?
  bool AtLeastDays(EpochSeconds since, double days) const {
    if (rs_.calendar_day_windows) {
      return DayOf(since) <= DayOf(now_) - static_cast<EpochSeconds>(days);
    }
    return static_cast<double>(now_ - since) >= days * static_cast<double>(fhir::kSecondsPerDay);
  }

  // Concept views are built once per request; records that carry the same
  // concept (the same drug ordered many times) share one membership answer.
  using Concepts = std::vector<const fhir::CodeableConcept*>;

  static std::size_t HashConcepts(const Concepts& concepts) {
    std::hash<std::string> h;
    std::size_t seed = concepts.size();
    auto mix = [&seed](std::size_t v) {
      seed ^= v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
    };
    // Text and codes tell concepts apart well enough for a bucket; the long
    // system URIs and displays are left to SameConcepts.
    for (const fhir::CodeableConcept* c : concepts) {
      mix(h(c->text));
      for (const fhir::Coding& coding : c->codings) mix(h(coding.code));
    }
    return seed;
  }

  static bool SameConcepts(const Concepts& a, const Concepts& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i]->text != b[i]->text || a[i]->codings.size() != b[i]->codings.size()) return false;
      for (std::size_t k = 0; k < a[i]->codings.size(); ++k) {
        const fhir::Coding& x = a[i]->codings[k];
        const fhir::Coding& y = b[i]->codings[k];
        if (x.code != y.code || x.system != y.system || x.display != y.display) return false;
      }
    }
    return true;
  }

  // Only the first record of each distinct concept gets a (tokenised) view;
  // the others answer from its membership cache.
  static void BuildViews(const std::vector<Concepts>& concepts, std::vector<ConceptView>& views,
                         std::vector<std::size_t>& canonical) {
    // hash -> first index with that hash; `next` chains further distinct
    // concepts with the same hash (no per-bucket allocation).
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::unordered_map<std::size_t, std::size_t> head;
    head.reserve(concepts.size());
    std::vector<std::size_t> next(concepts.size(), kNone);
    views.resize(concepts.size());
    canonical.resize(concepts.size());
    for (std::size_t i = 0; i < concepts.size(); ++i) {
      auto [it, inserted] = head.emplace(HashConcepts(concepts[i]), i);
      std::size_t found = kNone;
      if (!inserted) {
        for (std::size_t j = it->second;; j = next[j]) {
          if (SameConcepts(concepts[i], concepts[j])) {
            found = j;
            break;
          }
          if (next[j] == kNone) {
            next[j] = i;  // a new distinct concept with the same hash
            break;
          }
        }
      }
      canonical[i] = found == kNone ? i : found;
      if (found == kNone) views[i] = MakeConceptView(concepts[i]);
    }
  }

  bool MedInSet(int vs, std::size_t med) {
    if (med_views_.empty() && !facts_.medications.empty()) {
      std::vector<Concepts> concepts;
      for (const fhir::MedicationFact& m : facts_.medications) {
        std::vector<const fhir::CodeableConcept*> c{&m.code};
        for (const auto& ing : m.ingredients) c.push_back(&ing);
        concepts.push_back(std::move(c));
      }
      BuildViews(concepts, med_views_, med_canonical_);
    }
    med = med_canonical_[med];
    auto& cache = med_member_[static_cast<std::size_t>(vs)];
    if (cache.empty()) cache.assign(facts_.medications.size(), -1);
    if (cache[med] < 0) {
      cache[med] =
          Matches(rs_.value_sets, vs, med_views_[med], [&](int sub) { return MedInSet(sub, med); })
              ? 1
              : 0;
    }
    return cache[med] == 1;
  }

  bool CondInSet(int vs, std::size_t cond) {
    if (cond_views_.empty() && !facts_.conditions.empty()) {
      std::vector<Concepts> concepts;
      for (const fhir::ConditionFact& c : facts_.conditions) concepts.push_back({&c.code});
      BuildViews(concepts, cond_views_, cond_canonical_);
    }
    cond = cond_canonical_[cond];
    auto& cache = cond_member_[static_cast<std::size_t>(vs)];
    if (cache.empty()) cache.assign(facts_.conditions.size(), -1);
    if (cache[cond] < 0) {
      cache[cond] = Matches(rs_.value_sets, vs, cond_views_[cond],
                            [&](int sub) { return CondInSet(sub, cond); })
                        ? 1
                        : 0;
    }
    return cache[cond] == 1;
  }

  const fhir::LabSeries& Labs(int analyte) {
    auto& slot = labs_[static_cast<std::size_t>(analyte)];
    if (!slot)
      slot = fhir::SelectLabResults(rs_.analytes[static_cast<std::size_t>(analyte)].spec,
                                    facts_.observations);
    return *slot;
  }

  static void AddName(Bound& bound, const std::string& name) {
    if (std::find(bound.names.begin(), bound.names.end(), name) == bound.names.end()) {
      bound.names.push_back(name);
    }
  }

  std::string Describe(const Predicate& p) const {
    std::string d;
    switch (p.kind) {
      case PredicateKind::kAll:
        d = "all of";
        break;
      case PredicateKind::kAny:
        d = "any of";
        break;
      case PredicateKind::kNot:
        d = "not";
        break;
      case PredicateKind::kMedication:
        d = std::string(p.source == MedicationSource::kCurrent    ? "current"
                        : p.source == MedicationSource::kProposed ? "proposed"
                                                                  : "current or proposed") +
            " medication in '" + rs_.value_sets[static_cast<std::size_t>(p.value_set)].id + "'";
        if (p.min_days) d += " for at least " + Number(*p.min_days) + " days";
        if (p.start_unknown) d += " with no start date";
        if (p.recent_days) d += " (or ordered within " + Number(*p.recent_days) + " days)";
        break;
      case PredicateKind::kCondition:
        d = "active condition in '" + rs_.value_sets[static_cast<std::size_t>(p.value_set)].id +
            "'";
        if (p.include_unconfirmed) d += " (unconfirmed counts)";
        if (p.condition_within_days)
          d += " dated within " + Number(*p.condition_within_days) + " days";
        break;
      case PredicateKind::kLab:
      case PredicateKind::kNoLab: {
        const Analyte& a = rs_.analytes[static_cast<std::size_t>(p.analyte)];
        d = (p.kind == PredicateKind::kNoLab ? "no usable " : "latest usable ") + a.title;
        if (p.within_days > 0) d += " within " + Number(p.within_days) + " days";
        if (!p.bands.empty()) {
          d += " in band";
          for (const auto& b : p.bands) d += " " + b;
        }
        if (p.comparison == Comparison::kBetween) {
          d += " between " + Number(p.threshold) + " and " + Number(p.threshold_high) + " " +
               a.spec.canonical_unit;
        } else if (p.comparison != Comparison::kNone) {
          d += std::string(" ") + ComparisonText(p.comparison) + " " + Number(p.threshold) + " " +
               a.spec.canonical_unit;
        }
        break;
      }
      case PredicateKind::kDraftOrder:
        d = "draft order in '" + rs_.value_sets[static_cast<std::size_t>(p.value_set)].id + "'";
        break;
      case PredicateKind::kPatient:
        d = p.deceased ? "patient deceased"
                       : "patient aged at least " + Number(p.min_age_years.value_or(0)) + " years";
        break;
      case PredicateKind::kRuleFires: {
        d = "any of these rules fires:";
        for (int r : p.rules) d += " " + rs_.rules[static_cast<std::size_t>(r)].id;
        break;
      }
    }
    if (!p.label.empty()) d += " [" + p.label + "]";
    return d;
  }

  Truth Eval(const Predicate& p, std::map<std::string, Bound>* binds,
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

  Truth EvalNode(const Predicate& p, std::map<std::string, Bound>* binds,
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

  Truth EvalDraftOrder(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
    const fhir::CategoryState& state = State(FactCategory::kDraftOrders);
    if (!state.obtained()) {
      if (notes != nullptr) notes->push_back("draft orders not obtained (not an order hook)");
      return Truth::kUnknown;
    }
    bool any = false;
    for (const fhir::DraftOrderFact& order : facts_.draft_orders) {
      if (!Matches(rs_.value_sets, p.value_set, MakeConceptView({&order.code}))) continue;
      any = true;
      AddName(bound, order.name.empty() ? order.ref : order.name);
      if (notes != nullptr) notes->push_back(order.ref + " '" + order.name + "' matches");
    }
    if (!any && notes != nullptr) notes->push_back("no matching draft order");
    return any ? Truth::kTrue : Absent(state);
  }

  Truth EvalMedication(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
    if (p.source == MedicationSource::kEither) {
      // R30 "current or proposed": either source deciding true is enough.
      Predicate current = p;
      current.source = MedicationSource::kCurrent;
      Predicate proposed = p;
      proposed.source = MedicationSource::kProposed;
      Bound from_proposed;
      const Truth a = EvalMedication(current, bound, notes);
      const Truth b = EvalMedication(proposed, from_proposed, notes);
      for (const std::string& name : from_proposed.names) AddName(bound, name);
      bound.requests.insert(bound.requests.end(), from_proposed.requests.begin(),
                            from_proposed.requests.end());
      bound.medication_indices.insert(bound.medication_indices.end(),
                                      from_proposed.medication_indices.begin(),
                                      from_proposed.medication_indices.end());
      return Or(a, b);
    }
    const bool proposed = p.source == MedicationSource::kProposed;
    const fhir::CategoryState& state =
        State(proposed ? FactCategory::kDraftOrders : FactCategory::kMedications);
    if (!state.obtained()) {
      if (notes != nullptr)
        notes->push_back(std::string(proposed ? "draft orders" : "medications") + " not obtained" +
                         (state.note.empty() ? "" : ": " + state.note));
      return Truth::kUnknown;
    }
    std::vector<std::size_t> matches;
    for (std::size_t i = 0; i < facts_.medications.size(); ++i) {
      const fhir::MedicationFact& m = facts_.medications[i];
      if (m.proposed != proposed) continue;  // R29: never mixed
      if (!MedInSet(p.value_set, i)) continue;
      const bool recent = !m.current && p.recent_days && m.start &&
                          std::find(p.recent_statuses.begin(), p.recent_statuses.end(), m.status) !=
                              p.recent_statuses.end() &&
                          InWindow(m.start->seconds, *p.recent_days);
      if (!m.current && !recent && !m.proposed) {
        if (notes != nullptr)
          notes->push_back(m.ref + " '" + m.name + "' not counted: " + m.excluded_reason);
        continue;
      }
      if (p.as_needed && m.as_needed != *p.as_needed) {
        if (notes != nullptr)
          notes->push_back(m.ref + " '" + m.name +
                           "' not counted: " + (m.as_needed ? "as needed (PRN)" : "not as needed"));
        continue;
      }
      if (!p.routes.empty() &&
          std::find(p.routes.begin(), p.routes.end(), m.route) == p.routes.end()) {
        if (notes != nullptr)
          notes->push_back(m.ref + " '" + m.name + "' not counted: route " +
                           fhir::RouteName(m.route));
        continue;
      }
      matches.push_back(i);
    }
    std::optional<fhir::FhirInstant> earliest;
    std::optional<fhir::FhirInstant> latest;
    bool some_unknown_start = false;
    for (std::size_t i : matches) {
      const fhir::MedicationFact& m = facts_.medications[i];
      if (m.start) {
        if (!earliest || m.start->seconds < earliest->seconds) earliest = m.start;
        if (!latest || m.start->seconds > latest->seconds) latest = m.start;
      } else {
        some_unknown_start = true;
      }
      if (notes != nullptr) {
        std::string chain;
        for (const auto& r : m.chained_refs)
          chain += (chain.empty() ? ", continues " : " and ") + r;
        notes->push_back(m.ref + " '" + m.name + "' matches (start " +
                         (m.start ? m.start->date_text : std::string("unknown")) + chain +
                         ", route " + fhir::RouteName(m.route) + ")");
      }
    }
    if (p.min_days && p.chain_gap_days && earliest) ExtendExposure(p, *earliest, notes);
    Truth t;
    if (p.min_days && proposed) {
      // R30 MG-21: a proposed order's intended duration.
      bool long_enough = false;
      for (std::size_t i : matches) {
        const auto& days = facts_.medications[i].intended_days;
        if (days && *days >= *p.min_days) long_enough = true;
      }
      t = long_enough ? Truth::kTrue : Absent(state);
    } else if (p.min_days) {
      bool long_enough = earliest && AtLeastDays(earliest->seconds, *p.min_days);
      t = long_enough ? Truth::kTrue : Absent(state);
      if (!long_enough && !matches.empty() && notes != nullptr) {
        notes->push_back(earliest ? "exposure since " + earliest->date_text + " is shorter"
                                  : "no start date known: duration unknown");
      }
    } else if (p.start_unknown) {
      t = some_unknown_start ? Truth::kTrue : Absent(state);
    } else {
      t = matches.empty() ? Absent(state) : Truth::kTrue;
    }
    if (matches.empty() && notes != nullptr) {
      notes->push_back(state.complete()
                           ? "no current match"
                           : "no current match, but medications are incomplete: " + state.note);
    }
    for (std::size_t i : matches) {
      const fhir::MedicationFact& m = facts_.medications[i];
      AddName(bound, m.name);
      bound.medication_indices.push_back(i);
      if (!m.current && !m.proposed) continue;
      bool request = false;
      std::vector<std::string> sources{m.ref};
      sources.insert(sources.end(), m.merged_refs.begin(), m.merged_refs.end());
      for (const std::string& r : sources) {
        // R21: only server-identified requests can be discontinued by a client.
        if (r.rfind("MedicationRequest/", 0) != 0 || r == "MedicationRequest/(no id)") continue;
        request = true;
        bound.requests.emplace_back(r, m.name);
      }
      if (!request && std::find(bound.statement_only.begin(), bound.statement_only.end(), m.name) ==
                          bound.statement_only.end()) {
        bound.statement_only.push_back(m.name);
      }
    }
    bound.earliest_start = earliest;
    bound.latest_start = latest;
    return t;
  }

  // R13: walks back through closed courses of any drug of the value set that
  // ended within the gap before the exposure start. A course without an end
  // cannot chain here (the facts layer chains those through priorPrescription).
  void ExtendExposure(const Predicate& p, fhir::FhirInstant& start,
                      std::vector<std::string>* notes) {
    const auto gap =
        static_cast<EpochSeconds>(*p.chain_gap_days * static_cast<double>(fhir::kSecondsPerDay));
    bool extended = true;
    while (extended) {
      extended = false;
      for (std::size_t i = 0; i < facts_.medications.size(); ++i) {
        const fhir::MedicationFact& m = facts_.medications[i];
        if (m.current || !m.start || !m.end || m.start->seconds >= start.seconds) continue;
        if (std::find(p.chain_statuses.begin(), p.chain_statuses.end(), m.status) ==
            p.chain_statuses.end())
          continue;
        if (*m.end + gap < start.seconds || !MedInSet(p.value_set, i)) continue;
        if (notes != nullptr)
          notes->push_back("exposure continues " + m.ref + " '" + m.name + "' (" + m.status +
                           ", from " + m.start->date_text + ")");
        start = *m.start;
        extended = true;
      }
    }
  }

  Truth EvalCondition(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
    const fhir::CategoryState& state = State(FactCategory::kConditions);
    if (!state.obtained()) {
      if (notes != nullptr)
        notes->push_back("conditions not obtained" + (state.note.empty() ? "" : ": " + state.note));
      return Truth::kUnknown;
    }
    bool any = false;
    for (std::size_t i = 0; i < facts_.conditions.size(); ++i) {
      const fhir::ConditionFact& c = facts_.conditions[i];
      if (!CondInSet(p.value_set, i)) continue;
      std::string why;
      if (!c.current)
        why = c.excluded_reason;
      else if (c.unconfirmed && !p.include_unconfirmed)
        why = "unconfirmed";
      else if (p.condition_within_days) {
        const std::optional<fhir::FhirInstant>& dated = c.onset ? c.onset : c.recorded;
        if (!dated && !p.undated_counts)
          why = "undated";
        else if (dated && !InWindow(dated->seconds, *p.condition_within_days)) {
          why = "dated " + dated->date_text + ", older than " + Number(*p.condition_within_days) +
                " days";
        }
      }
      if (!why.empty()) {
        if (notes != nullptr) notes->push_back(c.ref + " '" + c.name + "' not counted: " + why);
        continue;
      }
      any = true;
      AddName(bound, c.name);
      if (notes != nullptr) notes->push_back(c.ref + " '" + c.name + "' matches");
    }
    if (!any && notes != nullptr)
      notes->push_back(state.complete() ? "no active match"
                                        : "no active match, but conditions are incomplete");
    return any ? Truth::kTrue : Absent(state);
  }

  void NoteExclusions(const fhir::LabSeries& series, std::vector<std::string>* notes) {
    if (notes == nullptr) return;
    for (const auto& e : series.excluded) notes->push_back(e.ref + " excluded: " + e.reason);
  }

  Truth EvalLab(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
    const fhir::CategoryState& state = State(FactCategory::kObservations);
    if (!state.obtained()) {
      if (notes != nullptr)
        notes->push_back("observations not obtained" +
                         (state.note.empty() ? "" : ": " + state.note));
      return Truth::kUnknown;
    }
    const fhir::LabSeries& series = Labs(p.analyte);
    NoteExclusions(series, notes);
    if (series.values.empty()) {
      if (notes != nullptr) notes->push_back("no usable result");
      return Absent(state);
    }
    const fhir::LabValue& latest = series.values.front();
    if (notes != nullptr) {
      notes->push_back("latest usable: " + latest.ref + " " + latest.reported + " = " +
                       Number(latest.value) + " on " + latest.effective.date_text);
    }
    if (!latest.band.empty() && notes != nullptr) {
      notes->push_back(
          "graded " + latest.band + " on the " + latest.grade_unit + " scale" +
          (latest.component_of.empty() ? "" : " (component of " + latest.component_of + ")"));
    }
    if (p.within_days > 0 && !InWindow(latest.effective.seconds, p.within_days)) {
      if (notes != nullptr)
        notes->push_back("latest result is stale (older than " + Number(p.within_days) + " days)");
      return Absent(state);
    }
    Truth t = Compare(latest, p);
    if (t == Truth::kTrue && !p.bands.empty()) {
      t = std::find(p.bands.begin(), p.bands.end(), latest.band) != p.bands.end() ? Truth::kTrue
                                                                                  : Truth::kFalse;
    }
    if (t == Truth::kUnknown && p.undecidable_as_absent) {
      // R4: treated as no usable result, so other evidence decides.
      if (notes != nullptr) {
        notes->push_back(rs_.analytes[static_cast<std::size_t>(p.analyte)].title +
                         " censored, cannot decide " + ComparisonText(p.comparison) + " " +
                         Number(p.threshold));
      }
      return Absent(state);
    }
    if (t == Truth::kFalse && !state.complete()) t = Truth::kUnknown;
    if (t == Truth::kTrue) {
      bound.lab = latest;
      bound.analyte_unit = rs_.analytes[static_cast<std::size_t>(p.analyte)].spec.canonical_unit;
    }
    return t;
  }

  Truth EvalNoLab(const Predicate& p, std::vector<std::string>* notes) {
    const fhir::CategoryState& state = State(FactCategory::kObservations);
    if (!state.obtained()) {
      if (notes != nullptr)
        notes->push_back("observations not obtained" +
                         (state.note.empty() ? "" : ": " + state.note) +
                         ": absence cannot be assumed");
      return Truth::kUnknown;
    }
    const fhir::LabSeries& series = Labs(p.analyte);
    NoteExclusions(series, notes);
    for (const fhir::LabValue& v : series.values) {
      if (InWindow(v.effective.seconds, p.within_days)) {
        if (notes != nullptr)
          notes->push_back("recent usable result: " + v.ref + " on " + v.effective.date_text);
        return Truth::kFalse;
      }
    }
    if (!state.complete()) {
      if (notes != nullptr) notes->push_back("observations incomplete: absence cannot be assumed");
      return Truth::kUnknown;
    }
    if (notes != nullptr) notes->push_back("no usable result in the window");
    return Truth::kTrue;
  }

  Truth EvalPatient(const Predicate& p, std::vector<std::string>* notes) {
    const fhir::CategoryState& state = State(FactCategory::kPatient);
    if (!state.obtained()) {
      if (notes != nullptr)
        notes->push_back("patient not obtained" + (state.note.empty() ? "" : ": " + state.note));
      return Truth::kUnknown;
    }
    if (p.deceased) {
      if (facts_.deceased.value_or(false)) {
        if (notes != nullptr) notes->push_back("patient deceased");
        return Truth::kTrue;
      }
      if (!facts_.deceased && notes != nullptr) notes->push_back("no Patient resource");
      return facts_.deceased ? Truth::kFalse : Absent(state);
    }
    const std::string who = current_rule_ != nullptr ? current_rule_->id + " needs" : "needs";
    if (!facts_.birth_date_latest) {
      if (notes != nullptr)
        notes->push_back("age unknown \u2014 " + who + " age \u2265 " + Number(*p.min_age_years));
      return Truth::kUnknown;
    }
    int by = 0, bm = 0, bd = 0, ny = 0, nm = 0, nd = 0;
    CivilFromDays(DayOf(*facts_.birth_date_latest), by, bm, bd);
    CivilFromDays(DayOf(now_), ny, nm, nd);
    const int age = ny - by - ((nm < bm || (nm == bm && nd < bd)) ? 1 : 0);
    if (notes != nullptr)
      notes->push_back("age " + std::to_string(age) + " (from the latest possible birth day)");
    return static_cast<double>(age) >= *p.min_age_years ? Truth::kTrue : Truth::kFalse;
  }

  std::string hook_;
  const RuleSet& rs_;
  const fhir::PatientFacts& facts_;
  EpochSeconds now_;
  bool explain_;
  std::vector<std::vector<std::int8_t>> med_member_;
  std::vector<std::vector<std::int8_t>> cond_member_;
  std::vector<ConceptView> med_views_;
  std::vector<ConceptView> cond_views_;
  std::vector<std::size_t> med_canonical_;
  std::vector<std::size_t> cond_canonical_;
  std::vector<std::optional<fhir::LabSeries>> labs_;
  std::vector<Truth> raw_;
  std::vector<std::optional<std::pair<Truth, Bound>>> leaves_;
  const Rule* current_rule_ = nullptr;
};

}  // namespace

Evaluation Evaluate(const RuleSet& rule_set, const fhir::PatientFacts& facts,
                    fhir::EpochSeconds as_of, const EvaluateOptions& options) {
  return Evaluator(rule_set, facts, as_of, options.explain, options.hook).Run();
}

}  // namespace cds::rules
