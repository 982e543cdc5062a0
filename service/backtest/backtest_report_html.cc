// report.html (service/backtest/backtest_report.h): inline CSS and SVG, no script.
// Every number cell carries data-ruleset / data-rule / data-field so a test
// (and a curious reader's tooling) can check it against report.json.
#include <algorithm>
#include <cstdio>

#include "rules/ruleset.h"
#include "service/backtest/backtest_report.h"

namespace cds::service {
namespace {

constexpr const char* kCurrentColour = "#1f6fb2";
constexpr const char* kBaselineColour = "#a0aec0";

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#1a202c;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #cbd5e0;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;width:100%}th,td{border:1px solid #cbd5e0;padding:.25em .5em;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#edf2f7}
.meta td:first-child{width:14em;font-weight:600}.up{color:#9b2c2c}.down{color:#276749}
.legend span{display:inline-block;width:1em;height:1em;margin:0 .3em -.15em 1em}
pre{white-space:pre-wrap;margin:0;font-size:.9em}.note{color:#4a5568}
@media print{body{margin:0;max-width:none;font-size:11px}h2{page-break-after:avoid}tr,svg{page-break-inside:avoid}}
)";

std::string Cell(std::string_view ruleset, std::string_view rule, std::string_view field,
                 const std::string& value) {
  return "<td class=\"n\" data-ruleset=\"" + HtmlEscape(ruleset) + "\" data-rule=\"" +
         HtmlEscape(rule) + "\" data-field=\"" + HtmlEscape(field) + "\">" + HtmlEscape(value) +
         "</td>";
}

const RuleCount* FindRule(const BacktestSide& side, const std::string& id) {
  for (const RuleCount& rule : side.rules) {
    if (rule.rule_id == id) return &rule;
  }
  return nullptr;
}

// Horizontal bars: cards per rule, the new version and (if any) the baseline.
std::string Chart(const BacktestReport& report) {
  const BacktestSide& side = report.current;
  const bool two = report.previous.has_value();
  std::size_t max = 1;
  for (const RuleCount& rule : side.rules) {
    max = std::max(max, rule.cards);
    if (two) {
      if (const RuleCount* old = FindRule(*report.previous, rule.rule_id))
        max = std::max(max, old->cards);
    }
  }
  const int label_width = 90, bar_width = 560, row = two ? 30 : 20;
  const int height = static_cast<int>(side.rules.size()) * row + 30;
  std::string svg = "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" +
                    std::to_string(label_width + bar_width + 80) + "\" height=\"" +
                    std::to_string(height) + "\" aria-label=\"Cards per rule\">";
  int y = 10;
  for (const RuleCount& rule : side.rules) {
    svg += "<text x=\"0\" y=\"" + std::to_string(y + 12) + "\" font-size=\"12\">" +
           HtmlEscape(rule.rule_id) + "</text>";
    const auto bar = [&](std::size_t cards, const char* colour, int top, const std::string& label) {
      const int w = cards == 0
                        ? 0
                        : std::max(2, static_cast<int>(static_cast<double>(cards) * bar_width /
                                                       static_cast<double>(max)));
      svg += "<rect class=\"bar\" data-rule=\"" + HtmlEscape(rule.rule_id) + "\" data-ruleset=\"" +
             HtmlEscape(label) + "\" x=\"" + std::to_string(label_width) + "\" y=\"" +
             std::to_string(top) + "\" width=\"" + std::to_string(w) + "\" height=\"12\" fill=\"" +
             colour + "\"><title>" +
             HtmlEscape(label + " " + rule.rule_id + ": " + std::to_string(cards) + " cards") +
             "</title></rect><text x=\"" + std::to_string(label_width + w + 4) + "\" y=\"" +
             std::to_string(top + 10) + "\" font-size=\"11\">" + std::to_string(cards) + "</text>";
    };
    bar(rule.cards, kCurrentColour, y, side.ruleset);
    if (two) {
      const RuleCount* old = FindRule(*report.previous, rule.rule_id);
      bar(old ? old->cards : 0, kBaselineColour, y + 13, report.previous->ruleset);
    }
    y += row;
  }
  svg += "</svg>";
  return svg;
}

std::string RuleTable(const BacktestSide& side, std::size_t patients) {
  std::string out =
      "<table><tr><th>Rule</th><th>Title</th><th>Version</th><th class=\"n\">Cards</th><th "
      "class=\"n\">info</th><th class=\"n\">warning</th><th class=\"n\">critical</th><th "
      "class=\"n\">per 1,000 patients</th><th class=\"n\">info per 1,000</th><th "
      "class=\"n\">warning per 1,000</th><th class=\"n\">critical per 1,000</th><th "
      "class=\"n\">undecided</th></tr>";
  for (const RuleCount& rule : side.rules) {
    out += "<tr><td>" + HtmlEscape(rule.rule_id) + "</td><td>" + HtmlEscape(rule.title) +
           "</td><td>" + HtmlEscape(rule.version.empty() ? "(absent)" : rule.version) + "</td>" +
           Cell(side.ruleset, rule.rule_id, "cards", std::to_string(rule.cards)) +
           Cell(side.ruleset, rule.rule_id, "info", std::to_string(rule.by_indicator[0])) +
           Cell(side.ruleset, rule.rule_id, "warning", std::to_string(rule.by_indicator[1])) +
           Cell(side.ruleset, rule.rule_id, "critical", std::to_string(rule.by_indicator[2])) +
           Cell(side.ruleset, rule.rule_id, "per1000", Per1000(rule.cards, patients));
    for (int i = 0; i < 3; ++i) {
      out += Cell(side.ruleset, rule.rule_id,
                  std::string(rules::IndicatorName(static_cast<rules::Indicator>(i))) + "Per1000",
                  Per1000(rule.by_indicator[i], patients));
    }
    out += Cell(side.ruleset, rule.rule_id, "unknown", std::to_string(rule.unknown)) + "</tr>";
  }
  return out + "</table>";
}

std::string SideDetails(const BacktestSide& side) {
  std::string out = "<h3>Cards per patient (" + HtmlEscape(side.ruleset) +
                    ")</h3><table><tr><th class=\"n\">Cards</th><th class=\"n\">Patients</th></tr>";
  for (const auto& [cards, n] : side.cards_per_patient) {
    out += "<tr><td class=\"n\">" + std::to_string(cards) + "</td>" +
           Cell(side.ruleset, "*", "patientsWith" + std::to_string(cards), std::to_string(n)) +
           "</tr>";
  }
  out += "</table>";
  bool any_unknown = false;
  for (const RuleCount& rule : side.rules) any_unknown = any_unknown || rule.unknown > 0;
  out += "<h3>Undecided rules (" + HtmlEscape(side.ruleset) + ")</h3>";
  if (!any_unknown) {
    out += "<p>Every rule was decided for every patient.</p>";
  } else {
    out += "<table><tr><th>Rule</th><th>Why</th><th class=\"n\">Patients</th></tr>";
    for (const RuleCount& rule : side.rules) {
      for (const auto& [why, n] : rule.unknown_reasons) {
        out += "<tr><td>" + HtmlEscape(rule.rule_id) + "</td><td>" + HtmlEscape(why) +
               "</td><td class=\"n\">" + std::to_string(n) + "</td></tr>";
      }
    }
    out += "</table>";
  }
  if (!side.call_errors.empty()) {
    out += "<h3>Patients without an answer (" + HtmlEscape(side.ruleset) +
           ")</h3><table><tr><th>Error</th><th class=\"n\">Patients</th></tr>";
    for (const auto& [message, n] : side.call_errors) {
      out += "<tr><td>" + HtmlEscape(message) + "</td><td class=\"n\">" + std::to_string(n) +
             "</td></tr>";
    }
    out += "</table>";
  }
  return out;
}

std::string Changes(const BacktestReport& report) {
  const BacktestSide& now = report.current;
  const BacktestSide& before = *report.previous;
  std::string out = "<h2>Changes from " + HtmlEscape(before.ruleset) + " to " +
                    HtmlEscape(now.ruleset) + "</h2><p>" + std::to_string(report.patients_changed) +
                    " patient(s) would see a different set of cards.</p>";
  out +=
      "<table><tr><th>Rule</th><th class=\"n\">Cards before</th><th class=\"n\">Cards "
      "now</th><th class=\"n\">Change</th><th></th><th class=\"n\">Patients gaining</th><th "
      "class=\"n\">Patients losing</th></tr>";
  for (const RuleCount& rule : now.rules) {
    const RuleCount* old = FindRule(before, rule.rule_id);
    const long long delta =
        static_cast<long long>(rule.cards) - static_cast<long long>(old ? old->cards : 0);
    out +=
        "<tr><td>" + HtmlEscape(rule.rule_id) + "</td><td class=\"n\">" +
        std::to_string(old ? old->cards : 0) + "</td><td class=\"n\">" +
        std::to_string(rule.cards) + "</td>" +
        Cell(now.ruleset, rule.rule_id, "change", CardChange(report, now.ruleset, rule.rule_id)) +
        "<td class=\"" +
        (delta > 0   ? "up"
         : delta < 0 ? "down"
                     : "") +
        "\">" +
        (delta > 0   ? "&#9650; up"
         : delta < 0 ? "&#9660; down"
                     : "") +
        "</td>" +
        Cell(now.ruleset, rule.rule_id, "patientsGaining", std::to_string(rule.patients_gaining)) +
        Cell(now.ruleset, rule.rule_id, "patientsLosing", std::to_string(rule.patients_losing)) +
        "</tr>";
  }
  out +=
      "</table><h3>Sample of changed patients</h3><p class=\"note\">Patients are shown as "
      "keyed hashes (key id " +
      HtmlEscape(report.hash_key_id) +
      "). The reasons come from the engine's explain mode and may name medications, "
      "conditions and dates: handle this report as clinical data.</p>";
  if (report.sample.empty()) out += "<p>No patient changed.</p>";
  for (const ChangedPatient& patient : report.sample) {
    out += "<table><tr><th colspan=\"3\">" + HtmlEscape(patient.patient_hash) +
           "</th></tr><tr><th>Card</th><th>" + HtmlEscape(now.ruleset) + "</th><th>" +
           HtmlEscape(before.ruleset) + "</th></tr>";
    for (const ChangedRule& rule : patient.rules) {
      const auto lines = [](const std::vector<std::string>& explain) {
        std::string text;
        for (const std::string& line : explain) text += HtmlEscape(line) + "\n";
        return "<pre>" + text + "</pre>";
      };
      out += "<tr><td>" + HtmlEscape(rule.rule_id) + " " + HtmlEscape(rule.change) + "</td><td>" +
             lines(rule.new_explain) + "</td><td>" + lines(rule.baseline_explain) + "</td></tr>";
    }
    out += "</table>";
  }
  return out;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string BacktestReportHtml(const BacktestReport& report) {
  const std::string title = "Backtest of " + report.rules +
                            (report.baseline.empty() ? "" : " against " + report.baseline);
  std::string population;
  for (const std::string& path : report.population)
    population += (population.empty() ? "" : ", ") + path;
  std::string out = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                    HtmlEscape(title) + "</title><style>" + kStyle + "</style></head><body><h1>" +
                    HtmlEscape(title) + "</h1>";
  const auto meta = [&](const std::string& name, const std::string& value, const char* field) {
    out += "<tr><td>" + HtmlEscape(name) + "</td><td data-field=\"" + field + "\">" +
           HtmlEscape(value) + "</td></tr>";
  };
  out += "<table class=\"meta\">";
  meta("Hook", report.hook, "hook");
  meta("Evaluated as of", report.now, "now");
  meta("Population", population, "population");
  meta("Patients found", std::to_string(report.patients_total), "patientsTotal");
  meta("Patients evaluated", std::to_string(report.patients_evaluated), "patientsEvaluated");
  meta("Patients skipped (bad input)", std::to_string(report.patients_skipped), "patientsSkipped");
  meta("Patients with at least one card (" + report.current.ruleset + ")",
       std::to_string(report.current.patients_with_card), "patientsWithCard");
  meta("Cards (" + report.current.ruleset + ")", std::to_string(report.current.cards), "cards");
  if (report.previous) {
    meta("Patients with at least one card (" + report.previous->ruleset + ")",
         std::to_string(report.previous->patients_with_card), "baselinePatientsWithCard");
    meta("Cards (" + report.previous->ruleset + ")", std::to_string(report.previous->cards),
         "baselineCards");
  }
  meta("Input problems", std::to_string(report.problem_count), "problemCount");
  char run[64];
  std::snprintf(run, sizeof run, "%d job(s), %.1f s", report.jobs, report.seconds);
  meta("Run", run, "run");
  out += "</table>";

  out += "<h2>Cards per rule</h2><p class=\"legend\"><span style=\"background:" +
         std::string(kCurrentColour) + "\"></span>" + HtmlEscape(report.current.ruleset);
  if (report.previous) {
    out += "<span style=\"background:" + std::string(kBaselineColour) + "\"></span>" +
           HtmlEscape(report.previous->ruleset);
  }
  out += "</p>" + Chart(report);
  out += "<h2>" + HtmlEscape(report.current.ruleset) + "</h2>" +
         RuleTable(report.current, report.patients_evaluated) + SideDetails(report.current);
  if (report.previous) {
    out += "<h2>" + HtmlEscape(report.previous->ruleset) + " (baseline)</h2>" +
           RuleTable(*report.previous, report.patients_evaluated) + SideDetails(*report.previous);
    out += Changes(report);
  }
  out += "<h2>Input problems</h2>";
  if (report.problems.empty())
    out += "<p>None.</p>";
  else {
    out += "<table><tr><th>File</th><th class=\"n\">Line</th><th>Problem</th></tr>";
    for (const InputProblem& problem : report.problems) {
      out += "<tr><td>" + HtmlEscape(problem.file) + "</td><td class=\"n\">" +
             (problem.line > 0 ? std::to_string(problem.line) : std::string()) + "</td><td>" +
             HtmlEscape(problem.message) + "</td></tr>";
    }
    out += "</table>";
    if (report.problem_count > report.problems.size()) {
      out += "<p>… and " + std::to_string(report.problem_count - report.problems.size()) +
             " more.</p>";
    }
  }
  if (!report.unjoined.empty()) {
    out += "<p class=\"note\">Resources outside the Patient compartment, not joined to patients: ";
    bool first = true;
    for (const auto& [type, n] : report.unjoined) {
      out += (first ? "" : ", ") + HtmlEscape(type) + " " + std::to_string(n);
      first = false;
    }
    out += ".</p>";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace cds::service
