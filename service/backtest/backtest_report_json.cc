// report.json and report.csv, and writing the three files (service/backtest/backtest_report.h).
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "rules/ruleset.h"
#include "service/backtest/backtest_report.h"

namespace cds::service {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void Str(Writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}
void Num(Writer& w, std::size_t n) { w.Uint64(static_cast<std::uint64_t>(n)); }

void WriteSide(Writer& w, const BacktestReport& report, const BacktestSide& side) {
  const std::size_t patients = report.patients_evaluated;
  w.StartObject();
  w.Key("ruleset");
  Str(w, side.ruleset);
  w.Key("service");
  Str(w, side.service_id);
  w.Key("cards");
  Num(w, side.cards);
  w.Key("patientsWithCard");
  Num(w, side.patients_with_card);
  w.Key("cardsPerPatient");
  w.StartObject();
  for (const auto& [cards, n] : side.cards_per_patient) {
    w.Key(std::to_string(cards).c_str());
    Num(w, n);
  }
  w.EndObject();
  w.Key("callErrors");
  w.StartObject();
  for (const auto& [message, n] : side.call_errors) {
    Str(w, message);
    Num(w, n);
  }
  w.EndObject();
  w.Key("rules");
  w.StartArray();
  for (const RuleCount& rule : side.rules) {
    w.StartObject();
    w.Key("id");
    Str(w, rule.rule_id);
    w.Key("title");
    Str(w, rule.title);
    w.Key("version");
    Str(w, rule.version);
    w.Key("cards");
    Num(w, rule.cards);
    w.Key("info");
    Num(w, rule.by_indicator[0]);
    w.Key("warning");
    Num(w, rule.by_indicator[1]);
    w.Key("critical");
    Num(w, rule.by_indicator[2]);
    w.Key("per1000");
    Str(w, Per1000(rule.cards, patients));
    for (int i = 0; i < 3; ++i) {
      const std::string key =
          std::string(rules::IndicatorName(static_cast<rules::Indicator>(i))) + "Per1000";
      w.Key(key.c_str());
      Str(w, Per1000(rule.by_indicator[i], patients));
    }
    w.Key("unknown");
    Num(w, rule.unknown);
    w.Key("unknownReasons");
    w.StartObject();
    for (const auto& [why, n] : rule.unknown_reasons) {
      Str(w, why);
      Num(w, n);
    }
    w.EndObject();
    w.Key("patientsGaining");
    Num(w, rule.patients_gaining);
    w.Key("patientsLosing");
    Num(w, rule.patients_losing);
    w.Key("change");
    Str(w, CardChange(report, side.ruleset, rule.rule_id));
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
  w.Key("ruleset");
  Str(w, report.rules);
  w.Key("baseline");
  if (report.baseline.empty()) {
    w.Null();
  } else {
    Str(w, report.baseline);
  }
  w.Key("hook");
  Str(w, report.hook);
  w.Key("now");
  Str(w, report.now);
  w.Key("population");
  w.StartArray();
  for (const std::string& path : report.population) Str(w, path);
  w.EndArray();
  w.Key("jobs");
  w.Int(report.jobs);
  w.Key("seconds");
  w.Double(static_cast<double>(static_cast<long long>(report.seconds * 1000)) / 1000.0);
  w.Key("inputBytes");
  w.Uint64(report.input_bytes);
  w.Key("patients");
  w.StartObject();
  w.Key("total");
  Num(w, report.patients_total);
  w.Key("evaluated");
  Num(w, report.patients_evaluated);
  w.Key("skipped");
  Num(w, report.patients_skipped);
  w.Key("withCard");
  Num(w, report.current.patients_with_card);
  w.Key("changed");
  Num(w, report.patients_changed);
  w.EndObject();
  w.Key("problemCount");
  Num(w, report.problem_count);
  w.Key("problems");
  w.StartArray();
  for (const InputProblem& problem : report.problems) {
    w.StartObject();
    w.Key("file");
    Str(w, problem.file);
    w.Key("line");
    Num(w, problem.line);
    w.Key("message");
    Str(w, problem.message);
    w.EndObject();
  }
  w.EndArray();
  w.Key("unjoinedResources");
  w.StartObject();
  for (const auto& [type, n] : report.unjoined) {
    Str(w, type);
    Num(w, n);
  }
  w.EndObject();
  w.Key("patientHashKeyId");
  Str(w, report.hash_key_id);
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
    w.Key("patient");
    Str(w, patient.patient_hash);
    w.Key("changes");
    w.StartArray();
    for (const ChangedRule& rule : patient.rules) {
      w.StartObject();
      w.Key("rule");
      Str(w, rule.rule_id);
      w.Key("change");
      Str(w, rule.change);
      w.Key("explainNew");
      w.StartArray();
      for (const std::string& line : rule.new_explain) Str(w, line);
      w.EndArray();
      w.Key("explainBaseline");
      w.StartArray();
      for (const std::string& line : rule.baseline_explain) Str(w, line);
      w.EndArray();
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
