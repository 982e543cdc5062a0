// Reads ruleset.json and valuesets.json into a RuleSet, checking everything an
// admin can get wrong and naming file, line, rule and field for each problem.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rules/json_lines.h"
#include "rules/loader.h"
#include "rules/schema_internal.h"
#include "rules/text_template.h"

namespace cds::rules {
namespace {

using internal::LinedDocument;
using rapidjson::Value;

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

std::string DirOf(const std::string& path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

bool IsDirectory(const std::string& path) {
  std::ifstream probe(path + "/ruleset.json");
  return static_cast<bool>(probe);
}

// Collects issues for one file.
class Reporter {
 public:
  Reporter(std::string file, const LinedDocument& doc, std::vector<RuleIssue>& errors)
      : file_(std::move(file)), doc_(doc), errors_(errors) {}

  void Fail(const std::string& field, const std::string& message) {
    errors_.push_back({file_, doc_.LineOf(field), rule_id, field, message});
  }
  std::string rule_id;

 private:
  std::string file_;
  const LinedDocument& doc_;
  std::vector<RuleIssue>& errors_;
};

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string Index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const Value* Member(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// Reads a required/optional string member.
bool GetString(const Value& object, const char* name, const std::string& path, Reporter& r,
               std::string& out, bool required = true) {
  const Value* v = Member(object, name);
  if (v == nullptr) {
    if (required) r.Fail(Join(path, name), "missing; expected a non-empty string");
    return !required;
  }
  if (!v->IsString() || v->GetStringLength() == 0) {
    r.Fail(Join(path, name), "expected a non-empty string");
    return false;
  }
  out.assign(v->GetString(), v->GetStringLength());
  return true;
}

bool IsSemVer(const std::string& s) {
  int parts = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i;
    if (i == start) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 3) return parts == 3 && (s[i] == '-' || s[i] == '+');
    ++i;
  }
  return parts == 3;
}

bool IsDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0UL, 1UL, 2UL, 3UL, 5UL, 6UL, 8UL, 9UL}) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) return false;
  }
  return true;
}

bool IsId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

std::string CompactJson(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool ParseRoute(const std::string& name, fhir::Route& out) {
  static const std::map<std::string, fhir::Route> kRoutes = {
      {"unknown", fhir::Route::kUnknown},
      {"oral", fhir::Route::kOral},
      {"intravenous", fhir::Route::kIntravenous},
      {"intramuscular", fhir::Route::kIntramuscular},
      {"subcutaneous", fhir::Route::kSubcutaneous},
      {"topical", fhir::Route::kTopical},
      {"rectal", fhir::Route::kRectal},
      {"inhalation", fhir::Route::kInhalation},
      {"other", fhir::Route::kOther}};
  auto it = kRoutes.find(name);
  if (it == kRoutes.end()) return false;
  out = it->second;
  return true;
}

bool IndicatorFromName(const std::string& name, Indicator& out) {
  if (name == "info")
    out = Indicator::kInfo;
  else if (name == "warning")
    out = Indicator::kWarning;
  else if (name == "critical")
    out = Indicator::kCritical;
  else
    return false;
  return true;
}

// ---------------------------------------------------------------- value sets

struct RawValueSet {
  const Value* json = nullptr;
  std::string path;
  ValueSet set;
  std::vector<std::string> include_refs, exclude_refs;
};

class ValueSetCompiler {
 public:
  ValueSetCompiler(const Value& root, Reporter& reporter, std::vector<std::string>& warnings)
      : reporter_(reporter), warnings_(warnings) {
    const Value* sets = Member(root, "valueSets");
    if (sets == nullptr || !sets->IsArray()) {
      reporter_.Fail("valueSets", "expected an array of value sets");
      return;
    }
    for (rapidjson::SizeType i = 0; i < sets->Size(); ++i) {
      std::string path = Index("valueSets", i);
      const Value& vs = (*sets)[i];
      if (!vs.IsObject()) {
        reporter_.Fail(path, "expected an object");
        continue;
      }
      RawValueSet raw;
      raw.json = &vs;
      raw.path = path;
      if (!GetString(vs, "id", path, reporter_, raw.set.id)) continue;
      if (!IsId(raw.set.id))
        reporter_.Fail(Join(path, "id"), "expected letters, digits, '-', '_' or '.'");
      GetString(vs, "title", path, reporter_, raw.set.title);
      GetString(vs, "version", path, reporter_, raw.set.version);
      GetString(vs, "description", path, reporter_, raw.set.description, false);
      if (index_.count(raw.set.id) != 0) {
        reporter_.Fail(Join(path, "id"), "duplicate value set id '" + raw.set.id + "'");
        continue;
      }
      index_[raw.set.id] = raws_.size();
      raws_.push_back(std::move(raw));
    }
    for (std::size_t i = 0; i < raws_.size(); ++i) Compile(i);
    CheckCycles();
  }

  // Compiled sets in file order, and an id -> index map.
  std::vector<ValueSet> Take(std::map<std::string, int>& ids) {
    std::vector<ValueSet> out;
    for (auto& raw : raws_) {
      ids[raw.set.id] = static_cast<int>(out.size());
      out.push_back(std::move(raw.set));
    }
    return out;
  }

 private:
  void ReadComponents(const Value& list, const std::string& path, ValueSet& set,
                      ValueSet::Matcher& matcher, std::vector<std::string>& refs, bool is_include) {
    if (!list.IsArray() || (is_include && list.Empty())) {
      reporter_.Fail(path, is_include ? "expected a non-empty array of include components"
                                      : "expected an array of exclude components");
      return;
    }
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      std::string cpath = Index(path, i);
      const Value& c = list[i];
      if (!c.IsObject()) {
        reporter_.Fail(cpath,
                       "expected an object with system+codes, system+prefixes, text or valueSet");
        continue;
      }
      if (const Value* ref = Member(c, "valueSet")) {
        if (!ref->IsString())
          reporter_.Fail(Join(cpath, "valueSet"), "expected a value set id");
        else
          refs.emplace_back(ref->GetString());
        continue;
      }
      if (const Value* text = Member(c, "text")) {
        if (!text->IsArray() || text->Empty()) {
          reporter_.Fail(Join(cpath, "text"), "expected a non-empty array of text patterns");
          continue;
        }
        for (rapidjson::SizeType k = 0; k < text->Size(); ++k) {
          const Value& p = (*text)[k];
          std::string written = p.IsString() ? p.GetString() : "";
          TextPattern pattern;
          pattern.written = written;
          std::string body = written;
          if (!body.empty() && body.back() == '*') {
            pattern.last_is_prefix = true;
            body.pop_back();
          }
          pattern.tokens = Tokenize(body);
          if (pattern.tokens.empty() ||
              (pattern.last_is_prefix && pattern.tokens.back().size() < 3)) {
            reporter_.Fail(
                Index(Join(cpath, "text"), k),
                "expected a text pattern with at least one word (a prefix needs 3+ letters)");
            continue;
          }
          matcher.text.push_back(std::move(pattern));
        }
        continue;
      }
      std::string system;
      if (!GetString(c, "system", cpath, reporter_, system)) continue;
      const Value* codes = Member(c, "codes");
      const Value* prefixes = Member(c, "prefixes");
      if ((codes == nullptr) == (prefixes == nullptr)) {
        reporter_.Fail(cpath, "expected exactly one of 'codes' or 'prefixes' with 'system'");
        continue;
      }
      bool is_prefix = prefixes != nullptr;
      if (is_prefix && !IsHierarchicalSystem(system)) {
        reporter_.Fail(
            Join(cpath, "prefixes"),
            "prefixes are only allowed for hierarchical systems (ATC, ICD-10-CM), not '" + system +
                "'");
        continue;
      }
      const Value& arr = is_prefix ? *prefixes : *codes;
      std::string apath = Join(cpath, is_prefix ? "prefixes" : "codes");
      if (!arr.IsArray() || arr.Empty()) {
        reporter_.Fail(apath, "expected a non-empty array of {code, display, verification}");
        continue;
      }
      for (rapidjson::SizeType k = 0; k < arr.Size(); ++k) {
        std::string epath = Index(apath, k);
        std::string code, verification;
        if (!arr[k].IsObject()) {
          reporter_.Fail(epath, "expected {code, display, verification}");
          continue;
        }
        if (!GetString(arr[k], "code", epath, reporter_, code)) continue;
        if (!GetString(arr[k], "verification", epath, reporter_, verification)) continue;
        std::string key = CodeKey(system, code);
        set.listed_codes.push_back(key);
        if (verification.rfind("unverified", 0) == 0) {
          set.unverified_codes.push_back(key);
          continue;  // kept for review, never used for matching
        }
        (is_prefix ? matcher.prefixes : matcher.exact).insert(key);
        if (const Value* seventh = Member(arr[k], "seventh"); seventh != nullptr) {
          std::string chars;
          if (!is_prefix || system != kIcd10CmSystem || !seventh->IsArray()) {
            reporter_.Fail(Join(epath, "seventh"),
                           "only for ICD-10-CM prefixes: an array of 7th characters");
            continue;
          }
          for (rapidjson::SizeType q = 0; q < seventh->Size(); ++q) {
            if ((*seventh)[q].IsString() && (*seventh)[q].GetStringLength() == 1) {
              chars += static_cast<char>(
                  std::toupper(static_cast<unsigned char>((*seventh)[q].GetString()[0])));
            } else {
              reporter_.Fail(Index(Join(epath, "seventh"), q), "expected one character");
            }
          }
          matcher.seventh[key] = chars;
        }
      }
    }
  }

  void Compile(std::size_t i) {
    RawValueSet& raw = raws_[i];
    const Value* include = Member(*raw.json, "include");
    if (include == nullptr) {
      reporter_.Fail(Join(raw.path, "include"), "missing; expected a non-empty array");
    } else {
      ReadComponents(*include, Join(raw.path, "include"), raw.set, raw.set.include,
                     raw.include_refs, true);
    }
    if (const Value* exclude = Member(*raw.json, "exclude")) {
      ReadComponents(*exclude, Join(raw.path, "exclude"), raw.set, raw.set.exclude,
                     raw.exclude_refs, false);
    }
    raw.set.include.IndexText();
    raw.set.exclude.IndexText();
    auto resolve = [&](const std::vector<std::string>& refs, std::vector<int>& into,
                       const char* what) {
      for (const std::string& ref : refs) {
        auto it = index_.find(ref);
        if (it == index_.end()) {
          reporter_.Fail(Join(raw.path, what), "unknown value set '" + ref + "'");
        } else {
          into.push_back(static_cast<int>(it->second));
        }
      }
    };
    resolve(raw.include_refs, raw.set.include_sets, "include");
    resolve(raw.exclude_refs, raw.set.exclude_sets, "exclude");
    if (!raw.set.unverified_codes.empty()) {
      warnings_.push_back("value set '" + raw.set.id +
                          "': " + std::to_string(raw.set.unverified_codes.size()) +
                          " unverified code(s) left out of matching");
    }
  }

  // A set may not contain itself through include/exclude references.
  void CheckCycles() {
    std::vector<int> state(raws_.size(), 0);  // 0 new, 1 on stack, 2 done
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
      state[i] = 1;
      for (const auto* refs : {&raws_[i].set.include_sets, &raws_[i].set.exclude_sets}) {
        for (int j : *refs) {
          auto k = static_cast<std::size_t>(j);
          if (state[k] == 1) {
            reporter_.Fail(raws_[i].path, "value set '" + raws_[i].set.id + "' refers to '" +
                                              raws_[k].set.id +
                                              "', which refers back to it (cycle)");
            for (auto* list : {&raws_[i].set.include_sets, &raws_[i].set.exclude_sets}) {
              list->erase(std::remove(list->begin(), list->end(), j), list->end());
            }
            return;
          }
          if (state[k] == 0) visit(k);
        }
      }
      state[i] = 2;
    };
    for (std::size_t i = 0; i < raws_.size(); ++i) {
      if (state[i] == 0) visit(i);
    }
  }

  Reporter& reporter_;
  std::vector<std::string>& warnings_;
  std::vector<RawValueSet> raws_;
  std::map<std::string, std::size_t> index_;
};

// ---------------------------------------------------------------- rule set

enum class BindKind { kMedication, kCondition, kLab, kRules };

// What a predicate of this kind offers the card text; nullopt if it binds nothing.
std::optional<BindKind> BindKindOf(PredicateKind kind) {
  switch (kind) {
    case PredicateKind::kMedication:
      return BindKind::kMedication;
    case PredicateKind::kCondition:
      return BindKind::kCondition;
    case PredicateKind::kDraftOrder:
      return BindKind::kCondition;  // names only
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

std::string FormatParam(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

class RuleSetBuilder {
 public:
  RuleSetBuilder(const LinedDocument& doc, Reporter& reporter, RuleSet& out,
                 std::map<std::string, int> value_set_ids)
      : root_(doc.doc), r_(reporter), out_(out), value_set_ids_(std::move(value_set_ids)) {}

  void Build() {
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
    OrderRules();
  }

 private:
  // ---- parameters, analytes, prefetch, services, templates

  void ParseParameters() {
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

  // ---- revision 1.1.0 mechanisms: ranges, windows, withholding, grading

  // Look-back windows and durations: 0 to 100 years. A larger value is a typo,
  // and would overflow the engine's second arithmetic.
  static constexpr double kMaxWindowDays = 36525;

  // A window written in place or as a parameter name, range-checked.
  bool WindowDays(const Value& v, const std::string& path, double& out) {
    if (!Number(v, path, out)) return false;
    if (!(out >= 0 && out <= kMaxWindowDays)) {
      r_.Fail(path, "window of " + FormatParam(out) + " days is out of range; expected 0 to " +
                        FormatParam(kMaxWindowDays) + " days (100 years)");
      out = 0;
      return false;
    }
    return true;
  }

  void ParseWindows() {
    std::string windows;
    if (GetString(root_, "windows", "", r_, windows, false) && !windows.empty()) {
      if (windows == "calendarDays")
        out_.calendar_day_windows = true;
      else if (windows != "elapsed")
        r_.Fail("windows", "expected elapsed or calendarDays");
    }
  }

  void ParseWithholdAll() {
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

  void ParsePatient(const Value& v, const std::string& path, Predicate& p) {
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

  // Analyte `grading` (R1, R3) and `notGraded` (R5).
  void ParseGrading(const Value& a, const std::string& path, Analyte& analyte) {
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
        if (std::none_of(
                grading.scales.begin(), grading.scales.end(),
                [&](const fhir::GradingScale& sc) { return sc.unit == alias.scale_unit; })) {
          r_.Fail(Join(apath, "scale"), "unknown scale '" + alias.scale_unit + "'");
        }
        grading.aliases.push_back(std::move(alias));
      }
    }
    if (const Value* censored = Member(*g, "censored");
        censored != nullptr && censored->IsObject()) {
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

  // A number written in place, or the name of a parameter.
  bool Number(const Value& v, const std::string& path, double& out) {
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

  void ParseAnalytes() {
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
          r_.Fail(Join(path, "units"), "must list the canonical unit '" +
                                           analyte.spec.canonical_unit + "' with factor 1");
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

  void CheckQueryTokens(const std::string& query, const std::string& path) {
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

  void ParsePrefetch() {
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

  void ParseServices() {
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

  void ParseResourceTemplates() {
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
      CheckTemplate(json, path, nullptr, /*resource=*/true);
      resource_templates_[it->name.GetString()] = json;
    }
  }

  // ---- templates

  // Checks placeholders; returns the longest rendering in code points.
  std::size_t CheckTemplate(const std::string& text, const std::string& path,
                            const std::map<std::string, BindKind>* binds, bool resource) {
    auto parsed = ParseTemplate(text);
    if (!parsed) {
      r_.Fail(path, parsed.error().message);
      return 0;
    }
    std::size_t longest = 0;
    for (const TemplateSegment& seg : *parsed) {
      if (!seg.is_placeholder) {
        longest += CodePointCount(seg.text);
        continue;
      }
      if (seg.text == "param") {
        auto p = out_.parameters.find(seg.field);
        if (p == out_.parameters.end()) {
          r_.Fail(path, "unknown parameter '${param." + seg.field + "}'");
        } else {
          longest += FormatParam(p->second).size();
        }
        continue;
      }
      if (!resource && seg.text == "rule" && seg.field == "evidence") {
        longest += 200;  // R24: the rule's evidence line (detail only)
        continue;
      }
      if (resource) {
        if (!((seg.text == "patient" && seg.field == "id") ||
              (seg.text == "reason" && seg.field.empty()))) {
          r_.Fail(path, "resource templates may only use ${patient.id} and ${reason}");
        }
        continue;
      }
      auto b = binds == nullptr ? binds->end() : binds->find(seg.text);
      if (binds == nullptr || b == binds->end()) {
        r_.Fail(path, "unknown name '${" + seg.text + (seg.field.empty() ? "" : "." + seg.field) +
                          "}': bind it with \"as\" in when or in \"bind\"");
        continue;
      }
      if (!FieldAllowed(b->second, seg.field)) {
        r_.Fail(path, "'${" + seg.text + "." + seg.field + "}' is not a field of this binding " +
                          "(medications: names, start, days, years; conditions and rules: names; "
                          "labs: reported, value, unit, date)");
        continue;
      }
      longest += MaxFieldWidth(seg.field);
    }
    return longest;
  }

  // ---- predicates

  Predicate ParsePredicate(const Value& v, const std::string& path,
                           std::map<std::string, BindKind>& binds, std::set<std::string>& refs) {
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
    for (const char* k : {"all", "any", "not", "ref", "medication", "condition", "lab", "noLab",
                          "ruleFires", "patient", "draftOrder"}) {
      if (Member(v, k) != nullptr) ++kinds;
    }
    if (kinds != 1) {
      r_.Fail(path,
              "expected exactly one of all, any, not, ref, medication, condition, lab, noLab, "
              "ruleFires, patient, draftOrder");
      return p;
    }
    if (const Value* ref = Member(v, "ref")) {
      std::string name = ref->IsString() ? ref->GetString() : "";
      const Value* def = definitions_ == nullptr ? nullptr : Member(*definitions_, name.c_str());
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
    } else if (const Value* list = Member(v, "all");
               list != nullptr || Member(v, "any") != nullptr) {
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

  void CheckKeys(const Value& v, const std::string& path,
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

  int ValueSetRef(const Value& v, const std::string& path) {
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

  void ParseMedication(const Value& v, const std::string& path, Predicate& p) {
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

  void ParseLab(const Value& v, const std::string& path, Predicate& p, bool absence) {
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
    static const std::pair<const char*, Comparison> kOps[] = {
        {"below", Comparison::kBelow},
        {"atOrBelow", Comparison::kAtOrBelow},
        {"above", Comparison::kAbove},
        {"atOrAbove", Comparison::kAtOrAbove}};
    int ops = 0;
    for (const auto& [name, op] : kOps) {
      if (const Value* t = Member(v, name)) {
        ++ops;
        p.comparison = op;
        Number(*t, Join(path, name), p.threshold);
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
          bool known = grading != nullptr &&
                       std::any_of(grading->scales.front().bands.begin(),
                                   grading->scales.front().bands.end(),
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

  // ---- rules

  void ParseRules() {
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

  Rule ParseRule(const Value& v, const std::string& path) {
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
      rule.source_fields[it->name.GetString()] = CompactJson(it->value);
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

  void ParseIndicator(const Value& v, const std::string& path, Rule& rule,
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

  void ParseCard(const Value& v, const std::string& path, Rule& rule,
                 const std::map<std::string, BindKind>& binds, std::set<std::string>& refs) {
    const Value* card = Member(v, "card");
    std::string cpath = Join(path, "card");
    if (card == nullptr || !card->IsObject()) {
      r_.Fail(cpath, "missing; expected {summary, detail, suggestions}");
      return;
    }
    CheckKeys(*card, cpath,
              {"summary", "summaryCases", "detail", "suggestions", "overrideReasons"});
    ParseSummaryCases(*card, cpath, rule, binds, refs);
    ParseOverrideReasons(*card, cpath, rule);
    if (GetString(*card, "summary", cpath, r_, rule.summary)) {
      std::size_t longest = CheckTemplate(rule.summary, Join(cpath, "summary"), &binds, false);
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
          GetString(d, "text", dpath, r_, part.text, false);
        } else {
          GetString(d, "text", dpath, r_, part.text);
        }
        if (!part.text.empty()) CheckTemplate(part.text, Join(dpath, "text"), &binds, false);
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
      GetString(s, "label", spath, r_, st.label);
      std::map<std::string, BindKind> item_binds = binds;
      GetString(s, "forEach", spath, r_, st.for_each, false);
      if (!st.for_each.empty()) {
        auto b = binds.find(st.for_each);
        if (b == binds.end() || b->second != BindKind::kMedication) {
          r_.Fail(Join(spath, "forEach"), "expected the name of a medication binding");
        }
        item_binds["item"] = BindKind::kMedication;
      }
      CheckTemplate(st.label, Join(spath, "label"), &item_binds, false);
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
        if (GetString(a, "type", apath, r_, at.type) && at.type != "create" &&
            at.type != "delete") {
          r_.Fail(Join(apath, "type"), "expected create or delete");
        }
        GetString(a, "description", apath, r_, at.description);
        CheckTemplate(at.description, Join(apath, "description"), &item_binds, false);
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
  void ParseSummaryCases(const Value& card, const std::string& cpath, Rule& rule,
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
      if (GetString((*cases)[i], "summary", spath, r_, c.summary)) {
        std::size_t longest = CheckTemplate(c.summary, Join(spath, "summary"), &binds, false);
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
  int ParseTextTable(const Value& t, const std::string& path, Rule& rule,
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
  void ParseOverrideReasons(const Value& card, const std::string& cpath, Rule& rule) {
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

  static std::string SubstituteReason(const std::string& json, const std::string& reason) {
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

  // ---- precedence and order

  void ParsePrecedence() {
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
        auto l = (*replaces)[k].IsString() ? rule_ids_.find((*replaces)[k].GetString())
                                           : rule_ids_.end();
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

  static void CollectRuleRefs(const Predicate& p, std::set<int>& out) {
    for (int r : p.rules) out.insert(r);
    for (const Predicate& c : p.children) CollectRuleRefs(c, out);
  }

  // Topological order over `edges` (from -> must come before -> to); fails on a cycle.
  bool TopoSort(const std::vector<std::set<int>>& before, std::vector<int>& order,
                const char* what) {
    std::size_t n = out_.rules.size();
    std::vector<int> state(n, 0);
    bool ok = true;
    std::function<void(int)> visit = [&](int i) {
      auto u = static_cast<std::size_t>(i);
      if (state[u] == 2 || !ok) return;
      if (state[u] == 1) {
        r_.rule_id = out_.rules[u].id;
        r_.Fail(what, "cycle through rule " + out_.rules[u].id);
        ok = false;
        return;
      }
      state[u] = 1;
      for (int dep : before[u]) visit(dep);
      state[u] = 2;
      order.push_back(i);
    };
    for (std::size_t i = 0; i < n; ++i) visit(static_cast<int>(i));
    r_.rule_id.clear();
    return ok;
  }

  // Gives every medication/condition/lab/noLab leaf an id shared by the
  // structurally identical ones (definitions are inlined per use).
  void AssignLeafIds(Predicate& p, std::map<std::string, int>& ids) {
    for (Predicate& c : p.children) AssignLeafIds(c, ids);
    if (p.kind != PredicateKind::kMedication && p.kind != PredicateKind::kCondition &&
        p.kind != PredicateKind::kLab && p.kind != PredicateKind::kNoLab &&
        p.kind != PredicateKind::kDraftOrder) {
      return;
    }
    std::ostringstream key;
    key.precision(17);
    key << static_cast<int>(p.kind) << '|' << p.value_set << '|' << p.analyte << '|'
        << p.within_days << '|' << static_cast<int>(p.comparison) << '|' << p.threshold << '|'
        << p.threshold_high << '|' << (p.min_days ? *p.min_days : -1.0) << '|' << p.start_unknown
        << '|' << p.include_unconfirmed << '|';
    for (fhir::Route r : p.routes) key << static_cast<int>(r) << ',';
    key << '|' << (p.condition_within_days ? *p.condition_within_days : -1.0) << '|'
        << p.undated_counts << '|' << (p.recent_days ? *p.recent_days : -1.0) << '|'
        << p.undecidable_as_absent << '|' << (p.as_needed ? (*p.as_needed ? 1 : 0) : -1) << '|'
        << static_cast<int>(p.source) << '|' << (p.chain_gap_days ? *p.chain_gap_days : -1.0)
        << '|';
    for (const std::string& st : p.chain_statuses) key << st << ',';
    for (const std::string& st : p.recent_statuses) key << st << ',';
    key << '|';
    for (const std::string& b : p.bands) key << b << ',';
    p.leaf_id = ids.emplace(key.str(), static_cast<int>(ids.size())).first->second;
  }

  void OrderRules() {
    std::map<std::string, int> leaf_ids;
    for (Rule& rule : out_.rules) {
      AssignLeafIds(rule.when, leaf_ids);
      for (auto& b : rule.bindings) AssignLeafIds(b.second, leaf_ids);
      for (auto& c : rule.indicator_cases) AssignLeafIds(c.when, leaf_ids);
      for (auto& c : rule.summary_cases) AssignLeafIds(c.when, leaf_ids);
      for (auto& sg : rule.suggestions) {
        for (auto& a : sg.actions) {
          if (a.when) AssignLeafIds(*a.when, leaf_ids);
        }
      }
    }
    out_.leaf_count = static_cast<int>(leaf_ids.size());
    std::size_t n = out_.rules.size();
    std::vector<std::set<int>> deps(n), replacers(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Rule& rule = out_.rules[i];
      CollectRuleRefs(rule.when, deps[i]);
      for (const auto& b : rule.bindings) CollectRuleRefs(b.second, deps[i]);
      for (const auto& c : rule.indicator_cases) CollectRuleRefs(c.when, deps[i]);
      for (const auto& c : rule.summary_cases) CollectRuleRefs(c.when, deps[i]);
      for (const auto& s : rule.suggestions) {
        for (const auto& a : s.actions) {
          if (a.when) CollectRuleRefs(*a.when, deps[i]);
        }
      }
      for (const Rule::Replacement& r : rule.replaced_by) replacers[i].insert(r.by);
    }
    TopoSort(deps, out_.evaluation_order, "rules (ruleFires)");
    TopoSort(replacers, out_.precedence_order, "precedence");
  }

  const Value& root_;
  Reporter& r_;
  RuleSet& out_;
  std::map<std::string, int> value_set_ids_;
  std::map<std::string, int> analyte_ids_;
  std::map<std::string, int> prefetch_ids_;
  std::map<std::string, int> rule_ids_;
  std::map<std::string, std::string> resource_templates_;
  const Value* definitions_ = nullptr;
};

}  // namespace

std::string RuleIssue::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ":";
  if (!rule_id.empty()) out += " rule " + rule_id + ":";
  if (!field.empty()) out += " " + field + ":";
  return out + " " + message;
}

LoadReport LoadRuleSetReport(const std::string& path) {
  LoadReport report;
  std::string dir = IsDirectory(path) ? path : DirOf(path);
  std::string rules_file = IsDirectory(path) ? dir + "/ruleset.json" : path;
  std::string sets_file = dir + "/valuesets.json";

  auto load = [&](const std::string& file, LinedDocument& doc) {
    std::string text;
    if (!ReadFile(file, text)) {
      report.errors.push_back({file, 0, "", "", "cannot read file"});
      return false;
    }
    internal::ParseWithLines(text, doc);
    if (!doc.parse_error.empty()) {
      report.errors.push_back(
          {file, doc.parse_error_line, "", "", "invalid JSON: " + doc.parse_error});
      return false;
    }
    return true;
  };
  LinedDocument sets_doc, rules_doc;
  bool sets_ok = load(sets_file, sets_doc);
  bool rules_ok = load(rules_file, rules_doc);
  if (!sets_ok || !rules_ok) return report;

  // Structure first, against the shipped JSON Schemas; semantics only once the
  // shape is right, so one mistake gives one message.
  auto schema = [&](internal::SchemaKind kind, const std::string& file, const LinedDocument& doc) {
    auto violation = internal::CheckSchema(kind, doc.doc);
    if (!violation) return true;
    std::string rule_id;
    if (kind == internal::SchemaKind::kRuleSet && violation->path.rfind("rules[", 0) == 0) {
      std::size_t close = violation->path.find(']');
      std::size_t index = std::stoul(violation->path.substr(6, close - 6));
      const auto& rules = doc.doc["rules"];
      if (index < rules.Size() && rules[static_cast<rapidjson::SizeType>(index)].IsObject() &&
          rules[static_cast<rapidjson::SizeType>(index)].HasMember("id") &&
          rules[static_cast<rapidjson::SizeType>(index)]["id"].IsString()) {
        rule_id = rules[static_cast<rapidjson::SizeType>(index)]["id"].GetString();
      }
    }
    report.errors.push_back(
        {file, doc.LineOf(violation->path), rule_id, violation->path, violation->message});
    return false;
  };
  bool sets_shape = schema(internal::SchemaKind::kValueSets, sets_file, sets_doc);
  bool rules_shape = schema(internal::SchemaKind::kRuleSet, rules_file, rules_doc);
  if (!sets_shape || !rules_shape) return report;

  auto rule_set = std::make_shared<RuleSet>();
  rule_set->path = dir;
  std::map<std::string, int> value_set_ids;
  {
    Reporter reporter(sets_file, sets_doc, report.errors);
    ValueSetCompiler compiler(sets_doc.doc, reporter, report.warnings);
    rule_set->value_sets = compiler.Take(value_set_ids);
  }
  Reporter reporter(rules_file, rules_doc, report.errors);
  RuleSetBuilder builder(rules_doc, reporter, *rule_set, std::move(value_set_ids));
  builder.Build();
  if (report.errors.empty()) report.rule_set = std::move(rule_set);
  return report;
}

Result<std::shared_ptr<const RuleSet>> LoadRuleSet(const std::string& path) {
  LoadReport report = LoadRuleSetReport(path);
  if (!report.errors.empty()) {
    std::string message;
    for (const RuleIssue& issue : report.errors) message += issue.ToString() + "\n";
    return Error{ErrorCode::kRuleConfig, message};
  }
  return report.rule_set;
}

}  // namespace cds::rules
