#pragma once

// The three backtest reports (service/backtest/backtest.h) written to one folder:
// report.json (everything, for tools), report.csv (one row per ruleset and
// rule) and report.html (self-contained: inline CSS and an inline-SVG bar
// chart, no script, no external asset; print-friendly). All three print the
// same numbers from the same BacktestReport; rates per 1,000 patients use one
// formatter (Per1000) so they agree to the digit.

#include <cstddef>
#include <string>

#include "common/result.h"
#include "service/backtest/backtest.h"

namespace cds::service {

std::string BacktestReportJson(const BacktestReport& report);
std::string BacktestReportCsv(const BacktestReport& report);
std::string BacktestReportHtml(const BacktestReport& report);

// Creates `directory` if needed and writes report.json, report.csv and
// report.html. kInvalidRequest naming the file when one cannot be written.
Status WriteBacktestReports(const BacktestReport& report, const std::string& directory);

// Cards per 1,000 evaluated patients with one decimal ("12.5"; "0.0" when no
// patient was evaluated).
std::string Per1000(std::size_t count, std::size_t patients);

// With a baseline, how many more (or fewer) cards rule `rule_id` of the new
// version gives than the baseline: "+4", "-12", "0"; "" without a baseline
// or for the baseline's own rows.
std::string CardChange(const BacktestReport& report, const std::string& ruleset,
                       const std::string& rule_id);

// For the HTML writers: & < > " ' escaped.
std::string HtmlEscape(std::string_view text);

}  // namespace cds::service
