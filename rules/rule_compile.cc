#include "rules/rule_compile.h"

#include <charconv>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace cds::rules::internal {
namespace {

void CollectRuleRefs(const Predicate& p, std::set<int>& out) {
  for (int r : p.rules) out.insert(r);
  for (const Predicate& c : p.children) CollectRuleRefs(c, out);
}

// Topological order over `before` (u's entries come before u); fails on a cycle.
bool TopoSort(const RuleSet& rule_set, const std::vector<std::set<int>>& before,
              std::vector<int>& order, const char* what, const IssueSink& fail) {
  std::size_t n = rule_set.rules.size();
  std::vector<int> state(n, 0);
  bool ok = true;
  std::function<void(int)> visit = [&](int i) {
    auto u = static_cast<std::size_t>(i);
    if (state[u] == 2 || !ok) return;
    if (state[u] == 1) {
      fail(rule_set.rules[u].id, what, "cycle through rule " + rule_set.rules[u].id);
      ok = false;
      return;
    }
    state[u] = 1;
    for (int dep : before[u]) visit(dep);
    state[u] = 2;
    order.push_back(i);
  };
  for (std::size_t i = 0; i < n; ++i) visit(static_cast<int>(i));
  return ok;
}

// Appends the bytes of a value to a leaf key: keys only need equality, and
// formatting doubles as text was most of a large file's compile time.
template <class T>
void Put(std::string& key, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  key.append(reinterpret_cast<const char*>(&value), sizeof value);
}
void Put(std::string& key, const std::optional<double>& value) {
  Put(key, value.has_value());
  Put(key, value.value_or(0.0));
}
void Put(std::string& key, const std::vector<std::string>& list) {
  Put(key, list.size());
  for (const std::string& item : list) {
    Put(key, item.size());
    key += item;
  }
}

// Gives every medication/condition/lab/noLab leaf an id shared by the
// structurally identical ones (definitions are inlined per use).
void AssignLeafIds(Predicate& p, std::unordered_map<std::string, int>& ids) {
  for (Predicate& c : p.children) AssignLeafIds(c, ids);
  if (p.kind != PredicateKind::kMedication && p.kind != PredicateKind::kCondition &&
      p.kind != PredicateKind::kLab && p.kind != PredicateKind::kNoLab &&
      p.kind != PredicateKind::kDraftOrder && p.kind != PredicateKind::kFact) {
    return;
  }
  std::string key;
  key.reserve(160);
  Put(key, p.kind);
  Put(key, p.value_set);
  Put(key, p.analyte);
  Put(key, p.within_days);
  Put(key, p.comparison);
  Put(key, p.threshold);
  Put(key, p.threshold_high);
  Put(key, p.min_days);
  Put(key, p.start_unknown);
  Put(key, p.include_unconfirmed);
  Put(key, p.routes.size());
  for (fhir::Route r : p.routes) Put(key, r);
  Put(key, p.condition_within_days);
  Put(key, p.undated_counts);
  Put(key, p.recent_days);
  Put(key, p.undecidable_as_absent);
  Put(key, p.as_needed.has_value());
  Put(key, p.as_needed.value_or(false));
  Put(key, p.source);
  Put(key, p.chain_gap_days);
  Put(key, p.chain_statuses);
  Put(key, p.recent_statuses);
  Put(key, p.bands);
  Put(key, p.category.size());
  key += p.category;
  p.leaf_id = ids.emplace(std::move(key), static_cast<int>(ids.size())).first->second;
}

}  // namespace

std::optional<BindKind> BindKindOf(PredicateKind kind) {
  switch (kind) {
    case PredicateKind::kMedication:
      return BindKind::kMedication;
    case PredicateKind::kCondition:
    case PredicateKind::kDraftOrder:  // names only, like conditions
    case PredicateKind::kFact:
      return BindKind::kCondition;
    case PredicateKind::kLab:
      return BindKind::kLab;
    case PredicateKind::kRuleFires:
      return BindKind::kRules;
    default:
      return std::nullopt;
  }
}

bool FieldAllowed(BindKind kind, const std::string& field) {
  switch (kind) {
    case BindKind::kMedication:
      return field == "names" || field == "start" || field == "days" || field == "years" ||
             field == "last" || field == "name" || field == "ref" || field == "patientReported" ||
             field == "months" || field == "first";
    case BindKind::kCondition:
      return field == "names" || field == "first";
    case BindKind::kRules:
      return field == "names";
    case BindKind::kLab:
      return field == "reported" || field == "value" || field == "unit" || field == "date" ||
             field == "approx" || field == "crossed" || field == "band" ||
             field == "censoredNote" || field == "source";
  }
  return false;
}

// As `std::ostream << value` writes it (%g, 6 significant digits).
std::string FormatParam(double value) {
  char buffer[32];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 6);
  return std::string(buffer, result.ptr);
}

std::size_t CompileTemplate(
    TextTemplate& tmpl, const std::string& path, const TemplateScope& scope,
    const std::function<void(const std::string&, const std::string&)>& fail) {
  tmpl.segments.clear();
  auto parsed = ParseTemplate(tmpl.text);
  if (!parsed) {
    fail(path, parsed.error().message);
    return 0;
  }
  std::size_t longest = 0;
  for (const TemplateSegment& seg : *parsed) {
    if (!seg.is_placeholder) {
      longest += CodePointCount(seg.text);
      continue;
    }
    if (seg.text == "param") {
      auto p = scope.parameters->find(seg.field);
      if (p == scope.parameters->end()) {
        fail(path, "unknown parameter '${param." + seg.field + "}'");
      } else {
        longest += FormatParam(p->second).size();
      }
      continue;
    }
    if (!scope.resource && seg.text == "rule" && seg.field == "evidence") {
      longest += 200;  // R24: the rule's evidence line (detail only)
      continue;
    }
    if (scope.resource) {
      if (!((seg.text == "patient" && seg.field == "id") ||
            (seg.text == "reason" && seg.field.empty()))) {
        fail(path, "resource templates may only use ${patient.id} and ${reason}");
      }
      continue;
    }
    const auto* binds = scope.binds;
    auto b = binds == nullptr ? std::map<std::string, BindKind>::const_iterator()
                              : binds->find(seg.text);
    if (binds == nullptr || b == binds->end()) {
      fail(path, "unknown name '${" + seg.text + (seg.field.empty() ? "" : "." + seg.field) +
                     "}': bind it with \"as\" in when or in \"bind\"");
      continue;
    }
    if (!FieldAllowed(b->second, seg.field)) {
      fail(path, "'${" + seg.text + "." + seg.field + "}' is not a field of this binding " +
                     "(medications: names, start, days, years; conditions and rules: names; "
                     "labs: reported, value, unit, date)");
      continue;
    }
    longest += MaxFieldWidth(seg.field);
  }
  tmpl.segments = std::move(*parsed);
  return longest;
}

namespace {

// Every top-level predicate of a rule, in one order: when, the bindings, the
// indicator and summary cases, the actions' conditions. Leaf ids (numbered in
// this order) and ruleFires dependencies are taken over the same set.
template <class RuleT, class Fn>
void ForEachPredicate(RuleT& rule, const Fn& fn) {
  fn(rule.when);
  for (auto& b : rule.bindings) fn(b.second);
  for (auto& c : rule.indicator_cases) fn(c.when);
  for (auto& c : rule.summary_cases) fn(c.when);
  for (auto& sg : rule.suggestions) {
    for (auto& a : sg.actions) {
      if (a.when) fn(*a.when);
    }
  }
}

}  // namespace

void OrderRules(RuleSet& rule_set, const IssueSink& fail) {
  std::unordered_map<std::string, int> leaf_ids;
  for (Rule& rule : rule_set.rules) {
    ForEachPredicate(rule, [&leaf_ids](Predicate& p) { AssignLeafIds(p, leaf_ids); });
  }
  rule_set.leaf_count = static_cast<int>(leaf_ids.size());
  std::size_t n = rule_set.rules.size();
  std::vector<std::set<int>> deps(n), replacers(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Rule& rule = rule_set.rules[i];
    std::set<int>& rule_deps = deps[i];
    ForEachPredicate(rule, [&rule_deps](const Predicate& p) { CollectRuleRefs(p, rule_deps); });
    for (const Rule::Replacement& r : rule.replaced_by) replacers[i].insert(r.by);
  }
  TopoSort(rule_set, deps, rule_set.evaluation_order, "rules (ruleFires)", fail);
  TopoSort(rule_set, replacers, rule_set.precedence_order, "precedence", fail);
}

}  // namespace cds::rules::internal
