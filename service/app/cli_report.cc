// magcds report feedback [--config FILE] [--since DATE] [--format table|json|csv]
//
// The governance report of issue #16, read from the same store `magcds serve`
// writes: with no config, the SQLite file at $MAGCDS_DB, else ./magcds.db.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fhir/fhir_time.h"
#include "service/app/cli.h"
#include "service/app/cli_common.h"
#include "service/app/config.h"
#include "service/feedback/feedback_report_format.h"
#include "service/feedback/store_config.h"

namespace cds::service {
namespace {

constexpr const char* kUsage =
    "usage: magcds report feedback [--config FILE] [--since DATE] [--format table|json|csv]\n";

std::string Percent(const std::optional<double>& rate) {
  if (!rate) return "-";
  char text[16];
  std::snprintf(text, sizeof(text), "%.1f%%", *rate * 100.0);
  return text;
}

std::string Reasons(const store::RuleFeedback& row, const char* separator) {
  std::string out;
  for (const store::ReasonCount& reason : row.override_reasons) {
    if (!out.empty()) out += separator;
    if (reason.code.empty()) {
      out += "(no reason)";
    } else {
      out += reason.code;
      if (!reason.display.empty()) out += " (" + reason.display + ")";
    }
    out += " x" + std::to_string(reason.count);
  }
  return out;
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string RuleLabel(const store::RuleFeedback& row) {
  return row.unmatched() ? "(unmatched)" : row.rule_id;
}

}  // namespace

std::string WriteFeedbackReportTable(const std::vector<store::RuleFeedback>& rows,
                                     const ReportHeader& header) {
  std::vector<std::vector<std::string>> cells = {{"RULE", "VERSION", "ISSUED", "FEEDBACK",
                                                  "ACCEPTED", "OVERRIDDEN", "ACCEPT%",
                                                  "SUGGESTIONS", "OVERRIDE REASONS"}};
  for (const store::RuleFeedback& row : rows) {
    cells.push_back(
        {RuleLabel(row), row.unmatched() ? "-" : row.rule_version, std::to_string(row.cards_issued),
         std::to_string(row.feedback), std::to_string(row.accepted), std::to_string(row.overridden),
         Percent(row.acceptance_rate), std::to_string(row.suggestions_taken), Reasons(row, "; ")});
  }
  std::vector<std::size_t> widths(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
  }
  std::string out = "Card feedback by rule (" + header.engine + " store" +
                    (header.since.empty() ? "" : ", since " + header.since) + ")\n";
  for (const auto& line : cells) {
    std::string text;
    for (std::size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) text += std::string(widths[i] - line[i].size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  if (rows.empty()) out += "(no cards issued and no feedback received)\n";
  return out;
}

std::string WriteFeedbackReportCsv(const std::vector<store::RuleFeedback>& rows) {
  std::string out =
      "rule,version,cards_issued,feedback,accepted,overridden,acceptance_rate,"
      "suggestions_taken,override_reasons\n";
  for (const store::RuleFeedback& row : rows) {
    char rate[32] = "";
    if (row.acceptance_rate) std::snprintf(rate, sizeof(rate), "%.4f", *row.acceptance_rate);
    out += CsvField(RuleLabel(row)) + "," + CsvField(row.rule_version) + "," +
           std::to_string(row.cards_issued) + "," + std::to_string(row.feedback) + "," +
           std::to_string(row.accepted) + "," + std::to_string(row.overridden) + "," + rate + "," +
           std::to_string(row.suggestions_taken) + "," + CsvField(Reasons(row, "; ")) + "\n";
  }
  return out;
}

int RunReport(const CliArgs& args) {
  if (args.empty() || args[0] != "feedback") {
    std::cerr << "magcds report: unknown report\n" << kUsage;
    return 2;
  }
  FlagParser flags({"config", "since", "format"}, {});
  if (Status parsed = flags.Parse(CliArgs(args.begin() + 1, args.end())); !parsed) {
    std::cerr << "magcds report: " << parsed.error().message << "\n" << kUsage;
    return 2;
  }
  const std::string format = flags.Value("format").value_or("table");
  if (format != "table" && format != "json" && format != "csv") {
    std::cerr << "magcds report: --format must be table, json or csv\n" << kUsage;
    return 2;
  }
  fhir::EpochSeconds since = 0;
  std::string since_text;
  if (const auto text = flags.Value("since")) {
    const std::optional<fhir::FhirInstant> instant = fhir::ParseFhirDateTime(*text);
    if (!instant) {
      std::cerr << "magcds report: --since must be a date (2026-11-01) or date-time\n";
      return 2;
    }
    since = instant->seconds;
    since_text = fhir::FormatIsoUtc(since);
  }
  ServiceConfig config;
  if (const auto path = flags.Value("config")) {
    Result<std::string> text = ReadTextFile(*path);
    if (!text) {
      std::cerr << "magcds report: " << text.error().message << "\n";
      return 2;
    }
    Result<ServiceConfig> loaded = ParseServiceConfig(*text);
    if (!loaded) {
      std::cerr << "magcds report: " << *path << ": " << loaded.error().message << "\n";
      return 2;
    }
    config = std::move(loaded).value();
  }
  if (config.store.engine == "off") {
    std::cerr << "magcds report: the feedback store is off in this config\n";
    return 2;
  }
  if (config.store.engine == "sqlite") {
    // Reading must not create an empty store somewhere unexpected.
    const std::string path = config.store.path.empty() ? DefaultDatabasePath() : config.store.path;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      std::cerr << "magcds report: no feedback store at " << path
                << " (magcds serve creates it; set $MAGCDS_DB or --config)\n";
      return 1;
    }
  }
  Result<std::unique_ptr<store::FeedbackStore>> store = OpenConfiguredStore(config.store);
  if (!store) {
    std::cerr << "magcds report: " << store.error().message << "\n";
    return 1;
  }
  Result<store::ReportCounts> counts = (*store)->Counts(since);
  if (!counts) {
    std::cerr << "magcds report: " << counts.error().message << "\n";
    return 1;
  }
  const std::vector<store::RuleFeedback> rows = store::BuildFeedbackReport(*counts);
  const ReportHeader header{(*store)->engine(), since_text};
  if (format == "json") {
    std::cout << WriteFeedbackReportJson(rows, header);
  } else if (format == "csv") {
    std::cout << WriteFeedbackReportCsv(rows);
  } else {
    std::cout << WriteFeedbackReportTable(rows, header);
  }
  return 0;
}

}  // namespace cds::service
