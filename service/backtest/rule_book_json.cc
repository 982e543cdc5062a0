// The rule book (service/backtest/rule_book.h): the rule files as written, in plain
// language, with cards rendered from the shipped example patients.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <initializer_list>
#include <map>
#include <set>

#include "cards/id_source.h"
#include "cards/render.h"
#include "rules/engine.h"
#include "rules/ruleset_diff.h"
#include "service/backtest/backtest_report.h"
#include "service/backtest/rule_book.h"

namespace cds::service {
namespace {

using rapidjson::Value;

constexpr const char* kStyle = R"css(
body{font:15px/1.5 Georgia,"Times New Roman",serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#1a202c}
h1{font-size:1.8em;margin-bottom:.1em}h2{border-bottom:2px solid #2d3748;margin-top:2em}h3{margin-bottom:.3em}
.rule{border:1px solid #cbd5e0;border-radius:4px;padding:.2em 1em 1em;margin:1.2em 0}
.rule h3{font-size:1.25em}.label{font-weight:bold}.def{color:#4a5568;font-size:.85em;font-family:monospace}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}th,td{border:1px solid #cbd5e0;padding:.2em .45em;text-align:left;vertical-align:top}
th{background:#edf2f7}code{font-family:monospace;font-size:.92em}
.card{border-left:6px solid #3182ce;background:#f7fafc;padding:.5em 1em;margin:.5em 0;font-family:system-ui,sans-serif;font-size:.92em}
.card.warning{border-color:#dd6b20}.card.critical{border-color:#c53030}.card .summary{font-weight:bold}
.unverified{color:#9b2c2c;font-weight:bold}.disclaimer{border:1px solid #c53030;padding:.6em 1em;background:#fff5f5}
.trigger{background:#fffff0;border:1px solid #ecc94b;padding:.4em .8em}.and,.or,.not{font-weight:bold;font-family:system-ui,sans-serif;font-size:.85em}
@media print{body{max-width:none;margin:0;font-size:11pt}.rule,table,.card{page-break-inside:avoid}h2{page-break-before:always}h2:first-of-type{page-break-before:auto}a{color:inherit}a[href^="http"]::after{content:" (" attr(href) ")";font-size:.8em}}
)css";

std::string Esc(std::string_view text) { return HtmlEscape(text); }

std::string Str(const Value& object, const char* name) {
  if (!object.IsObject()) return "";
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

const Value* Member(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string Compact(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

std::string UnitWords(const std::string& unit) { return unit == "d" ? "days" : unit; }

// Turns the rule language into sentences. Definitions are expanded in place
// and named in brackets, so the committee can trace a phrase to the file.
class Phraser {
 public:
  Phraser(const Value& ruleset, const rules::RuleSet& compiled)
      : ruleset_(ruleset), compiled_(compiled) {}

  // A number written in place or as a parameter name: "365 days (ppiLongTermDays)".
  std::string Amount(const Value& value, const std::string& unit = "") const {
    if (value.IsNumber())
      return Number(value.GetDouble()) + (unit.empty() ? "" : " " + UnitWords(unit));
    if (!value.IsString()) return "?";
    const std::string name(value.GetString(), value.GetStringLength());
    const Value* parameters = Member(ruleset_, "parameters");
    const Value* parameter = parameters ? Member(*parameters, name.c_str()) : nullptr;
    if (parameter == nullptr) return Esc(name);
    const Value* number = Member(*parameter, "value");
    const std::string param_unit = Str(*parameter, "unit");
    return (number && number->IsNumber() ? Number(number->GetDouble()) : std::string("?")) +
           (param_unit.empty() ? "" : " " + Esc(UnitWords(param_unit))) + " <span class=\"def\">(" +
           Esc(name) + ")</span>";
  }

  std::string Phrase(const Value& p) const {
    if (!p.IsObject()) return "?";
    if (const Value* all = Member(p, "all")) return Join(*all, "AND", "and");
    if (const Value* any = Member(p, "any")) return Join(*any, "OR", "or");
    if (const Value* negated = Member(p, "not")) {
      return "<span class=\"not\">NOT</span> (" + Phrase(*negated) + ")";
    }
    if (const Value* ref = Member(p, "ref"); ref && ref->IsString()) {
      const Value* definitions = Member(ruleset_, "definitions");
      const Value* definition = definitions ? Member(*definitions, ref->GetString()) : nullptr;
      if (definition == nullptr) return Esc(ref->GetString());
      return Phrase(*definition) + " <span class=\"def\">[" + Esc(ref->GetString()) + "]</span>";
    }
    if (const Value* m = Member(p, "medication")) return Medication(*m);
    if (const Value* c = Member(p, "condition")) return Condition(*c);
    if (const Value* l = Member(p, "lab")) return Lab(*l, false);
    if (const Value* l = Member(p, "noLab")) return Lab(*l, true);
    if (const Value* r = Member(p, "ruleFires"); r && r->IsArray()) {
      std::string ids;
      for (const Value& id : r->GetArray()) {
        if (id.IsString()) ids += (ids.empty() ? "" : " or ") + Esc(id.GetString());
      }
      return "the condition of rule " + ids + " holds";
    }
    if (const Value* patient = Member(p, "patient")) return Patient(*patient);
    // A predicate this book does not know yet: shown as written, never hidden.
    return "<code>" + Esc(Compact(p)) + "</code>";
  }

 private:
  std::string Join(const Value& items, const char* word, const char* css) const {
    if (!items.IsArray()) return "?";
    std::string out;
    for (const Value& item : items.GetArray()) {
      if (!out.empty()) out += " <span class=\"" + std::string(css) + "\">" + word + "</span> ";
      const bool group = Member(item, "all") || Member(item, "any");
      out += group ? "(" + Phrase(item) + ")" : Phrase(item);
    }
    return out;
  }

  std::string SetName(const std::string& id) const {
    for (const rules::ValueSet& set : compiled_.value_sets) {
      if (set.id == id)
        return "<a href=\"#vs-" + Esc(id) + "\">" + Esc(set.title.empty() ? id : set.title) +
               "</a>";
    }
    return Esc(id);
  }

  // Fields a phrase did not cover are listed as written, so the committee
  // never reads a trigger with a condition left out.
  static std::string Others(const Value& leaf, std::initializer_list<const char*> known) {
    std::string out;
    if (!leaf.IsObject()) return out;
    for (const auto& member : leaf.GetObject()) {
      const std::string_view name(member.name.GetString(), member.name.GetStringLength());
      bool covered = name == "as";
      for (const char* k : known) covered = covered || name == k;
      if (!covered)
        out +=
            " <span class=\"def\">[" + Esc(name) + ": " + Esc(Compact(member.value)) + "]</span>";
    }
    return out;
  }

  std::string Patient(const Value& p) const {
    std::string out = "the patient";
    if (const Value* age = Member(p, "minAgeYears"))
      out += " is at least " + Amount(*age, "years") + " old";
    if (const Value* deceased = Member(p, "deceased"); deceased && deceased->IsBool()) {
      out += deceased->GetBool() ? " is deceased" : " is alive";
    }
    return out + Others(p, {"minAgeYears", "deceased"});
  }

  std::string Medication(const Value& m) const {
    std::string out = "a current medication from " + SetName(Str(m, "valueSet"));
    if (const Value* routes = Member(m, "routes"); routes && routes->IsArray()) {
      std::string list;
      for (const Value& r : routes->GetArray()) {
        if (r.IsString()) list += (list.empty() ? "" : ", ") + Esc(r.GetString());
      }
      out += " given by route " + list;
    }
    if (const Value* days = Member(m, "minDays"))
      out += ", taken for at least " + Amount(*days, "d");
    if (const Value* unknown = Member(m, "startUnknown"); unknown && unknown->IsTrue()) {
      out += ", with no recorded start date";
    }
    if (const Value* recent = Member(m, "recentDays")) {
      out += ", or an order of it (active, on-hold, completed or stopped) from the last " +
             Amount(*recent, "d");
    }
    if (const Value* prn = Member(m, "asNeeded"); prn && prn->IsBool()) {
      out += prn->GetBool() ? ", taken as needed (PRN)" : ", taken regularly (not as needed)";
    }
    return out +
           Others(m, {"valueSet", "routes", "minDays", "startUnknown", "recentDays", "asNeeded"});
  }

  std::string Condition(const Value& c) const {
    std::string out = "an active condition from " + SetName(Str(c, "valueSet"));
    if (const Value* u = Member(c, "includeUnconfirmed"); u && u->IsTrue()) {
      out += " (unconfirmed and differential diagnoses count too)";
    }
    if (const Value* days = Member(c, "withinDays"))
      out += ", recorded in the last " + Amount(*days, "d");
    return out + Others(c, {"valueSet", "includeUnconfirmed", "withinDays"});
  }

  std::string Lab(const Value& l, bool absent) const {
    const std::string analyte = Str(l, "analyte");
    std::string title = analyte, unit;
    for (const rules::Analyte& a : compiled_.analytes) {
      if (a.id == analyte) title = a.title;
    }
    if (const Value* analytes = Member(ruleset_, "analytes")) {
      if (const Value* a = Member(*analytes, analyte.c_str())) unit = Str(*a, "unit");
    }
    std::string out = absent ? "no usable " + Esc(title) + " result"
                             : "the latest usable " + Esc(title) + " result";
    if (const Value* days = Member(l, "withinDays")) out += " in the last " + Amount(*days, "d");
    const std::pair<const char*, const char*> comparisons[] = {{"below", "is below"},
                                                               {"atOrBelow", "is at or below"},
                                                               {"above", "is above"},
                                                               {"atOrAbove", "is at or above"}};
    for (const auto& [key, words] : comparisons) {
      if (const Value* t = Member(l, key)) out += std::string(" ") + words + " " + Amount(*t, unit);
    }
    if (const Value* between = Member(l, "between");
        between && between->IsArray() && between->Size() == 2) {
      out += " is between " + Amount((*between)[0], unit) + " and " + Amount((*between)[1], unit) +
             " inclusive";
    }
    if (const Value* bands = Member(l, "band")) {
      std::string list;
      if (bands->IsArray()) {
        for (const Value& b : bands->GetArray()) {
          if (b.IsString()) list += (list.empty() ? "" : " or ") + Esc(b.GetString());
        }
      } else if (bands->IsString()) {
        list = Esc(bands->GetString());
      }
      out += " is graded " + list;
    }
    if (!absent && !Member(l, "below") && !Member(l, "atOrBelow") && !Member(l, "above") &&
        !Member(l, "atOrAbove") && !Member(l, "between") && !Member(l, "band")) {
      out += " exists";
    }
    if (Str(l, "undecidable") == "absent") {
      out += " (a censored result such as \"&lt;45\" that cannot decide this counts as no result)";
    }
    return out + Others(l, {"analyte", "withinDays", "below", "atOrBelow", "above", "atOrAbove",
                            "between", "band", "undecidable"});
  }

  const Value& ruleset_;
  const rules::RuleSet& compiled_;
};

// Card detail is GitHub-flavoured Markdown; the book shows bold and line breaks.
std::string MarkdownLite(const std::string& text) {
  std::string escaped = Esc(text), out;
  bool open = false;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped.compare(i, 2, "**") == 0) {
      out += open ? "</strong>" : "<strong>";
      open = !open;
      ++i;
    } else if (escaped[i] == '\n') {
      out += "<br>";
    } else {
      out += escaped[i];
    }
  }
  if (open) out += "</strong>";
  return out;
}

std::string CardHtml(const cards::Card& card, const std::string& example) {
  const std::string indicator = rules::IndicatorName(card.indicator);
  std::string out = "<div class=\"card " + indicator + "\"><div>Indicator: <b>" + indicator +
                    "</b></div><div class=\"summary\">" + Esc(card.summary) + "</div><div>" +
                    MarkdownLite(card.detail) + "</div>";
  for (const cards::Suggestion& suggestion : card.suggestions) {
    out += "<div>Suggestion: <b>" + Esc(suggestion.label) + "</b>" +
           (suggestion.is_recommended ? " (recommended)" : "");
    for (const cards::Action& action : suggestion.actions) {
      out += " — " + Esc(action.type) + ": " + Esc(action.description);
    }
    out += "</div>";
  }
  out += "<div>Source: <a href=\"" + Esc(card.source.url) + "\">" + Esc(card.source.label) +
         "</a></div><div class=\"def\">Rendered from the example patient \"" + Esc(example) +
         "\"</div></div>";
  return out;
}

std::string CodeRows(const Value& entries, const char* kind, const rules::ValueSet* compiled) {
  std::string out;
  if (!entries.IsArray()) return out;
  for (const Value& entry : entries.GetArray()) {
    const std::string system = Str(entry, "system");
    if (const Value* set = Member(entry, "valueSet"); set && set->IsString()) {
      out += "<tr><td>" + std::string(kind) +
             "</td><td colspan=\"4\">every code of value set <a href=\"#vs-" +
             Esc(set->GetString()) + "\">" + Esc(set->GetString()) + "</a></td></tr>";
    }
    if (const Value* text = Member(entry, "text"); text && text->IsArray()) {
      std::string patterns;
      for (const Value& t : text->GetArray()) {
        if (t.IsString()) patterns += (patterns.empty() ? "" : ", ") + Esc(t.GetString());
      }
      out +=
          "<tr><td>" + std::string(kind) +
          "</td><td colspan=\"4\">text patterns (names as written; * = word prefix): " + patterns +
          "</td></tr>";
    }
    for (const char* list : {"codes", "prefixes"}) {
      const Value* codes = Member(entry, list);
      if (codes == nullptr || !codes->IsArray()) continue;
      for (const Value& code : codes->GetArray()) {
        const std::string value = Str(code, "code");
        bool unverified = false;
        if (compiled != nullptr) {
          const std::string key = rules::CodeKey(system, value);
          for (const std::string& u : compiled->unverified_codes)
            unverified = unverified || u == key;
        }
        out +=
            "<tr><td>" + std::string(kind) + "</td><td><code>" + Esc(system) +
            "</code></td><td><code>" + Esc(value) + "</code>" +
            (std::string(list) == "prefixes" ? " (and every code below it)" : "") + "</td><td>" +
            Esc(Str(code, "display")) + "</td><td>" +
            (Str(code, "verification").empty()
                 ? "<span class=\"unverified\">no verification mark</span>"
                 : Esc(Str(code, "verification"))) +
            (unverified ? " <span class=\"unverified\">(not used for matching: unverified)</span>"
                        : "") +
            "</td></tr>";
      }
    }
  }
  return out;
}

}  // namespace

Result<std::string> BuildRuleBook(const RuleBookInput& input) {
  const rules::RuleSet& rs = *input.rule_set;
  rapidjson::Document ruleset, valuesets;
  ruleset.Parse(input.ruleset_json.c_str(), input.ruleset_json.size());
  valuesets.Parse(input.valuesets_json.c_str(), input.valuesets_json.size());
  if (ruleset.HasParseError() || !ruleset.IsObject() || valuesets.HasParseError() ||
      !valuesets.IsObject()) {
    return Error{ErrorCode::kInvalidRequest, "ruleset.json or valuesets.json is not a JSON object"};
  }
  const Phraser phraser(ruleset, rs);

  // The card each rule shows, from the first example patient that gets it.
  std::map<std::string, std::pair<std::string, cards::Card>> example_cards;
  for (const rules::ExampleCase& example : input.examples) {
    const fhir::PatientFacts facts = rules::FactsForCase(example);
    const rules::Evaluation evaluation = rules::Evaluate(rs, facts, example.now);
    cards::SequentialIdSource ids;
    cards::RenderContext context;
    context.patient_id = "example";
    context.ids = &ids;
    context.now = example.now;
    for (cards::Card& card : cards::RenderCards(rs, evaluation, context)) {
      const std::string file = example.file.substr(example.file.rfind('/') + 1);
      example_cards.try_emplace(card.rule_id, example.name + " (" + file + ")", std::move(card));
    }
  }

  std::string out =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rule book: " +
      Esc(rs.title) + " " + Esc(rs.version) + "</title><style>" + kStyle + "</style></head><body>";
  out += "<h1>" + Esc(rs.title) + "</h1><p>Rule book for ruleset <b>" + Esc(rs.id) +
         "</b> version <b>" + Esc(rs.version) + "</b>, released <b>" + Esc(rs.release_date) +
         "</b>. " + std::to_string(rs.rules.size()) + " rules, " +
         std::to_string(rs.value_sets.size()) + " value sets, " +
         std::to_string(rs.parameters.size()) + " parameters.</p>";
  out += "<div class=\"disclaimer\"><b>Disclaimer shown on every card:</b> " + Esc(rs.disclaimer) +
         "</div>";
  out +=
      "<p>Contents: " + std::string(input.baseline ? "<a href=\"#changes\">Changes</a> · " : "") +
      "<a href=\"#services\">Services</a> · <a href=\"#rules\">Rules</a> · <a "
      "href=\"#precedence\">Precedence</a> · <a "
      "href=\"#parameters\">Parameters</a> · <a href=\"#analytes\">Laboratory analytes</a> · <a "
      "href=\"#valuesets\">Value sets</a></p>";

  if (input.baseline != nullptr) {
    const rules::RuleSetDiff diff = rules::DiffRuleSets(*input.baseline, rs);
    out += "<h2 id=\"changes\">Changes since " + Esc(input.baseline->Label()) + "</h2>";
    if (diff.empty()) out += "<p>No changes.</p>";
    out += "<ul>";
    for (const std::string& line : diff.lines) out += "<li>" + Esc(line) + "</li>";
    for (const std::string& warning : diff.warnings)
      out += "<li><b>Warning:</b> " + Esc(warning) + "</li>";
    out += "</ul>";
  }

  out +=
      "<h2 id=\"services\">Services</h2><table><tr><th>Service</th><th>Hook</th><th>What it "
      "does</th><th>Data it reads (prefetch)</th></tr>";
  for (const rules::ServiceDefinition& service : rs.services) {
    std::string keys;
    for (const int index : service.prefetch) {
      if (index < 0 || static_cast<std::size_t>(index) >= rs.prefetch.size()) continue;
      const fhir::PrefetchSpec& spec = rs.prefetch[static_cast<std::size_t>(index)];
      keys += (keys.empty() ? "" : "<br>") + Esc(spec.key) + " (" +
              Esc(fhir::FactCategoryName(spec.category)) + (spec.required ? ", required" : "") +
              ")";
    }
    out += "<tr><td>" + Esc(service.title) + " <span class=\"def\">(" + Esc(service.id) +
           ")</span></td><td>" + Esc(service.hook) + "</td><td>" + Esc(service.description) +
           "</td><td>" + keys + "</td></tr>";
  }
  out += "</table>";

  out +=
      "<h2 id=\"rules\">Rules</h2><p>A rule fires when its trigger is <b>true</b>. When data the "
      "trigger needs could not be obtained (or, for \"no ... result\", is incomplete), the rule is "
      "undecided and does not fire.</p>";
  const Value* raw_rules = Member(ruleset, "rules");
  const Value* precedence = Member(ruleset, "precedence");
  for (const rules::Rule& rule : rs.rules) {
    const Value* raw = nullptr;
    if (raw_rules && raw_rules->IsArray()) {
      for (const Value& r : raw_rules->GetArray()) {
        if (Str(r, "id") == rule.id) raw = &r;
      }
    }
    out += "<div class=\"rule\" id=\"rule-" + Esc(rule.id) + "\"><h3>" + Esc(rule.id) + " — " +
           Esc(rule.title) + "</h3><p><span class=\"label\">Version</span> " + Esc(rule.version) +
           (rule.enabled ? "" : " <b>(disabled)</b>") + "</p>";
    out += "<p><span class=\"label\">Purpose:</span> " + Esc(rule.title) +
           ". The card tells the clinician: \u201c" + Esc(rule.summary) + "\u201d</p>";
    if (raw != nullptr) {
      if (const Value* when = Member(*raw, "when")) {
        out += "<p class=\"label\">Fires when</p><div class=\"trigger\">" + phraser.Phrase(*when) +
               "</div>";
      }
      if (const Value* indicator = Member(*raw, "indicator"); indicator && indicator->IsObject()) {
        out += "<p><span class=\"label\">Urgency:</span> " + Esc(Str(*indicator, "default"));
        if (const Value* cases = Member(*indicator, "cases"); cases && cases->IsArray()) {
          for (const Value& c : cases->GetArray()) {
            if (const Value* w = Member(c, "when")) {
              out += "; <b>" + Esc(Str(c, "indicator")) + "</b> when " + phraser.Phrase(*w);
            }
          }
        }
        out += "</p>";
      } else if (indicator && indicator->IsString()) {
        out += "<p><span class=\"label\">Urgency:</span> " + Esc(indicator->GetString()) + "</p>";
      }
    }
    out += "<p class=\"label\">The card as a clinician sees it</p>";
    if (const auto it = example_cards.find(rule.id); it != example_cards.end()) {
      out += CardHtml(it->second.second, it->second.first);
    } else {
      out += "<div class=\"card\"><div class=\"summary\">" + Esc(rule.summary) + "</div>";
      for (const rules::TextPart& part : rule.detail)
        out += "<div>" + MarkdownLite(part.text) + "</div>";
      out +=
          "<div class=\"def\">No shipped example patient triggers this rule: the card template is "
          "shown, ${...} are filled from the patient's record.</div></div>";
    }
    if (!rule.suggestions.empty()) {
      out += "<p class=\"label\">Suggestions</p><ul>";
      for (const rules::SuggestionTemplate& s : rule.suggestions) {
        out += "<li>" + Esc(s.label) + (s.recommended ? " (recommended)" : "");
        for (const rules::ActionTemplate& a : s.actions)
          out += " — " + Esc(a.type) + ": " + Esc(a.description);
        out += "</li>";
      }
      out += "</ul>";
    }
    out += "<p><span class=\"label\">Evidence:</span> " + Esc(rule.evidence) + "</p>";
    out += "<p><span class=\"label\">Source:</span> <a href=\"" + Esc(rule.source_url) + "\">" +
           Esc(rule.source_label) + "</a></p>";
    std::string prec;
    if (precedence && precedence->IsArray()) {
      for (const Value& entry : precedence->GetArray()) {
        const std::string by = Str(entry, "rule");
        const Value* replaces = Member(entry, "replaces");
        if (replaces == nullptr || !replaces->IsArray()) continue;
        for (const Value& r : replaces->GetArray()) {
          if (!r.IsString()) continue;
          if (by == rule.id)
            prec += "<li>When this rule fires it replaces " + Esc(r.GetString()) + ": " +
                    Esc(Str(entry, "reason")) + "</li>";
          if (r.GetString() == rule.id)
            prec += "<li>Replaced by " + Esc(by) +
                    " when that fires: " + Esc(Str(entry, "reason")) + "</li>";
        }
      }
    }
    out += "<p class=\"label\">Precedence</p>" +
           (prec.empty() ? "<p>None.</p>" : "<ul>" + prec + "</ul>") + "</div>";
  }

  out +=
      "<h2 id=\"precedence\">Precedence</h2><table><tr><th>Rule</th><th>Replaces</th><th>While "
      "undecided</th><th>Why</th></tr>";
  for (const rules::PrecedenceEntry& entry : rs.precedence) {
    std::string replaces;
    for (const std::string& r : entry.replaces) replaces += (replaces.empty() ? "" : ", ") + Esc(r);
    out += "<tr><td>" + Esc(entry.rule) + "</td><td>" + replaces + "</td><td>" +
           (entry.when_unknown ? "also suppresses" : "does not suppress") + "</td><td>" +
           Esc(entry.reason) + "</td></tr>";
  }
  out += "</table>";

  out +=
      "<h2 id=\"parameters\">Parameters "
      "(thresholds)</h2><table><tr><th>Name</th><th>Value</th><th>Unit</th><th>Meaning</th></tr>";
  if (const Value* parameters = Member(ruleset, "parameters");
      parameters && parameters->IsObject()) {
    for (const auto& p : parameters->GetObject()) {
      const Value* number = Member(p.value, "value");
      out += "<tr><td><code>" + Esc(p.name.GetString()) + "</code></td><td>" +
             (number && number->IsNumber() ? Number(number->GetDouble()) : std::string()) +
             "</td><td>" + Esc(UnitWords(Str(p.value, "unit"))) + "</td><td>" +
             Esc(Str(p.value, "description")) + "</td></tr>";
    }
  }
  out += "</table>";

  out +=
      "<h2 id=\"analytes\">Laboratory "
      "analytes</h2><table><tr><th>Analyte</th><th>Codes</th><th>Unit</th><th>Accepted units "
      "(factor)</th></tr>";
  if (const Value* analytes = Member(ruleset, "analytes"); analytes && analytes->IsObject()) {
    for (const auto& a : analytes->GetObject()) {
      std::string units;
      if (const Value* u = Member(a.value, "units"); u && u->IsObject()) {
        for (const auto& f : u->GetObject()) {
          units += (units.empty() ? "" : ", ") + Esc(f.name.GetString()) + " (×" +
                   (f.value.IsNumber() ? Number(f.value.GetDouble()) : std::string("?")) + ")";
        }
      }
      out += "<tr><td>" + Esc(Str(a.value, "title")) + " <span class=\"def\">(" +
             Esc(a.name.GetString()) + ")</span></td><td><a href=\"#vs-" +
             Esc(Str(a.value, "valueSet")) + "\">" + Esc(Str(a.value, "valueSet")) +
             "</a></td><td>" + Esc(Str(a.value, "unit")) + "</td><td>" + units + "</td></tr>";
    }
  }
  out += "</table>";

  out +=
      "<h2 id=\"valuesets\">Value sets</h2><p>Every code as written in the release, with its "
      "verification mark (where it was checked).</p>";
  if (const Value* sets = Member(valuesets, "valueSets"); sets && sets->IsArray()) {
    for (const Value& set : sets->GetArray()) {
      const std::string id = Str(set, "id");
      const rules::ValueSet* compiled = nullptr;
      for (const rules::ValueSet& v : rs.value_sets) {
        if (v.id == id) compiled = &v;
      }
      out += "<h3 id=\"vs-" + Esc(id) + "\">" + Esc(Str(set, "title")) + " <span class=\"def\">(" +
             Esc(id) + ", version " + Esc(Str(set, "version")) + ")</span></h3><p>" +
             Esc(Str(set, "description")) +
             "</p><table><tr><th></th><th>System</th><th>Code</th><th>Display</"
             "th><th>Verification</th></tr>";
      if (const Value* include = Member(set, "include"))
        out += CodeRows(*include, "include", compiled);
      if (const Value* exclude = Member(set, "exclude"))
        out += CodeRows(*exclude, "exclude", compiled);
      out += "</table>";
    }
  }
  out += "<p class=\"def\">Generated by magcds rules book from " + Esc(rs.path) +
         ".</p></body></html>\n";
  return out;
}

}  // namespace cds::service
