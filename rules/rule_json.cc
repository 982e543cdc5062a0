// Rules of ruleset.json: metadata, hooks, when/bind, indicator cases, the
// card (summary, summary cases, detail parts and tables, suggestions and
// actions, override reasons), source, and the precedence list.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/loader_json_internal.h"

namespace cds::rules::internal {

void RuleSetBuilder::ParseRules() {
  const Value* rules = Member(root_, "rules");
  if (rules == nullptr || !rules->IsArray() || rules->Empty()) {
    r_.Fail("rules", "expected a non-empty array of rules");
    return;
  }
  // Ids first, so ruleFires can refer to any rule.
  for (rapidjson::SizeType i = 0; i < rules->Size(); ++i) {
    const Value* id = Member((*rules)[i], "id");
    if (id == nullptr || !id->IsString()) continue;
    if (!rule_ids_.emplace(id->GetString(), static_cast<int>(i)).second) {
      r_.rule_id = id->GetString();
      r_.Fail(Join(Index("rules", i), "id"),
              std::string("duplicate rule id '") + id->GetString() + "'");
    }
  }
  for (rapidjson::SizeType i = 0; i < rules->Size(); ++i) {
    out_.rules.push_back(ParseRule((*rules)[i], Index("rules", i)));
  }
  r_.rule_id.clear();
}

Rule RuleSetBuilder::ParseRule(const Value& v, const std::string& path) {
  Rule rule;
  r_.rule_id.clear();
  if (!v.IsObject()) {
    r_.Fail(path, "expected a rule object");
    return rule;
  }
  CheckKeys(v, path,
            {"id", "version", "title", "enabled", "hooks", "when", "bind", "indicator", "card",
             "source", "evidence"});
  GetString(v, "id", path, r_, rule.id);
  r_.rule_id = rule.id;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    rule.source_fields[it->name.GetString()] = DigestJson(it->value);
  }
  if (GetString(v, "version", path, r_, rule.version) && !IsSemVer(rule.version)) {
    r_.Fail(Join(path, "version"), "expected a semantic version like 1.0.0");
  }
  GetString(v, "title", path, r_, rule.title);
  if (const Value* enabled = Member(v, "enabled")) {
    if (!enabled->IsBool())
      r_.Fail(Join(path, "enabled"), "expected true or false");
    else
      rule.enabled = enabled->GetBool();
  }
  // R29: the hooks a rule may fire on; a hook no service of the file serves
  // is a typo, not a silent rule.
  if (const Value* hooks = Member(v, "hooks")) {
    if (!hooks->IsArray() || hooks->Empty()) {
      r_.Fail(Join(path, "hooks"), "expected a non-empty array of hook names");
    } else {
      for (rapidjson::SizeType i = 0; i < hooks->Size(); ++i) {
        const std::string hook = (*hooks)[i].IsString() ? (*hooks)[i].GetString() : "";
        bool served = false;
        for (const ServiceDefinition& service : out_.services) served |= service.hook == hook;
        if (!served)
          r_.Fail(Index(Join(path, "hooks"), i), "no service of this file serves this hook");
        rule.hooks.push_back(hook);
      }
    }
  } else {
    rule.hooks = {"patient-view"};
  }
  std::map<std::string, BindKind> binds;
  std::set<std::string> refs;
  if (const Value* when = Member(v, "when")) {
    rule.when = ParsePredicate(*when, Join(path, "when"), binds, refs);
  } else {
    r_.Fail(Join(path, "when"), "missing; expected a predicate");
  }
  if (const Value* bind = Member(v, "bind")) {
    if (!bind->IsObject()) {
      r_.Fail(Join(path, "bind"), "expected an object of name -> predicate");
    } else {
      for (auto it = bind->MemberBegin(); it != bind->MemberEnd(); ++it) {
        std::string name = it->name.GetString();
        std::string bpath = Join(Join(path, "bind"), name);
        std::map<std::string, BindKind> inner;
        Predicate p = ParsePredicate(it->value, bpath, inner, refs);
        if (!p.bind_as.empty()) r_.Fail(Join(bpath, "as"), "the key already names this binding");
        std::optional<BindKind> kind = BindKindOf(p.kind);
        if (!kind)
          r_.Fail(bpath, "a binding must be a medication, condition, lab or ruleFires predicate");
        if (binds.count(name) != 0) r_.Fail(bpath, "'" + name + "' is already bound in when");
        binds[name] = kind.value_or(BindKind::kMedication);
        p.bind_as = name;
        rule.bindings.emplace_back(name, std::move(p));
      }
    }
  }
  ParseIndicator(v, path, rule, refs);
  ParseCard(v, path, rule, binds, refs);
  if (const Value* source = Member(v, "source")) {
    GetString(*source, "label", Join(path, "source"), r_, rule.source_label);
    if (GetString(*source, "url", Join(path, "source"), r_, rule.source_url) &&
        rule.source_url.rfind("https://", 0) != 0 && rule.source_url.rfind("http://", 0) != 0) {
      r_.Fail(Join(path, "source.url"), "expected an absolute http(s) URL");
    }
  } else {
    r_.Fail(Join(path, "source"), "missing; every card must cite its source (label and url)");
  }
  GetString(v, "evidence", path, r_, rule.evidence);
  return rule;
}

void RuleSetBuilder::ParseIndicator(const Value& v, const std::string& path, Rule& rule,
                                    std::set<std::string>& refs) {
  const Value* ind = Member(v, "indicator");
  std::string ipath = Join(path, "indicator");
  if (ind == nullptr || !ind->IsObject()) {
    r_.Fail(ipath, "expected {\"default\": info|warning|critical, \"cases\": [...]}");
    return;
  }
  std::string def;
  if (GetString(*ind, "default", ipath, r_, def) && !IndicatorFromName(def, rule.indicator)) {
    r_.Fail(Join(ipath, "default"), "expected info, warning or critical");
  }
  const Value* cases = Member(*ind, "cases");
  if (cases == nullptr) return;
  if (!cases->IsArray()) {
    r_.Fail(Join(ipath, "cases"), "expected an array of {when, indicator}");
    return;
  }
  for (rapidjson::SizeType i = 0; i < cases->Size(); ++i) {
    std::string cpath = Index(Join(ipath, "cases"), i);
    IndicatorCase c;
    std::string level;
    if (GetString((*cases)[i], "indicator", cpath, r_, level) &&
        !IndicatorFromName(level, c.indicator)) {
      r_.Fail(Join(cpath, "indicator"), "expected info, warning or critical");
    }
    const Value* when = Member((*cases)[i], "when");
    if (when == nullptr) {
      r_.Fail(Join(cpath, "when"), "missing; expected a predicate");
      continue;
    }
    std::map<std::string, BindKind> ignored;
    c.when = ParsePredicate(*when, Join(cpath, "when"), ignored, refs);
    rule.indicator_cases.push_back(std::move(c));
  }
}

void RuleSetBuilder::ParseCard(const Value& v, const std::string& path, Rule& rule,
                               const std::map<std::string, BindKind>& binds,
                               std::set<std::string>& refs) {
  const Value* card = Member(v, "card");
  std::string cpath = Join(path, "card");
  if (card == nullptr || !card->IsObject()) {
    r_.Fail(cpath, "missing; expected {summary, detail, suggestions}");
    return;
  }
  CheckKeys(*card, cpath, {"summary", "summaryCases", "detail", "suggestions", "overrideReasons"});
  ParseSummaryCases(*card, cpath, rule, binds, refs);
  ParseOverrideReasons(*card, cpath, rule);
  if (GetString(*card, "summary", cpath, r_, rule.summary.text)) {
    std::size_t longest = CheckTemplate(rule.summary, Join(cpath, "summary"), &binds);
    if (longest > kMaxSummaryCodePoints) {
      r_.Fail(Join(cpath, "summary"),
              "summary can render to " + std::to_string(longest) +
                  " characters with the longest values; CDS Hooks requires fewer than 140");
    }
  }
  const Value* detail = Member(*card, "detail");
  if (detail == nullptr || !detail->IsArray() || detail->Empty()) {
    r_.Fail(Join(cpath, "detail"), "expected a non-empty array of {text, if?, unless?}");
  } else {
    for (rapidjson::SizeType i = 0; i < detail->Size(); ++i) {
      std::string dpath = Index(Join(cpath, "detail"), i);
      TextPart part;
      const Value& d = (*detail)[i];
      if (!d.IsObject()) {
        r_.Fail(dpath, "expected {text, if?, unless?}");
        continue;
      }
      CheckKeys(d, dpath, {"text", "if", "unless", "table"});
      if (const Value* table = Member(d, "table")) {
        part.table = ParseTextTable(*table, Join(dpath, "table"), rule, binds);
        GetString(d, "text", dpath, r_, part.text.text, false);
      } else {
        GetString(d, "text", dpath, r_, part.text.text);
      }
      if (!part.text.empty()) CheckTemplate(part.text, Join(dpath, "text"), &binds);
      for (auto [key, target] :
           {std::pair{"if", &part.if_bound}, std::pair{"unless", &part.unless_bound}}) {
        if (GetString(d, key, dpath, r_, *target, false) && !target->empty() &&
            binds.count(*target) == 0) {
          r_.Fail(Join(dpath, key), "unknown binding '" + *target + "'");
        }
      }
      rule.detail.push_back(std::move(part));
    }
  }
  const Value* suggestions = Member(*card, "suggestions");
  if (suggestions == nullptr) return;
  if (!suggestions->IsArray()) {
    r_.Fail(Join(cpath, "suggestions"), "expected an array");
    return;
  }
  int recommended = 0;
  for (rapidjson::SizeType i = 0; i < suggestions->Size(); ++i) {
    std::string spath = Index(Join(cpath, "suggestions"), i);
    const Value& s = (*suggestions)[i];
    SuggestionTemplate st;
    GetString(s, "label", spath, r_, st.label.text);
    std::map<std::string, BindKind> item_binds = binds;
    GetString(s, "forEach", spath, r_, st.for_each, false);
    if (!st.for_each.empty()) {
      auto b = binds.find(st.for_each);
      if (b == binds.end() || b->second != BindKind::kMedication) {
        r_.Fail(Join(spath, "forEach"), "expected the name of a medication binding");
      }
      item_binds["item"] = BindKind::kMedication;
    }
    CheckTemplate(st.label, Join(spath, "label"), &item_binds);
    if (const Value* rec = Member(s, "recommended"); rec != nullptr && rec->IsBool()) {
      st.recommended = rec->GetBool();
      recommended += st.recommended ? 1 : 0;
    }
    const Value* actions = Member(s, "actions");
    if (actions == nullptr || !actions->IsArray() || actions->Empty()) {
      r_.Fail(Join(spath, "actions"), "expected a non-empty array of actions");
      continue;
    }
    for (rapidjson::SizeType k = 0; k < actions->Size(); ++k) {
      std::string apath = Index(Join(spath, "actions"), k);
      const Value& a = (*actions)[k];
      ActionTemplate at;
      if (GetString(a, "type", apath, r_, at.type) && at.type != "create" && at.type != "delete") {
        r_.Fail(Join(apath, "type"), "expected create or delete");
      }
      GetString(a, "description", apath, r_, at.description.text);
      CheckTemplate(at.description, Join(apath, "description"), &item_binds);
      std::string name, reason;
      if (at.type == "delete") {
        // CDS Hooks 2.0: a delete names its target by resourceId, once per forEach item.
        if (st.for_each.empty())
          r_.Fail(Join(apath, "type"), "a delete action needs a forEach suggestion");
        if (Member(a, "resourceTemplate") != nullptr) {
          r_.Fail(Join(apath, "resourceTemplate"),
                  "a delete action names its target by resourceId, not a resource");
        }
      } else if (GetString(a, "resourceTemplate", apath, r_, name)) {
        auto t = resource_templates_.find(name);
        if (t == resource_templates_.end()) {
          r_.Fail(Join(apath, "resourceTemplate"), "unknown resource template '" + name + "'");
        } else {
          GetString(a, "reason", apath, r_, reason);
          at.resource_json = SubstituteReason(t->second, reason);
        }
      }
      if (const Value* when = Member(a, "when")) {
        std::map<std::string, BindKind> ignored;
        at.when = ParsePredicate(*when, Join(apath, "when"), ignored, refs);
      }
      st.actions.push_back(std::move(at));
    }
    rule.suggestions.push_back(std::move(st));
  }
  if (recommended > 1) {
    r_.Fail(Join(cpath, "suggestions"),
            "at most one suggestion may be recommended (selectionBehavior at-most-one)");
  }
}

// R18: summaries that depend on the facts ("Long-term PPI …" / "PPI for 10 months …").
void RuleSetBuilder::ParseSummaryCases(const Value& card, const std::string& cpath, Rule& rule,
                                       const std::map<std::string, BindKind>& binds,
                                       std::set<std::string>& refs) {
  const Value* cases = Member(card, "summaryCases");
  if (cases == nullptr) return;
  if (!cases->IsArray()) {
    r_.Fail(Join(cpath, "summaryCases"), "expected an array of {when, summary}");
    return;
  }
  for (rapidjson::SizeType i = 0; i < cases->Size(); ++i) {
    std::string spath = Index(Join(cpath, "summaryCases"), i);
    Rule::SummaryCase c;
    const Value* when = Member((*cases)[i], "when");
    if (when == nullptr) {
      r_.Fail(Join(spath, "when"), "missing; expected a predicate");
      continue;
    }
    std::map<std::string, BindKind> ignored;
    c.when = ParsePredicate(*when, Join(spath, "when"), ignored, refs);
    if (GetString((*cases)[i], "summary", spath, r_, c.summary.text)) {
      std::size_t longest = CheckTemplate(c.summary, Join(spath, "summary"), &binds);
      if (longest > kMaxSummaryCodePoints) {
        r_.Fail(Join(spath, "summary"),
                "summary can render to " + std::to_string(longest) +
                    " characters with the longest values; CDS Hooks requires fewer than 140");
      }
    }
    rule.summary_cases.push_back(std::move(c));
  }
}

// A detail table (R22): per-drug text keyed by value set; returns its index.
int RuleSetBuilder::ParseTextTable(const Value& t, const std::string& path, Rule& rule,
                                   const std::map<std::string, BindKind>& binds) {
  TextTable table;
  if (!t.IsObject()) {
    r_.Fail(path, "expected {binding, rows, otherwise}");
    return -1;
  }
  CheckKeys(t, path, {"binding", "rows", "otherwise"});
  if (GetString(t, "binding", path, r_, table.binding)) {
    auto b = binds.find(table.binding);
    if (b == binds.end() || b->second != BindKind::kMedication) {
      r_.Fail(Join(path, "binding"), "expected the name of a medication binding");
    }
  }
  GetString(t, "otherwise", path, r_, table.otherwise);
  const Value* rows = Member(t, "rows");
  if (rows == nullptr || !rows->IsArray() || rows->Empty()) {
    r_.Fail(Join(path, "rows"), "expected a non-empty array of {valueSet, text}");
  } else {
    for (rapidjson::SizeType i = 0; i < rows->Size(); ++i) {
      std::string rpath = Index(Join(path, "rows"), i);
      TextTable::Row row;
      row.value_set = ValueSetRef((*rows)[i], rpath);
      GetString((*rows)[i], "text", rpath, r_, row.text);
      table.rows.push_back(std::move(row));
    }
  }
  rule.tables.push_back(std::move(table));
  return static_cast<int>(rule.tables.size()) - 1;
}

// card.overrideReasons: [{system, code, display}] (issue #16); every field
// required (the EHR shows display, sends back system + code), codes unique.
void RuleSetBuilder::ParseOverrideReasons(const Value& card, const std::string& cpath, Rule& rule) {
  const Value* reasons = Member(card, "overrideReasons");
  if (reasons == nullptr) return;
  const std::string path = Join(cpath, "overrideReasons");
  if (!reasons->IsArray()) {
    r_.Fail(path, "expected an array of {system, code, display}");
    return;
  }
  std::set<std::string> seen;
  for (rapidjson::SizeType i = 0; i < reasons->Size(); ++i) {
    const std::string rpath = Index(path, i);
    const Value& r = (*reasons)[i];
    if (!r.IsObject()) {
      r_.Fail(rpath, "expected {system, code, display}");
      continue;
    }
    CheckKeys(r, rpath, {"system", "code", "display"});
    OverrideReason reason;
    // All three are read (and each missing one reported) before giving up.
    bool ok = GetString(r, "system", rpath, r_, reason.system);
    ok = GetString(r, "code", rpath, r_, reason.code) && ok;
    ok = GetString(r, "display", rpath, r_, reason.display) && ok;
    if (!ok) continue;
    if (!seen.insert(reason.system + "|" + reason.code).second) {
      r_.Fail(Join(rpath, "code"), "duplicate override reason '" + reason.code + "'");
      continue;
    }
    rule.override_reasons.push_back(std::move(reason));
  }
}

std::string RuleSetBuilder::SubstituteReason(const std::string& json, const std::string& reason) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(reason.c_str(), static_cast<rapidjson::SizeType>(reason.size()));
  std::string escaped(buffer.GetString() + 1, buffer.GetSize() - 2);  // without quotes
  std::string out = json;
  std::size_t pos = 0;
  while ((pos = out.find("${reason}", pos)) != std::string::npos) {
    out.replace(pos, 9, escaped);
    pos += escaped.size();
  }
  return out;
}

void RuleSetBuilder::ParsePrecedence() {
  const Value* precedence = Member(root_, "precedence");
  if (precedence == nullptr) return;
  if (!precedence->IsArray()) {
    r_.Fail("precedence", "expected an array of {rule, replaces, reason}");
    return;
  }
  for (rapidjson::SizeType i = 0; i < precedence->Size(); ++i) {
    std::string path = Index("precedence", i);
    const Value& p = (*precedence)[i];
    std::string winner;
    if (!GetString(p, "rule", path, r_, winner)) continue;
    auto w = rule_ids_.find(winner);
    if (w == rule_ids_.end()) {
      r_.Fail(Join(path, "rule"), "unknown rule id '" + winner + "'");
      continue;
    }
    std::string reason;
    GetString(p, "reason", path, r_, reason);
    PrecedenceEntry entry{winner, {}, reason, false};
    if (const Value* unknown = Member(p, "whenUnknown");
        unknown != nullptr && unknown->IsString()) {
      entry.when_unknown = std::string(unknown->GetString()) == "suppress";
    }
    const Value* replaces = Member(p, "replaces");
    if (replaces == nullptr || !replaces->IsArray() || replaces->Empty()) {
      r_.Fail(Join(path, "replaces"), "expected a non-empty array of rule ids");
      continue;
    }
    for (rapidjson::SizeType k = 0; k < replaces->Size(); ++k) {
      auto l =
          (*replaces)[k].IsString() ? rule_ids_.find((*replaces)[k].GetString()) : rule_ids_.end();
      if (l == rule_ids_.end()) {
        r_.Fail(Index(Join(path, "replaces"), k), "unknown rule id");
      } else if (l->second == w->second) {
        r_.Fail(Index(Join(path, "replaces"), k), "a rule cannot replace itself");
      } else if (static_cast<std::size_t>(l->second) < out_.rules.size()) {
        out_.rules[static_cast<std::size_t>(l->second)].replaced_by.push_back(
            {w->second, entry.when_unknown});
        entry.replaces.push_back(l->first);
      }
    }
    out_.precedence.push_back(std::move(entry));
  }
}

}  // namespace cds::rules::internal
