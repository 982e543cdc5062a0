// ruleset.json, the parts rules refer to: metadata, parameters, analytes
// (units, plausibility, grading bands), prefetch, services, resource
// templates and window semantics. Build() runs the sections in order.

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/loader_json_internal.h"

namespace cds::rules::internal {

void RuleSetBuilder::Build() {
  if (!root_.IsObject()) {
    r_.Fail("", "expected a JSON object at the top level");
    return;
  }
  GetString(root_, "id", "", r_, out_.id);
  if (GetString(root_, "version", "", r_, out_.version) && !IsSemVer(out_.version)) {
    r_.Fail("version", "expected a semantic version like 1.2.0");
  }
  if (GetString(root_, "releaseDate", "", r_, out_.release_date) && !IsDate(out_.release_date)) {
    r_.Fail("releaseDate", "expected a date YYYY-MM-DD");
  }
  GetString(root_, "title", "", r_, out_.title);
  GetString(root_, "disclaimer", "", r_, out_.disclaimer);
  out_.topic_system = "urn:magcds:rule";
  GetString(root_, "topicSystem", "", r_, out_.topic_system, false);
  ParseParameters();
  ParseAnalytes();
  ParsePrefetch();
  ParseServices();
  ParseResourceTemplates();
  if (const Value* defs = Member(root_, "definitions")) {
    if (!defs->IsObject()) {
      r_.Fail("definitions", "expected an object of named predicates");
    } else {
      definitions_ = defs;
      for (auto it = defs->MemberBegin(); it != defs->MemberEnd(); ++it) {
        out_.other_source[std::string("definition ") + it->name.GetString()] =
            CompactJson(it->value);
      }
    }
  }
  ParseWindows();
  ParseRules();
  ParseWithholdAll();
  ParsePrecedence();
  // The JSON-free compile step: leaf sharing and rule order.
  OrderRules(out_, [this](const std::string& rule_id, const std::string& field,
                          const std::string& message) {
    r_.rule_id = rule_id;
    r_.Fail(field, message);
  });
  r_.rule_id.clear();
}

void RuleSetBuilder::ParseParameters() {
  const Value* params = Member(root_, "parameters");
  if (params == nullptr) return;
  if (!params->IsObject()) {
    r_.Fail("parameters", "expected an object of {value, unit, description}");
    return;
  }
  for (auto it = params->MemberBegin(); it != params->MemberEnd(); ++it) {
    std::string name = it->name.GetString();
    std::string path = Join("parameters", name);
    const Value* value = Member(it->value, "value");
    if (value == nullptr || !value->IsNumber()) {
      r_.Fail(Join(path, "value"), "expected a number");
      continue;
    }
    if (!std::isfinite(value->GetDouble())) {
      r_.Fail(Join(path, "value"), "expected a finite number");
      continue;
    }
    out_.parameters[name] = value->GetDouble();
  }
}

// A window written in place or as a parameter name, range-checked.
bool RuleSetBuilder::WindowDays(const Value& v, const std::string& path, double& out) {
  if (!Number(v, path, out)) return false;
  if (!(out >= 0 && out <= kMaxWindowDays)) {
    r_.Fail(path, "window of " + FormatParam(out) + " days is out of range; expected 0 to " +
                      FormatParam(kMaxWindowDays) + " days (100 years)");
    out = 0;
    return false;
  }
  return true;
}

void RuleSetBuilder::ParseWindows() {
  std::string windows;
  if (GetString(root_, "windows", "", r_, windows, false) && !windows.empty()) {
    if (windows == "calendarDays")
      out_.calendar_day_windows = true;
    else if (windows != "elapsed")
      r_.Fail("windows", "expected elapsed or calendarDays");
  }
}

// A number written in place, or the name of a parameter.
bool RuleSetBuilder::Number(const Value& v, const std::string& path, double& out) {
  if (v.IsNumber()) {
    out = v.GetDouble();
    return true;
  }
  if (v.IsString()) {
    auto it = out_.parameters.find(v.GetString());
    if (it != out_.parameters.end()) {
      out = it->second;
      return true;
    }
    r_.Fail(path, std::string("unknown parameter '") + v.GetString() + "'");
    return false;
  }
  r_.Fail(path, "expected a number or a parameter name");
  return false;
}

void RuleSetBuilder::ParseAnalytes() {
  const Value* analytes = Member(root_, "analytes");
  if (analytes == nullptr || !analytes->IsObject()) {
    r_.Fail("analytes", "expected an object of analyte definitions");
    return;
  }
  for (auto it = analytes->MemberBegin(); it != analytes->MemberEnd(); ++it) {
    Analyte analyte;
    analyte.id = it->name.GetString();
    std::string path = Join("analytes", analyte.id);
    const Value& a = it->value;
    GetString(a, "title", path, r_, analyte.title);
    std::string vs_id;
    if (GetString(a, "valueSet", path, r_, vs_id)) {
      auto vs = value_set_ids_.find(vs_id);
      if (vs == value_set_ids_.end()) {
        r_.Fail(Join(path, "valueSet"), "unknown value set '" + vs_id + "'");
      } else {
        const ValueSet& set = out_.value_sets[static_cast<std::size_t>(vs->second)];
        for (const std::string& key : set.include.exact) {
          std::size_t bar = key.find('|');
          analyte.spec.codes.push_back({key.substr(0, bar), key.substr(bar + 1), ""});
        }
        std::sort(analyte.spec.codes.begin(), analyte.spec.codes.end(),
                  [](const fhir::Coding& x, const fhir::Coding& y) { return x.code < y.code; });
        if (analyte.spec.codes.empty()) {
          r_.Fail(Join(path, "valueSet"), "value set '" + vs_id + "' has no usable exact codes");
        }
      }
    }
    analyte.spec.id = analyte.id;
    GetString(a, "unit", path, r_, analyte.spec.canonical_unit);
    const Value* units = Member(a, "units");
    bool has_canonical = false;
    if (units == nullptr || !units->IsObject() || units->ObjectEmpty()) {
      r_.Fail(Join(path, "units"),
              "expected an object mapping unit -> factor to the canonical unit");
    } else {
      for (auto u = units->MemberBegin(); u != units->MemberEnd(); ++u) {
        if (!u->value.IsNumber() || u->value.GetDouble() <= 0) {
          r_.Fail(Join(Join(path, "units"), u->name.GetString()), "expected a positive factor");
          continue;
        }
        analyte.spec.units.push_back({u->name.GetString(), u->value.GetDouble()});
        if (analyte.spec.units.back().unit == analyte.spec.canonical_unit) has_canonical = true;
      }
      if (!has_canonical) {
        r_.Fail(Join(path, "units"),
                "must list the canonical unit '" + analyte.spec.canonical_unit + "' with factor 1");
      }
    }
    if (const Value* plausible = Member(a, "plausible")) {
      double low = 0, high = 0;
      const Value* lo = Member(*plausible, "low");
      const Value* hi = Member(*plausible, "high");
      if (lo != nullptr && Number(*lo, Join(path, "plausible.low"), low))
        analyte.spec.plausible_low = low;
      if (hi != nullptr && Number(*hi, Join(path, "plausible.high"), high))
        analyte.spec.plausible_high = high;
    }
    if (const Value* comparators = Member(a, "comparators")) {
      if (!comparators->IsBool())
        r_.Fail(Join(path, "comparators"), "expected true or false");
      else
        analyte.spec.comparator_allowed = comparators->GetBool();
    }
    ParseGrading(a, path, analyte);
    out_.analyte_source[analyte.id] = CompactJson(a);
    analyte_ids_[analyte.id] = static_cast<int>(out_.analytes.size());
    out_.analytes.push_back(std::move(analyte));
  }
}

// Analyte `grading` (R1, R3) and `notGraded` (R5).
void RuleSetBuilder::ParseGrading(const Value& a, const std::string& path, Analyte& analyte) {
  if (const Value* ng = Member(a, "notGraded")) {
    std::string npath = Join(path, "notGraded");
    GetString(*ng, "reason", npath, r_, analyte.spec.not_graded_reason);
    int vs = ValueSetRef(*ng, npath);
    if (vs >= 0) {
      for (const std::string& key : out_.value_sets[static_cast<std::size_t>(vs)].include.exact) {
        std::size_t bar = key.find('|');
        analyte.spec.not_graded_codes.push_back({key.substr(0, bar), key.substr(bar + 1), ""});
      }
    }
  }
  const Value* g = Member(a, "grading");
  if (g == nullptr) return;
  std::string gpath = Join(path, "grading");
  if (!g->IsObject()) {
    r_.Fail(gpath, "expected {referenceBand, scales, aliases?, censored?}");
    return;
  }
  fhir::Grading grading;
  GetString(*g, "referenceBand", gpath, r_, grading.reference_band);
  std::set<std::string> names;
  const Value* scales = Member(*g, "scales");
  if (scales == nullptr || !scales->IsObject() || scales->ObjectEmpty()) {
    r_.Fail(Join(gpath, "scales"), "expected an object of unit -> ascending band list");
  } else {
    for (auto it = scales->MemberBegin(); it != scales->MemberEnd(); ++it) {
      fhir::GradingScale scale;
      scale.unit = it->name.GetString();
      std::string spath = Join(Join(gpath, "scales"), scale.unit);
      if (!it->value.IsArray() || it->value.Size() < 2) {
        r_.Fail(spath, "expected at least two bands");
        continue;
      }
      std::optional<double> previous;
      for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
        const Value& b = it->value[i];
        std::string bpath = Index(spath, i);
        fhir::GradeBand band;
        GetString(b, "band", bpath, r_, band.name);
        names.insert(band.name);
        const Value* below = Member(b, "below");
        const Value* at_or_below = Member(b, "atOrBelow");
        const bool last = i + 1 == it->value.Size();
        if ((below != nullptr && at_or_below != nullptr) ||
            (last != (below == nullptr && at_or_below == nullptr))) {
          r_.Fail(bpath,
                  last ? "the last band has no upper limit" : "expected one of below, atOrBelow");
        }
        double limit = 0;
        if (const Value* l = below != nullptr ? below : at_or_below;
            l != nullptr &&
            Number(*l, Join(bpath, below != nullptr ? "below" : "atOrBelow"), limit)) {
          if (!std::isfinite(limit)) {
            r_.Fail(bpath, "band limit must be finite");
          } else if (previous && limit <= *previous) {
            r_.Fail(bpath, "band limits must ascend");
          }
          band.upper = limit;
          band.upper_inclusive = at_or_below != nullptr;
          previous = limit;
        }
        scale.bands.push_back(std::move(band));
      }
      bool has_reference = false;
      for (const auto& b : scale.bands)
        has_reference = has_reference || b.name == grading.reference_band;
      if (!has_reference)
        r_.Fail(spath, "has no band '" + grading.reference_band + "' (referenceBand)");
      grading.scales.push_back(std::move(scale));
    }
  }
  if (const Value* aliases = Member(*g, "aliases"); aliases != nullptr && aliases->IsObject()) {
    for (auto it = aliases->MemberBegin(); it != aliases->MemberEnd(); ++it) {
      fhir::GradeAlias alias;
      alias.unit = it->name.GetString();
      std::string apath = Join(Join(gpath, "aliases"), alias.unit);
      GetString(it->value, "scale", apath, r_, alias.scale_unit);
      if (const Value* f = Member(it->value, "factor");
          f != nullptr && f->IsNumber() && f->GetDouble() > 0 && std::isfinite(f->GetDouble())) {
        alias.factor = f->GetDouble();
      } else {
        r_.Fail(Join(apath, "factor"), "expected a positive finite factor");
      }
      if (std::none_of(grading.scales.begin(), grading.scales.end(),
                       [&](const fhir::GradingScale& sc) { return sc.unit == alias.scale_unit; })) {
        r_.Fail(Join(apath, "scale"), "unknown scale '" + alias.scale_unit + "'");
      }
      grading.aliases.push_back(std::move(alias));
    }
  }
  if (const Value* censored = Member(*g, "censored"); censored != nullptr && censored->IsObject()) {
    for (auto [key, target] : {std::pair{"below", &grading.censored_below},
                               std::pair{"above", &grading.censored_above}}) {
      const Value* list = Member(*censored, key);
      if (list == nullptr || !list->IsArray()) continue;
      for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
        std::string name = (*list)[i].IsString() ? (*list)[i].GetString() : "";
        if (names.count(name) == 0)
          r_.Fail(Index(Join(Join(gpath, "censored"), key), i), "unknown band '" + name + "'");
        target->push_back(name);
      }
    }
  }
  analyte.spec.grading = std::move(grading);
}

void RuleSetBuilder::CheckQueryTokens(const std::string& query, const std::string& path) {
  static const std::set<std::string> kTokens = {
      "context.patientId",      "context.userId", "context.encounterId", "userPractitionerId",
      "userPractitionerRoleId", "userPatientId",  "userRelatedPersonId"};
  std::size_t pos = 0;
  while ((pos = query.find("{{", pos)) != std::string::npos) {
    std::size_t end = query.find("}}", pos);
    if (end == std::string::npos) {
      r_.Fail(path, "unterminated '{{' in prefetch query");
      return;
    }
    std::string token = query.substr(pos + 2, end - pos - 2);
    if (kTokens.count(token) == 0) {
      r_.Fail(path, "prefetch token '{{" + token +
                        "}}' is not allowed; expected context.patientId, context.userId, "
                        "context.encounterId or a user token (CDS Hooks 2.0 prefetch tokens)");
    }
    pos = end + 2;
  }
  if (query.find('|') != std::string::npos) {
    r_.Fail(path, "write '|' in queries percent-encoded as %7C");
  }
}

void RuleSetBuilder::ParsePrefetch() {
  const Value* prefetch = Member(root_, "prefetch");
  if (prefetch == nullptr || !prefetch->IsObject()) {
    r_.Fail("prefetch",
            "expected an object of prefetch key -> {query, category, resourceType, required}");
    return;
  }
  static const std::map<std::string, fhir::FactCategory> kCategories = {
      {"patient", fhir::FactCategory::kPatient},
      {"medications", fhir::FactCategory::kMedications},
      {"conditions", fhir::FactCategory::kConditions},
      {"observations", fhir::FactCategory::kObservations}};
  for (auto it = prefetch->MemberBegin(); it != prefetch->MemberEnd(); ++it) {
    fhir::PrefetchSpec spec;
    spec.key = it->name.GetString();
    out_.prefetch_source[spec.key] = CompactJson(it->value);
    std::string path = Join("prefetch", spec.key);
    if (!GetString(it->value, "query", path, r_, spec.query)) continue;
    CheckQueryTokens(spec.query, Join(path, "query"));
    std::string category;
    if (GetString(it->value, "category", path, r_, category)) {
      auto c = kCategories.find(category);
      if (c == kCategories.end()) {
        r_.Fail(Join(path, "category"),
                "expected patient, medications, conditions or observations");
      } else {
        spec.category = c->second;
      }
    }
    GetString(it->value, "resourceType", path, r_, spec.resource_type);
    if (const Value* required = Member(it->value, "required")) {
      if (!required->IsBool())
        r_.Fail(Join(path, "required"), "expected true or false");
      else
        spec.required = required->GetBool();
    }
    prefetch_ids_[spec.key] = static_cast<int>(out_.prefetch.size());
    out_.prefetch.push_back(std::move(spec));
  }
}

void RuleSetBuilder::ParseServices() {
  const Value* services = Member(root_, "services");
  if (services == nullptr || !services->IsArray() || services->Empty()) {
    r_.Fail("services", "expected a non-empty array of services");
    return;
  }
  std::set<std::string> seen;
  for (rapidjson::SizeType i = 0; i < services->Size(); ++i) {
    std::string path = Index("services", i);
    const Value& s = (*services)[i];
    ServiceDefinition def;
    if (!GetString(s, "id", path, r_, def.id)) continue;
    out_.other_source["service " + def.id] = CompactJson(s);
    if (!IsId(def.id)) r_.Fail(Join(path, "id"), "expected a URL-safe id");
    GetString(s, "hook", path, r_, def.hook);
    GetString(s, "title", path, r_, def.title);
    GetString(s, "description", path, r_, def.description);
    GetString(s, "usageRequirements", path, r_, def.usage_requirements, false);
    if (!seen.insert(def.id + " " + def.hook).second) {
      r_.Fail(Join(path, "id"), "duplicate service '" + def.id + "' for hook '" + def.hook + "'");
    }
    const Value* keys = Member(s, "prefetch");
    if (keys != nullptr && keys->IsArray()) {
      for (rapidjson::SizeType k = 0; k < keys->Size(); ++k) {
        auto found = (*keys)[k].IsString() ? prefetch_ids_.find((*keys)[k].GetString())
                                           : prefetch_ids_.end();
        if (found == prefetch_ids_.end()) {
          r_.Fail(Index(Join(path, "prefetch"), k), "unknown prefetch key");
        } else {
          def.prefetch.push_back(found->second);
        }
      }
    } else {
      r_.Fail(Join(path, "prefetch"), "expected an array of prefetch keys");
    }
    out_.services.push_back(std::move(def));
  }
}

void RuleSetBuilder::ParseResourceTemplates() {
  const Value* templates = Member(root_, "resourceTemplates");
  if (templates == nullptr) return;
  if (!templates->IsObject()) {
    r_.Fail("resourceTemplates", "expected an object of name -> FHIR resource");
    return;
  }
  for (auto it = templates->MemberBegin(); it != templates->MemberEnd(); ++it) {
    std::string path = Join("resourceTemplates", it->name.GetString());
    if (!it->value.IsObject() || Member(it->value, "resourceType") == nullptr) {
      r_.Fail(path, "expected a FHIR resource (an object with resourceType)");
      continue;
    }
    std::string json = CompactJson(it->value);
    out_.other_source[std::string("resourceTemplate ") + it->name.GetString()] = json;
    TextTemplate resource{json, {}};
    CompileTemplate(
        resource, path, {&out_.parameters, nullptr, /*resource=*/true},
        [this](const std::string& field, const std::string& message) { r_.Fail(field, message); });
    resource_templates_[it->name.GetString()] = json;
  }
}

}  // namespace cds::rules::internal

namespace cds::rules::internal {

std::size_t RuleSetBuilder::CheckTemplate(TextTemplate& tmpl, const std::string& path,
                                          const std::map<std::string, BindKind>* binds) {
  return CompileTemplate(
      tmpl, path, {&out_.parameters, binds, /*resource=*/false},
      [this](const std::string& field, const std::string& message) { r_.Fail(field, message); });
}

}  // namespace cds::rules::internal
