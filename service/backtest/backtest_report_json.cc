// report.json and report.csv, and writing the three files (service/backtest/backtest_report.h).
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "common/json_write_internal.h"
#include "rules/ruleset.h"
#include "service/backtest/backtest_report.h"

namespace cds::service {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;
// The report is mostly "key": value members, so each is one line.
using json_internal::Field;
using json_internal::StringsField;
using json_internal::WriteString;
// "key": {"name": count, ...} for the tallies (card counts, errors, reasons).
template <typename Map>
void CountsField(Writer& w, const char* key, const Map& counts) {
  w.Key(key);
  w.StartObject();
  for (const auto& [name, n] : counts) {
    if constexpr (std::is_integral_v<std::decay_t<decltype(name)>>) {
      w.Key(std::to_string(name).c_str());
    } else {
      WriteString(w, name);
    }
    w.Uint64(static_cast<std::uint64_t>(n));
  }
  w.EndObject();
}

void WriteSide(Writer& w, const BacktestReport& report, const BacktestSide& side) {
  const std::size_t patients = report.patients_evaluated;
  w.StartObject();
  Field(w, "ruleset", side.ruleset);
  Field(w, "service", side.service_id);
  Field(w, "cards", side.cards);
  Field(w, "patientsWithCard", side.patients_with_card);
  CountsField(w, "cardsPerPatient", side.cards_per_patient);
  CountsField(w, "callErrors", side.call_errors);
  w.Key("rules");
  w.StartArray();
  for (const RuleCount& rule : side.rules) {
    w.StartObject();
    Field(w, "id", rule.rule_id);
    Field(w, "title", rule.title);
    Field(w, "version", rule.version);
    Field(w, "cards", rule.cards);
    Field(w, "info", rule.by_indicator[0]);
    Field(w, "warning", rule.by_indicator[1]);
    Field(w, "critical", rule.by_indicator[2]);
    Field(w, "per1000", Per1000(rule.cards, patients));
    for (int i = 0; i < 3; ++i) {
      const std::string key =
          std::string(rules::IndicatorName(static_cast<rules::Indicator>(i))) + "Per1000";
      w.Key(key.c_str());
      WriteString(w, Per1000(rule.by_indicator[i], patients));
    }
    Field(w, "unknown", rule.unknown);
    CountsField(w, "unknownReasons", rule.unknown_reasons);
    Field(w, "patientsGaining", rule.patients_gaining);
    Field(w, "patientsLosing", rule.patients_losing);
    Field(w, "change", CardChange(report, side.ruleset, rule.rule_id));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string Per1000(std::size_t count, std::size_t patients) {
  if (patients == 0) return "0.0";
  // Integer arithmetic, rounded half up: the same text everywhere.
  const unsigned long long tenths =
      (static_cast<unsigned long long>(count) * 10000ULL + patients / 2) / patients;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

std::string CardChange(const BacktestReport& report, const std::string& ruleset,
                       const std::string& rule_id) {
  if (!report.previous || ruleset != report.current.ruleset) return "";
  long long now = 0, before = 0;
  for (const RuleCount& rule : report.current.rules) {
    if (rule.rule_id == rule_id) now = static_cast<long long>(rule.cards);
  }
  for (const RuleCount& rule : report.previous->rules) {
    if (rule.rule_id == rule_id) before = static_cast<long long>(rule.cards);
  }
  const long long delta = now - before;
  return (delta > 0 ? "+" : "") + std::to_string(delta);
}

std::string BacktestReportJson(const BacktestReport& report) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  Field(w, "ruleset", report.rules);
  w.Key("baseline");
  if (report.baseline.empty()) {
    w.Null();
  } else {
    WriteString(w, report.baseline);
  }
  Field(w, "hook", report.hook);
  Field(w, "now", report.now);
  StringsField(w, "population", report.population);
  w.Key("jobs");
  w.Int(report.jobs);
  w.Key("seconds");
  w.Double(static_cast<double>(static_cast<long long>(report.seconds * 1000)) / 1000.0);
  w.Key("inputBytes");
  w.Uint64(report.input_bytes);
  w.Key("patients");
  w.StartObject();
  Field(w, "total", report.patients_total);
  Field(w, "evaluated", report.patients_evaluated);
  Field(w, "skipped", report.patients_skipped);
  Field(w, "withCard", report.current.patients_with_card);
  Field(w, "changed", report.patients_changed);
  w.EndObject();
  Field(w, "problemCount", report.problem_count);
  w.Key("problems");
  w.StartArray();
  for (const InputProblem& problem : report.problems) {
    w.StartObject();
    Field(w, "file", problem.file);
    Field(w, "line", problem.line);
    Field(w, "message", problem.message);
    w.EndObject();
  }
  w.EndArray();
  CountsField(w, "unjoinedResources", report.unjoined);
  Field(w, "patientHashKeyId", report.hash_key_id);
  w.Key("current");
  WriteSide(w, report, report.current);
  w.Key("previous");
  if (report.previous) {
    WriteSide(w, report, *report.previous);
  } else {
    w.Null();
  }
  w.Key("sample");
  w.StartArray();
  for (const ChangedPatient& patient : report.sample) {
    w.StartObject();
    Field(w, "patient", patient.patient_hash);
    w.Key("changes");
    w.StartArray();
    for (const ChangedRule& rule : patient.rules) {
      w.StartObject();
      Field(w, "rule", rule.rule_id);
      Field(w, "change", rule.change);
      StringsField(w, "explainNew", rule.new_explain);
      StringsField(w, "explainBaseline", rule.baseline_explain);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

std::string BacktestReportCsv(const BacktestReport& report) {
  std::string out =
      "ruleset,rule,title,version,cards,info,warning,critical,per_1000,unknown,patients_gaining,"
      "patients_losing,change,info_per_1000,warning_per_1000,critical_per_1000\n";
  const auto side_rows = [&](const BacktestSide& side) {
    for (const RuleCount& rule : side.rules) {
      out += CsvField(side.ruleset) + "," + CsvField(rule.rule_id) + "," + CsvField(rule.title) +
             "," + CsvField(rule.version) + "," + std::to_string(rule.cards) + "," +
             std::to_string(rule.by_indicator[0]) + "," + std::to_string(rule.by_indicator[1]) +
             "," + std::to_string(rule.by_indicator[2]) + "," +
             Per1000(rule.cards, report.patients_evaluated) + "," + std::to_string(rule.unknown) +
             "," + std::to_string(rule.patients_gaining) + "," +
             std::to_string(rule.patients_losing) + "," +
             CardChange(report, side.ruleset, rule.rule_id);
      for (int i = 0; i < 3; ++i)
        out += "," + Per1000(rule.by_indicator[i], report.patients_evaluated);
      out += "\n";
    }
  };
  side_rows(report.current);
  if (report.previous) side_rows(*report.previous);
  return out;
}

Status WriteBacktestReports(const BacktestReport& report, const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return Error{ErrorCode::kInvalidRequest, directory + ": cannot create: " + ec.message()};
  const std::pair<const char*, std::string> files[] = {
      {"report.json", BacktestReportJson(report)},
      {"report.csv", BacktestReportCsv(report)},
      {"report.html", BacktestReportHtml(report)},
  };
  for (const auto& [name, text] : files) {
    const std::string path = directory + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Error{ErrorCode::kInvalidRequest, path + ": cannot write"};
  }
  return OkStatus();
}

}  // namespace cds::service
