// The leaf predicates, answered from PatientFacts with three-valued logic:
// medication, condition, lab, noLab, patient, draftOrder.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/engine_internal.h"

namespace cds::rules::internal {

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

Truth Evaluator::EvalDraftOrder(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
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

// Issue #11: a coded fact of a category a hook defines. Like any category,
// "none found" is false only when the hook obtained it completely.
Truth Evaluator::EvalFact(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
  const fhir::CategoryState& state = facts_.categories.Of(p.category);
  if (!state.obtained()) {
    if (notes != nullptr)
      notes->push_back(p.category + " not obtained" +
                       (state.note.empty() ? "" : ": " + state.note));
    return Truth::kUnknown;
  }
  bool any = false;
  const auto records = facts_.coded.find(p.category);
  if (records != facts_.coded.end()) {
    for (const fhir::CodedFact& fact : records->second) {
      if (!Matches(rs_.value_sets, p.value_set, MakeConceptView({&fact.code}))) continue;
      any = true;
      AddName(bound, fact.name.empty() ? fact.ref : fact.name);
      if (notes != nullptr) notes->push_back(fact.ref + " '" + fact.name + "' matches");
    }
  }
  if (!any && notes != nullptr) notes->push_back("no matching " + p.category + " fact");
  return any ? Truth::kTrue : Absent(state);
}

Truth Evaluator::EvalMedication(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
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
  for (std::size_t i : MedsIn(p.value_set)) {
    const fhir::MedicationFact& m = facts_.medications[i];
    if (m.proposed != proposed) continue;  // R29: never mixed
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
      for (const auto& r : m.chained_refs) chain += (chain.empty() ? ", continues " : " and ") + r;
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
void Evaluator::ExtendExposure(const Predicate& p, fhir::FhirInstant& start,
                               std::vector<std::string>* notes) {
  const auto gap =
      static_cast<EpochSeconds>(*p.chain_gap_days * static_cast<double>(fhir::kSecondsPerDay));
  bool extended = true;
  while (extended) {
    extended = false;
    for (std::size_t i : MedsIn(p.value_set)) {
      const fhir::MedicationFact& m = facts_.medications[i];
      if (m.current || !m.start || !m.end || m.start->seconds >= start.seconds) continue;
      if (std::find(p.chain_statuses.begin(), p.chain_statuses.end(), m.status) ==
          p.chain_statuses.end())
        continue;
      if (*m.end + gap < start.seconds) continue;
      if (notes != nullptr)
        notes->push_back("exposure continues " + m.ref + " '" + m.name + "' (" + m.status +
                         ", from " + m.start->date_text + ")");
      start = *m.start;
      extended = true;
    }
  }
}

Truth Evaluator::EvalCondition(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
  const fhir::CategoryState& state = State(FactCategory::kConditions);
  if (!state.obtained()) {
    if (notes != nullptr)
      notes->push_back("conditions not obtained" + (state.note.empty() ? "" : ": " + state.note));
    return Truth::kUnknown;
  }
  bool any = false;
  for (std::size_t i : CondsIn(p.value_set)) {
    const fhir::ConditionFact& c = facts_.conditions[i];
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

void Evaluator::NoteExclusions(const fhir::LabSelection& labs, std::vector<std::string>* notes) {
  if (notes == nullptr) return;
  for (const auto& e : labs.excluded) notes->push_back(e.ref + " excluded: " + e.reason);
}

Truth Evaluator::EvalLab(const Predicate& p, Bound& bound, std::vector<std::string>* notes) {
  const fhir::CategoryState& state = State(FactCategory::kObservations);
  if (!state.obtained()) {
    if (notes != nullptr)
      notes->push_back("observations not obtained" + (state.note.empty() ? "" : ": " + state.note));
    return Truth::kUnknown;
  }
  const fhir::LabSelection& labs = LabsOf(p.analyte);
  NoteExclusions(labs, notes);
  if (labs.usable.empty()) {
    if (notes != nullptr) notes->push_back("no usable result");
    return Absent(state);
  }
  const fhir::LabValue& latest = LatestLab(p.analyte);
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

Truth Evaluator::EvalNoLab(const Predicate& p, std::vector<std::string>* notes) {
  const fhir::CategoryState& state = State(FactCategory::kObservations);
  if (!state.obtained()) {
    if (notes != nullptr)
      notes->push_back("observations not obtained" + (state.note.empty() ? "" : ": " + state.note) +
                       ": absence cannot be assumed");
    return Truth::kUnknown;
  }
  const fhir::LabSelection& labs = LabsOf(p.analyte);
  NoteExclusions(labs, notes);
  for (const fhir::LabPick& v : labs.usable) {
    if (InWindow(v.effective, p.within_days)) {
      if (notes != nullptr)
        notes->push_back("recent usable result: " + v.observation->ref + " on " +
                         v.observation->effective->date_text);
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

Truth Evaluator::EvalPatient(const Predicate& p, std::vector<std::string>* notes) {
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

}  // namespace cds::rules::internal
