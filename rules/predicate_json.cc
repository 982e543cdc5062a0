// Predicates of ruleset.json (when, bind, cases, withholdAll): all/any/not,
// ref to a definition (inlined), medication, condition, lab, noLab, patient,
// draftOrder and ruleFires, each resolved to value-set/analyte/rule indices.

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/fact_category.h"
#include "rules/loader_json_internal.h"

namespace cds::rules::internal {

void RuleSetBuilder::ParseWithholdAll() {
  const Value* list = Member(root_, "withholdAll");
  if (list == nullptr) return;
  if (!list->IsArray()) {
    r_.Fail("withholdAll", "expected an array of {when, reason}");
    return;
  }
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    std::string path = Index("withholdAll", i);
    const Value& w = (*list)[i];
    RuleSet::Withhold entry;
    GetString(w, "reason", path, r_, entry.reason);
    const Value* when = Member(w, "when");
    if (when == nullptr) {
      r_.Fail(Join(path, "when"), "missing; expected a predicate");
      continue;
    }
    std::map<std::string, BindKind> ignored;
    std::set<std::string> refs;
    entry.when = ParsePredicate(*when, Join(path, "when"), ignored, refs);
    out_.other_source["withholdAll " + std::to_string(i)] = CompactJson(w);
    out_.withhold_all.push_back(std::move(entry));
  }
}

Predicate RuleSetBuilder::ParsePredicate(const Value& v, const std::string& path,
                                         std::map<std::string, BindKind>& binds,
                                         std::set<std::string>& refs) {
  Predicate p;
  if (!v.IsObject()) {
    r_.Fail(path,
            "expected a predicate object (all, any, not, ref, medication, condition, lab, noLab, "
            "ruleFires)");
    return p;
  }
  std::string as;
  if (const Value* a = Member(v, "as")) {
    if (!a->IsString() || !IsId(a->GetString()) || std::string(a->GetString()) == "param" ||
        std::string(a->GetString()) == "patient") {
      r_.Fail(Join(path, "as"),
              "expected a binding name (letters, digits, '-', '_'; not param/patient)");
    } else {
      as = a->GetString();
    }
  }
  std::size_t kinds = 0;
  static constexpr std::string_view kKinds[] = {"all",        "any",       "not",        "ref",
                                                "medication", "condition", "lab",        "noLab",
                                                "ruleFires",  "patient",   "draftOrder", "fact"};
  for (std::string_view k : kKinds) {
    if (Member(v, k) != nullptr) ++kinds;
  }
  if (kinds != 1) {
    r_.Fail(path,
            "expected exactly one of all, any, not, ref, medication, condition, lab, noLab, "
            "ruleFires, patient, draftOrder, fact");
    return p;
  }
  if (const Value* ref = Member(v, "ref")) {
    std::string name = ref->IsString() ? ref->GetString() : "";
    const Value* def = definitions_ == nullptr ? nullptr : Member(*definitions_, name);
    if (def == nullptr) {
      r_.Fail(Join(path, "ref"), "unknown definition '" + name + "'");
      return p;
    }
    if (!refs.insert(name).second) {
      r_.Fail(Join(path, "ref"), "definition '" + name + "' refers to itself");
      return p;
    }
    p = ParsePredicate(*def, Join("definitions", name), binds, refs);
    refs.erase(name);
    p.label = name;
  } else if (const Value* list = Member(v, "all"); list != nullptr || Member(v, "any") != nullptr) {
    bool is_all = list != nullptr;
    if (!is_all) list = Member(v, "any");
    std::string lpath = Join(path, is_all ? "all" : "any");
    p.kind = is_all ? PredicateKind::kAll : PredicateKind::kAny;
    if (!list->IsArray() || list->Empty()) {
      r_.Fail(lpath, "expected a non-empty array of predicates");
      return p;
    }
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      p.children.push_back(ParsePredicate((*list)[i], Index(lpath, i), binds, refs));
    }
  } else if (const Value* inner = Member(v, "not")) {
    p.kind = PredicateKind::kNot;
    std::map<std::string, BindKind> ignored;  // names under "not" never bind anything
    p.children.push_back(ParsePredicate(*inner, Join(path, "not"), ignored, refs));
  } else if (const Value* med = Member(v, "medication")) {
    ParseMedication(*med, Join(path, "medication"), p);
  } else if (const Value* cond = Member(v, "condition")) {
    std::string cpath = Join(path, "condition");
    p.kind = PredicateKind::kCondition;
    p.value_set = ValueSetRef(*cond, cpath);
    if (const Value* u = Member(*cond, "includeUnconfirmed")) {
      if (!u->IsBool())
        r_.Fail(Join(cpath, "includeUnconfirmed"), "expected true or false");
      else
        p.include_unconfirmed = u->GetBool();
    }
    if (const Value* within = Member(*cond, "withinDays")) {
      double days = 0;
      if (WindowDays(*within, Join(cpath, "withinDays"), days)) p.condition_within_days = days;
    }
    if (const Value* undated = Member(*cond, "undatedCounts")) {
      if (!undated->IsBool())
        r_.Fail(Join(cpath, "undatedCounts"), "expected true or false");
      else
        p.undated_counts = undated->GetBool();
    }
    CheckKeys(*cond, cpath, {"valueSet", "includeUnconfirmed", "withinDays", "undatedCounts"});
  } else if (const Value* lab = Member(v, "lab")) {
    ParseLab(*lab, Join(path, "lab"), p, false);
  } else if (const Value* nolab = Member(v, "noLab")) {
    ParseLab(*nolab, Join(path, "noLab"), p, true);
  } else if (const Value* patient = Member(v, "patient")) {
    ParsePatient(*patient, Join(path, "patient"), p);
  } else if (const Value* draft = Member(v, "draftOrder")) {
    // R29: a draft order of the hook (ServiceRequest) whose code is in the set.
    p.kind = PredicateKind::kDraftOrder;
    p.value_set = ValueSetRef(*draft, Join(path, "draftOrder"));
    if (draft->IsObject()) CheckKeys(*draft, Join(path, "draftOrder"), {"valueSet"});
  } else if (const Value* fact = Member(v, "fact")) {
    ParseFact(*fact, Join(path, "fact"), p);
  } else if (const Value* fires = Member(v, "ruleFires")) {
    p.kind = PredicateKind::kRuleFires;
    std::string fpath = Join(path, "ruleFires");
    if (!fires->IsArray() || fires->Empty()) {
      r_.Fail(fpath, "expected a non-empty array of rule ids");
    } else {
      for (rapidjson::SizeType i = 0; i < fires->Size(); ++i) {
        auto it =
            (*fires)[i].IsString() ? rule_ids_.find((*fires)[i].GetString()) : rule_ids_.end();
        if (it == rule_ids_.end())
          r_.Fail(Index(fpath, i), "unknown rule id");
        else
          p.rules.push_back(it->second);
      }
    }
  }
  if (!as.empty()) {
    std::optional<BindKind> kind = BindKindOf(p.kind);
    if (!kind) {
      r_.Fail(Join(path, "as"),
              "only medication, condition, lab and ruleFires predicates can bind facts");
      return p;
    }
    auto [it, inserted] = binds.emplace(as, *kind);
    if (!inserted && it->second != *kind) {
      r_.Fail(Join(path, "as"), "'" + as + "' is already bound to facts of another kind");
    }
    p.bind_as = as;
  }
  return p;
}

void RuleSetBuilder::CheckKeys(const Value& v, const std::string& path,
                               std::initializer_list<const char*> allowed) {
  if (!v.IsObject()) return;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string key = it->name.GetString();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      r_.Fail(Join(path, key), "unknown field; expected one of " + list);
    }
  }
}

int RuleSetBuilder::ValueSetRef(const Value& v, const std::string& path) {
  std::string id;
  if (!v.IsObject()) {
    r_.Fail(path, "expected an object");
    return -1;
  }
  if (!GetString(v, "valueSet", path, r_, id)) return -1;
  auto it = value_set_ids_.find(id);
  if (it == value_set_ids_.end()) {
    r_.Fail(Join(path, "valueSet"), "unknown value set '" + id + "'");
    return -1;
  }
  return it->second;
}

void RuleSetBuilder::ParseMedication(const Value& v, const std::string& path, Predicate& p) {
  p.kind = PredicateKind::kMedication;
  p.value_set = ValueSetRef(v, path);
  if (!v.IsObject()) return;
  CheckKeys(v, path,
            {"valueSet", "routes", "minDays", "startUnknown", "recentDays", "recentStatuses",
             "asNeeded", "chainGapDays", "chainStatuses", "source"});
  if (const Value* gap = Member(v, "chainGapDays")) {
    double days = 0;
    if (WindowDays(*gap, Join(path, "chainGapDays"), days)) p.chain_gap_days = days;
    p.chain_statuses = {"completed", "stopped"};
    if (Member(v, "minDays") == nullptr) r_.Fail(Join(path, "chainGapDays"), "needs minDays");
  }
  if (const Value* statuses = Member(v, "chainStatuses")) {
    p.chain_statuses.clear();
    if (!statuses->IsArray()) {
      r_.Fail(Join(path, "chainStatuses"), "expected an array of statuses");
    } else {
      for (rapidjson::SizeType i = 0; i < statuses->Size(); ++i) {
        if ((*statuses)[i].IsString()) p.chain_statuses.emplace_back((*statuses)[i].GetString());
      }
    }
    if (!p.chain_gap_days) r_.Fail(Join(path, "chainStatuses"), "needs chainGapDays");
  }
  if (const Value* source = Member(v, "source")) {
    const std::string text = source->IsString() ? source->GetString() : "";
    if (text == "current")
      p.source = MedicationSource::kCurrent;
    else if (text == "proposed")
      p.source = MedicationSource::kProposed;
    else if (text == "either")
      p.source = MedicationSource::kEither;
    else
      r_.Fail(Join(path, "source"), "expected current, proposed or either");
  }
  if (const Value* prn = Member(v, "asNeeded")) {
    if (!prn->IsBool())
      r_.Fail(Join(path, "asNeeded"), "expected true or false");
    else
      p.as_needed = prn->GetBool();
  }
  if (const Value* recent = Member(v, "recentDays")) {
    double days = 0;
    if (WindowDays(*recent, Join(path, "recentDays"), days)) p.recent_days = days;
    p.recent_statuses = {"active", "on-hold", "completed", "stopped"};
  }
  if (const Value* statuses = Member(v, "recentStatuses")) {
    p.recent_statuses.clear();
    if (!statuses->IsArray())
      r_.Fail(Join(path, "recentStatuses"), "expected an array of statuses");
    else {
      for (rapidjson::SizeType i = 0; i < statuses->Size(); ++i) {
        if ((*statuses)[i].IsString()) p.recent_statuses.emplace_back((*statuses)[i].GetString());
      }
    }
    if (!p.recent_days) r_.Fail(Join(path, "recentStatuses"), "needs recentDays");
  }
  if (const Value* routes = Member(v, "routes")) {
    if (!routes->IsArray() || routes->Empty()) {
      r_.Fail(Join(path, "routes"), "expected a non-empty array of routes");
    } else {
      for (rapidjson::SizeType i = 0; i < routes->Size(); ++i) {
        fhir::Route route;
        if (!(*routes)[i].IsString() || !ParseRoute((*routes)[i].GetString(), route)) {
          r_.Fail(Index(Join(path, "routes"), i),
                  "expected oral, intravenous, intramuscular, subcutaneous, topical, rectal, "
                  "inhalation, other or unknown");
        } else {
          p.routes.push_back(route);
        }
      }
    }
  }
  if (const Value* min_days = Member(v, "minDays")) {
    double days = 0;
    if (WindowDays(*min_days, Join(path, "minDays"), days)) p.min_days = days;
  }
  if (const Value* unknown = Member(v, "startUnknown")) {
    if (!unknown->IsBool())
      r_.Fail(Join(path, "startUnknown"), "expected true or false");
    else
      p.start_unknown = unknown->GetBool();
  }
  if (p.min_days && p.start_unknown) {
    r_.Fail(path, "use either minDays or startUnknown, not both");
  }
}

void RuleSetBuilder::ParseLab(const Value& v, const std::string& path, Predicate& p, bool absence) {
  p.kind = absence ? PredicateKind::kNoLab : PredicateKind::kLab;
  if (!v.IsObject()) {
    r_.Fail(path, "expected an object");
    return;
  }
  if (absence)
    CheckKeys(v, path, {"analyte", "withinDays"});
  else
    CheckKeys(v, path,
              {"analyte", "withinDays", "below", "atOrBelow", "above", "atOrAbove", "between",
               "band", "undecidable"});
  std::string analyte;
  if (GetString(v, "analyte", path, r_, analyte)) {
    auto it = analyte_ids_.find(analyte);
    if (it == analyte_ids_.end())
      r_.Fail(Join(path, "analyte"), "unknown analyte '" + analyte + "'");
    else
      p.analyte = it->second;
  }
  p.within_days = 0;
  if (const Value* within = Member(v, "withinDays")) {
    WindowDays(*within, Join(path, "withinDays"), p.within_days);
  } else if (absence) {
    r_.Fail(Join(path, "withinDays"), "missing; 'no result' needs a look-back window");
  }
  static const std::pair<std::string_view, Comparison> kOps[] = {
      {"below", Comparison::kBelow},
      {"atOrBelow", Comparison::kAtOrBelow},
      {"above", Comparison::kAbove},
      {"atOrAbove", Comparison::kAtOrAbove}};
  int ops = 0;
  for (const auto& [name, op] : kOps) {
    if (const Value* t = Member(v, name)) {
      ++ops;
      p.comparison = op;
      Number(*t, Join(path, std::string(name)), p.threshold);
    }
  }
  if (const Value* between = Member(v, "between")) {
    ++ops;
    p.comparison = Comparison::kBetween;
    if (!between->IsArray() || between->Size() != 2) {
      r_.Fail(Join(path, "between"), "expected [low, high]");
    } else {
      Number((*between)[0], Index(Join(path, "between"), 0), p.threshold);
      Number((*between)[1], Index(Join(path, "between"), 1), p.threshold_high);
      if (p.threshold > p.threshold_high) r_.Fail(Join(path, "between"), "low is above high");
    }
  }
  if (ops > 1) r_.Fail(path, "use at most one of below, atOrBelow, above, atOrAbove, between");
  if (ops > 0 && (!std::isfinite(p.threshold) || !std::isfinite(p.threshold_high))) {
    r_.Fail(path, "threshold must be a finite number");
  }
  if (const Value* bands = Member(v, "band")) {
    const fhir::Grading* grading =
        p.analyte >= 0 && out_.analytes[static_cast<std::size_t>(p.analyte)].spec.grading
            ? &*out_.analytes[static_cast<std::size_t>(p.analyte)].spec.grading
            : nullptr;
    if (grading == nullptr) r_.Fail(Join(path, "band"), "the analyte has no grading bands");
    if (ops > 0) r_.Fail(path, "use either band or a comparison, not both");
    if (bands->IsArray()) {
      for (rapidjson::SizeType i = 0; i < bands->Size(); ++i) {
        std::string name = (*bands)[i].IsString() ? (*bands)[i].GetString() : "";
        bool known =
            grading != nullptr &&
            std::any_of(grading->scales.front().bands.begin(), grading->scales.front().bands.end(),
                        [&](const fhir::GradeBand& b) { return b.name == name; });
        if (!known && grading != nullptr)
          r_.Fail(Index(Join(path, "band"), i), "unknown band '" + name + "'");
        p.bands.push_back(name);
      }
    }
  }
  if (const Value* undecidable = Member(v, "undecidable");
      undecidable != nullptr && undecidable->IsString()) {
    p.undecidable_as_absent = std::string(undecidable->GetString()) == "absent";
  }
}

void RuleSetBuilder::ParsePatient(const Value& v, const std::string& path, Predicate& p) {
  p.kind = PredicateKind::kPatient;
  if (!v.IsObject()) {
    r_.Fail(path, "expected {deceased: true} or {minAgeYears: N}");
    return;
  }
  CheckKeys(v, path, {"deceased", "minAgeYears"});
  const Value* deceased = Member(v, "deceased");
  const Value* age = Member(v, "minAgeYears");
  if ((deceased == nullptr) == (age == nullptr)) {
    r_.Fail(path, "expected exactly one of deceased, minAgeYears");
    return;
  }
  if (deceased != nullptr) {
    if (!deceased->IsBool() || !deceased->GetBool())
      r_.Fail(Join(path, "deceased"), "expected true");
    p.deceased = true;
    return;
  }
  double years = 0;
  if (Number(*age, Join(path, "minAgeYears"), years)) {
    if (!(years >= 0 && years <= 130))
      r_.Fail(Join(path, "minAgeYears"), "expected 0 to 130 years");
    else
      p.min_age_years = years;
  }
}

// A coded fact of a category a hook defines (issue #11): the category must
// be one some hook registered (fhir/fact_category.h), so a typo is a load
// error, not a rule that is silently unknown.
void RuleSetBuilder::ParseFact(const Value& v, const std::string& path, Predicate& p) {
  p.kind = PredicateKind::kFact;
  p.value_set = ValueSetRef(v, path);
  if (!v.IsObject()) return;
  CheckKeys(v, path, {"category", "valueSet"});
  if (GetString(v, "category", path, r_, p.category) && !fhir::IsKnownFactCategory(p.category)) {
    r_.Fail(Join(path, "category"), "unknown fact category '" + p.category +
                                        "'; a hook definition registers the categories it builds");
  }
}

}  // namespace cds::rules::internal
