// magcds rules backtest --population PATH... --rules NEW [--baseline OLD]
//     [--now ISO | --now-per-patient] [--hook patient-view] [--jobs N] [--out DIR]
//     [--sample N] [--hash-key-file FILE]
// Exit codes: 0 every patient evaluated; 1 reports written but some input
// was skipped (see the messages and the reports); 2 bad arguments, unreadable
// input or nothing to evaluate.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "fhir/fhir_time.h"
#include "service/app/cli.h"
#include "service/app/cli_common.h"
#include "service/backtest/backtest.h"
#include "service/backtest/backtest_report.h"

namespace cds::service {
namespace {

constexpr const char* kUsage =
    "usage: magcds rules backtest --population PATH... --rules NEW [--baseline OLD]\n"
    "         [--now ISO-8601 | --now-per-patient] [--hook patient-view] [--jobs N]\n"
    "         [--out DIR] [--sample N] [--hash-key-file FILE]\n"
    "PATH: a folder of FHIR Bundles (one patient each) and/or FHIR Bulk Data NDJSON files.\n";

int Usage(const std::string& message) {
  std::cerr << "magcds rules backtest: " << message << "\n" << kUsage;
  return 2;
}

std::string Duration(double seconds) {
  const long long s = std::llround(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  return text;
}

// A bar redrawn in place on a terminal; otherwise a plain line every 5 s.
void ShowProgress(const BacktestProgress& p, bool terminal) {
  static double last_line = -10;
  const double rate = p.seconds > 0 ? static_cast<double>(p.done) / p.seconds : 0;
  const double eta = rate > 0 ? static_cast<double>(p.total - std::min(p.total, p.done)) / rate : 0;
  char text[200];
  if (terminal) {
    constexpr int kWidth = 30;
    const int filled = p.total == 0 ? kWidth : static_cast<int>(kWidth * p.done / p.total);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::snprintf(text, sizeof text, "\r[%s] %zu/%zu patients  %.0f/s  ETA %s  skipped %zu ",
                  bar.c_str(), p.done, p.total, rate, Duration(eta).c_str(), p.skipped);
    std::cerr << text << (p.finished ? "\n" : "") << std::flush;
    return;
  }
  if (!p.finished && p.seconds - last_line < 5) return;
  last_line = p.seconds;
  std::snprintf(text, sizeof text, "backtest: %zu/%zu patients, %.0f/s, ETA %s, skipped %zu%s",
                p.done, p.total, rate, Duration(eta).c_str(), p.skipped,
                p.finished ? " (done)" : "");
  std::cerr << text << "\n";
}

std::string OneOffKey() {
  std::random_device random;
  std::string key;
  for (int i = 0; i < 32; ++i) key += "0123456789abcdef"[random() % 16];
  return key;
}

}  // namespace

int RunRulesBacktest(const CliArgs& args) {
  // --population takes several paths: everything up to the next option.
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  BacktestOptions options;
  CliArgs rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "--population") {
      rest.push_back(args[i]);
      continue;
    }
    const std::size_t before = options.population.size();
    while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      options.population.push_back(args[++i]);
    }
    if (options.population.size() == before) return Usage("--population needs at least one path");
  }
  FlagParser flags({"rules", "baseline", "now", "hook", "jobs", "out", "sample", "hash-key-file"},
                   {"now-per-patient"});
  if (Status parsed = flags.Parse(rest); !parsed) return Usage(parsed.error().message);
  if (options.population.empty()) return Usage("--population is required");
  if (!flags.Value("rules")) return Usage("--rules is required");

  if (const auto now = flags.Value("now")) {
    const auto instant = fhir::ParseFhirDateTime(*now);
    if (!instant) return Usage("--now must be an ISO-8601 date or date-time with zone");
    options.now = instant->seconds;
  }
  options.now_per_patient = flags.Has("now-per-patient");
  if (options.now && options.now_per_patient) {
    return Usage("give --now or --now-per-patient, not both");
  }
  if (!options.now_per_patient && !options.now) options.now = SystemNow();
  options.hook = flags.Value("hook").value_or("patient-view");
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  options.jobs = static_cast<int>(cores);
  if (const auto jobs = flags.Value("jobs")) {
    options.jobs = std::atoi(jobs->c_str());
    if (options.jobs < 1 || options.jobs > 1024) return Usage("--jobs must be 1..1024");
  }
  if (const auto sample = flags.Value("sample")) {
    const int n = std::atoi(sample->c_str());
    if (n < 0 || n > 10000) return Usage("--sample must be 0..10000");
    options.sample_size = static_cast<std::size_t>(n);
  }
  if (const auto key_file = flags.Value("hash-key-file")) {
    Result<std::string> key = ReadTextFile(*key_file);
    if (!key) return Usage(key.error().message);
    while (!key->empty() && std::isspace(static_cast<unsigned char>(key->back()))) key->pop_back();
    if (key->size() < 16) return Usage("the hash key must have at least 16 bytes");
    options.hash_key = *key;
  } else {
    options.hash_key = OneOffKey();  // sample ids cannot be linked across runs
  }

  options.rules = LoadRulesOrReport(*flags.Value("rules"));
  if (!options.rules) return 2;
  if (const auto baseline = flags.Value("baseline")) {
    options.baseline = LoadRulesOrReport(*baseline);
    if (!options.baseline) return 2;
  }
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  options.progress = [terminal](const BacktestProgress& p) { ShowProgress(p, terminal); };

  std::cerr << "magcds rules backtest: reading the population (NDJSON files are indexed first)\n";
  Result<BacktestReport> report = RunBacktest(options);
  if (!report) {
    std::cerr << "magcds rules backtest: " << report.error().message << "\n";
    return 2;
  }
  for (const InputProblem& problem : report->problems) {
    std::cerr << "magcds rules backtest: " << problem.ToString() << "\n";
  }
  const std::string out = flags.Value("out").value_or("backtest-report");
  if (Status written = WriteBacktestReports(*report, out); !written) {
    std::cerr << "magcds rules backtest: " << written.error().message << "\n";
    return 2;
  }
  std::cout << report->rules << (report->baseline.empty() ? "" : " vs " + report->baseline) << ": "
            << report->patients_evaluated << " patients evaluated, " << report->patients_skipped
            << " skipped, " << report->problem_count << " input problem(s); "
            << report->current.cards << " cards, " << report->current.patients_with_card
            << " patients with a card; reports in " << out << "/report.{json,csv,html}\n";
  return report->patients_skipped > 0 || report->problem_count > 0 ? 1 : 0;
}

}  // namespace cds::service
