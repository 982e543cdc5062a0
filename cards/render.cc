#include "cards/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "rules/text_template.h"

namespace cds::cards {
namespace {

using rules::Bound;
using rules::RuleOutcome;

std::string FormatNumber(double v, int max_decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", max_decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

// Cuts UTF-8 text to at most `width` code points, ending with "…" when cut.
std::string Truncate(const std::string& text, std::size_t width) {
  if (rules::CodePointCount(text) <= width) return text;
  std::string out;
  std::size_t points = 0;
  for (char c : text) {
    bool starts_point = (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    if (starts_point && ++points > width - 1) break;
    out.push_back(c);
  }
  return out + "\u2026";
}

class TextFiller {
 public:
  TextFiller(const rules::RuleSet& rule_set, const RuleOutcome& outcome, fhir::EpochSeconds now)
      : rs_(rule_set), outcome_(outcome), now_(now) {}

  // The current item of a forEach suggestion: (reference, name).
  void SetItem(const std::pair<std::string, std::string>* item) { item_ = item; }

  // `summary` cuts each value to its maximum width (see rules::MaxFieldWidth).
  // Templates were parsed once at load (rules/rule_compile.h); nothing is
  // parsed per card.
  std::string Fill(const rules::TextTemplate& text, bool summary) const {
    std::string out;
    for (const rules::TemplateSegment& seg : text.segments) {
      if (!seg.is_placeholder) {
        out += seg.text;
        continue;
      }
      std::string value = Value(seg);
      out += summary && seg.field != "first" ? Truncate(value, rules::MaxFieldWidth(seg.field))
                                             : value;
    }
    return out;
  }

 private:
  std::string Value(const rules::TemplateSegment& seg) const {
    if (seg.text == "param") {
      auto it = rs_.parameters.find(seg.field);
      return it == rs_.parameters.end() ? "" : FormatNumber(it->second, 4);
    }
    if (seg.text == "item") {
      if (item_ == nullptr) return "";
      return seg.field == "ref" ? item_->first : item_->second;
    }
    if (seg.text == "rule" && seg.field == "evidence") {
      return rs_.rules[static_cast<std::size_t>(outcome_.rule)].evidence;
    }
    auto it = outcome_.bound.find(seg.text);
    if (it == outcome_.bound.end()) return "(not recorded)";
    const Bound& b = it->second;
    if (seg.field == "names") return b.names.empty() ? "(not recorded)" : JoinNames(b.names);
    if (seg.field == "first") {
      // R18: the first (highest-priority) name, cut to 40, then " and n more".
      if (b.names.empty()) return "(not recorded)";
      std::string first = Truncate(b.names.front(), 40);
      return b.names.size() == 1 ? first
                                 : first + " and " + std::to_string(b.names.size() - 1) + " more";
    }
    if (seg.field == "months") {
      if (!b.earliest_start) return "(unknown)";
      double days = static_cast<double>(now_ - b.earliest_start->seconds) / fhir::kSecondsPerDay;
      return FormatNumber(std::floor(days / 30.4375), 0);
    }
    if (seg.field == "start") return b.earliest_start ? b.earliest_start->date_text : "(unknown)";
    if (seg.field == "last") return b.latest_start ? b.latest_start->date_text : "(unknown)";
    if (seg.field == "patientReported") {
      // R21: products known only from the patient cannot be discontinued by the client.
      return b.statement_only.empty() ? ""
                                      : "Patient-reported: " + JoinNames(b.statement_only) +
                                            " \u2014 ask the patient to stop.";
    }
    if (seg.field == "days" || seg.field == "years") {
      if (!b.earliest_start) return "(unknown)";
      double days = static_cast<double>(now_ - b.earliest_start->seconds) / fhir::kSecondsPerDay;
      return seg.field == "days" ? FormatNumber(std::floor(days), 0)
                                 : FormatNumber(days / 365.25, 1);
    }
    if (!b.lab) return "(none)";
    if (seg.field == "reported") return b.lab->reported;
    if (seg.field == "value") return b.lab->comparator + FormatNumber(b.lab->value, 2);
    if (seg.field == "unit") return b.analyte_unit;
    if (seg.field == "date") return b.lab->effective.date_text;
    if (seg.field == "band") return b.lab->band;
    if (seg.field == "crossed") return b.lab->crossed;
    if (seg.field == "approx") {
      // R2: " (≈0.70 mmol/L)" (with its leading space) after a value not graded on the canonical
      // scale; half-up to 2 decimals, display only.
      if (b.lab->grade_unit.empty() || b.lab->grade_unit == b.analyte_unit) return "";
      char buf[48];
      std::snprintf(buf, sizeof buf, " (\u2248%.2f %s)",
                    std::floor(b.lab->value * 100.0 + 0.5 + 1e-9) / 100.0, b.analyte_unit.c_str());
      return buf;
    }
    if (seg.field == "censoredNote") {
      if (b.lab->comparator.empty()) return "";
      const bool lower = b.lab->comparator[0] == '<';
      return "Result reported as " + b.lab->reported + "; the true value may be " +
             (lower ? "lower." : "higher.");
    }
    if (seg.field == "source") {
      return b.lab->component_of.empty() ? b.lab->ref : "component of " + b.lab->component_of;
    }
    return "";
  }

  const rules::RuleSet& rs_;
  const RuleOutcome& outcome_;
  fhir::EpochSeconds now_;
  const std::pair<std::string, std::string>* item_ = nullptr;
};

bool PartShown(const rules::TextPart& part, const RuleOutcome& outcome) {
  auto matched = [&](const std::string& name) {
    auto it = outcome.bound.find(name);
    return it != outcome.bound.end() && it->second.matched();
  };
  if (!part.if_bound.empty() && !matched(part.if_bound)) return false;
  if (!part.unless_bound.empty() && matched(part.unless_bound)) return false;
  return true;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  std::size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

}  // namespace

std::vector<Card> RenderCards(const rules::RuleSet& rule_set, const rules::Evaluation& evaluation,
                              const RenderContext& context) {
  std::vector<Card> cards;
  for (const RuleOutcome& outcome : evaluation.outcomes) {
    if (!outcome.fired) continue;
    const rules::Rule& rule = rule_set.rules[static_cast<std::size_t>(outcome.rule)];
    TextFiller filler(rule_set, outcome, context.now);
    Card card;
    card.uuid = context.ids->NewUuid();
    const rules::TextTemplate& summary =
        outcome.summary_case >= 0
            ? rule.summary_cases[static_cast<std::size_t>(outcome.summary_case)].summary
            : rule.summary;
    card.summary = filler.Fill(summary, true);
    for (const rules::TextPart& part : rule.detail) {
      if (!PartShown(part, outcome)) continue;
      std::string text = part.text.empty() ? "" : filler.Fill(part.text, false);
      if (part.table >= 0 && static_cast<std::size_t>(part.table) < outcome.table_lines.size()) {
        // R22: one line per interacting drug, each with its own label advice.
        for (const std::string& line : outcome.table_lines[static_cast<std::size_t>(part.table)]) {
          text += (text.empty() ? "- " : "\n- ") + line;
        }
      }
      // A part made only of placeholders that had nothing to say is left out.
      if (text.find_first_not_of(" \t\n") == std::string::npos) continue;
      card.detail += text + "\n\n";
    }
    card.detail += rule_set.disclaimer;
    card.indicator = outcome.indicator;
    card.source = {
        rule.source_label, rule.source_url, {rule_set.topic_system, rule.id, rule.title}};
    for (std::size_t s = 0; s < rule.suggestions.size(); ++s) {
      const rules::SuggestionTemplate& st = rule.suggestions[s];
      // A forEach suggestion repeats per matched MedicationRequest (R21); others once.
      std::vector<const std::pair<std::string, std::string>*> items{nullptr};
      if (!st.for_each.empty()) {
        items.clear();
        auto b = outcome.bound.find(st.for_each);
        if (b != outcome.bound.end()) {
          for (const auto& request : b->second.requests) items.push_back(&request);
        }
      }
      for (const auto* item : items) {
        filler.SetItem(item);
        Suggestion suggestion;
        suggestion.label = filler.Fill(st.label, false);
        suggestion.is_recommended = st.recommended;
        for (std::size_t a = 0; a < st.actions.size(); ++a) {
          if (s < outcome.actions_shown.size() && a < outcome.actions_shown[s].size() &&
              !outcome.actions_shown[s][a]) {
            continue;
          }
          const rules::ActionTemplate& at = st.actions[a];
          Action action{at.type, filler.Fill(at.description, false),
                        ReplaceAll(at.resource_json, "${patient.id}", context.patient_id), ""};
          if (at.type == "delete" && item != nullptr) action.resource_id = item->first;
          suggestion.actions.push_back(std::move(action));
        }
        filler.SetItem(nullptr);
        if (suggestion.actions.empty()) continue;
        suggestion.uuid = context.ids->NewUuid();
        card.suggestions.push_back(std::move(suggestion));
      }
    }
    if (!card.suggestions.empty()) card.selection_behavior = "at-most-one";
    for (const rules::OverrideReason& reason : rule.override_reasons) {
      card.override_reasons.push_back({reason.system, reason.code, reason.display});
    }
    card.rule_id = rule.id;
    card.rule_version = rule.version;
    card.ruleset_id = rule_set.id;
    card.ruleset_version = rule_set.version;
    cards.push_back(std::move(card));
  }
  std::stable_sort(cards.begin(), cards.end(),
                   [](const Card& a, const Card& b) { return a.indicator > b.indicator; });
  return cards;
}

}  // namespace cds::cards
