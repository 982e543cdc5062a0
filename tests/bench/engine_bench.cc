// Engine microbenchmarks for issue #7 (Google Benchmark, Debian libbenchmark-dev).
//
//   BENCH_DATA_DIR=DIR engine_bench [--benchmark_* flags]
//
// DIR (made by run.sh with gen_data.py) holds:
//   patient-<N>.json   CDS Hooks requests with N prefetched resources (N = 10, 100, 1000, 10000)
//   patient-30.json    the HTTP benchmark's patient
//   rules-<R>/         rulesets of R rules (13 = the shipped set, 130, 1300: renamed copies)
//
// Benchmarks (all single-threaded, real library code, nothing mocked):
//   Evaluate/resources:N        rules::Evaluate, 13 rules, on a patient of N resources
//   EvaluateRules/rules:R       rules::Evaluate, R rules, on the 1,000-resource patient
//   ParseNormalize/resources:N  ParseHookRequest (JsonDocument::Parse + request checks) +
//                               fhir::Normalize; bytes_per_second gives the per-KB cost
//   Handler/resources:N         HookHandler::Handle end to end, no sockets (parse, gather,
//                               normalise, evaluate, render, write JSON): our CPU per request
//   Reload/rules:R              rules::LoadRuleSet from disk (what a reload does)

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cards/id_source.h"
#include "cards/render.h"
#include "fhir/fhir_time.h"
#include "fhir/normalize.h"
#include "fhir/patient_facts.h"
#include "rules/engine.h"
#include "rules/loader.h"
#include "rules/membership_cache.h"
#include "service/hooks/hook_request.h"
#include "service/hooks/rule_set_holder.h"
#include "service/http/hook_handler.h"

namespace {

using cds::fhir::FactCategory;

std::string DataDir() {
  const char* dir = std::getenv("BENCH_DATA_DIR");
  if (dir == nullptr || *dir == '\0') throw std::runtime_error("BENCH_DATA_DIR is not set");
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Fixed evaluation "now" (the generated dates assume 2026-11-22).
cds::fhir::EpochSeconds Now() {
  static const cds::fhir::EpochSeconds now =
      cds::fhir::ParseFhirDateTime("2026-11-22T12:00:00Z")->seconds;
  return now;
}

FactCategory CategoryOf(const std::string& key) {
  if (key == "patient") return FactCategory::kPatient;
  if (key == "medications" || key == "medicationStatements") return FactCategory::kMedications;
  if (key == "conditions") return FactCategory::kConditions;
  return FactCategory::kObservations;
}

// ParseHookRequest + Normalize, as the handler does for a complete prefetch.
cds::fhir::PatientFacts ParseAndNormalize(const std::string& body) {
  auto request = cds::service::ParseHookRequest(body);
  if (!request) throw std::runtime_error("bad request: " + request.error().message);
  cds::fhir::PatientFacts facts;
  for (const FactCategory c : cds::fhir::kRecordCategories) {
    facts.state(c).availability = cds::fhir::Availability::kComplete;
  }
  facts.patient_id = request->patient_id;
  std::vector<cds::fhir::FhirInput> inputs;
  for (const auto& [key, value] : request->prefetch) {
    if (!value.is_null) inputs.push_back({CategoryOf(key), value.value});
  }
  cds::fhir::Normalize(inputs, Now(), {}, facts);
  return facts;
}

const std::string& Body(int resources) {
  static std::map<int, std::string> bodies;
  auto it = bodies.find(resources);
  if (it == bodies.end()) {
    it = bodies
             .emplace(resources,
                      ReadFile(DataDir() + "/patient-" + std::to_string(resources) + ".json"))
             .first;
  }
  return it->second;
}

const cds::fhir::PatientFacts& Facts(int resources) {
  static std::map<int, cds::fhir::PatientFacts> facts;
  auto it = facts.find(resources);
  if (it == facts.end()) it = facts.emplace(resources, ParseAndNormalize(Body(resources))).first;
  return it->second;
}

std::string RulesDir(int rules) { return DataDir() + "/rules-" + std::to_string(rules); }

std::shared_ptr<const cds::rules::RuleSet> Rules(int rules) {
  static std::map<int, std::shared_ptr<const cds::rules::RuleSet>> sets;
  auto it = sets.find(rules);
  if (it == sets.end()) {
    auto loaded = cds::rules::LoadRuleSet(RulesDir(rules));
    if (!loaded)
      throw std::runtime_error("cannot load " + RulesDir(rules) + ": " + loaded.error().message);
    it = sets.emplace(rules, *loaded).first;
  }
  return it->second;
}

void CountFired(benchmark::State& state, const cds::rules::Evaluation& evaluation) {
  int fired = 0;
  for (const auto& outcome : evaluation.outcomes) fired += outcome.fired ? 1 : 0;
  state.counters["fired"] = fired;
}

void BM_Evaluate(benchmark::State& state) {
  const int resources = static_cast<int>(state.range(0));
  const auto rule_set = Rules(13);
  const auto& facts = Facts(resources);
  cds::rules::Evaluation last;
  for (auto _ : state) {
    last = cds::rules::Evaluate(*rule_set, facts, Now());
    benchmark::DoNotOptimize(last);
  }
  CountFired(state, last);
  state.counters["meds"] = static_cast<double>(facts.medications.size());
  state.counters["conds"] = static_cast<double>(facts.conditions.size());
  state.counters["obs"] = static_cast<double>(facts.observations.size());
}
BENCHMARK(BM_Evaluate)
    ->ArgName("resources")
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);

// The same with a cold value-set membership cache on every call
// (rules/membership_cache.h): what a patient whose drugs and diagnoses this
// thread has not seen before costs. BM_Evaluate repeats one patient, so after
// its first call every concept is found in the cache.
void BM_EvaluateCold(benchmark::State& state) {
  const int resources = static_cast<int>(state.range(0));
  const auto rule_set = Rules(13);
  const auto& facts = Facts(resources);
  cds::rules::Evaluation last;
  for (auto _ : state) {
    cds::rules::MembershipCache::ForgetThisThread();
    last = cds::rules::Evaluate(*rule_set, facts, Now());
    benchmark::DoNotOptimize(last);
  }
  CountFired(state, last);
}
BENCHMARK(BM_EvaluateCold)->ArgName("resources")->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_EvaluateRules(benchmark::State& state) {
  const int rules = static_cast<int>(state.range(0));
  const auto rule_set = Rules(rules);
  const auto& facts = Facts(1000);
  cds::rules::Evaluation last;
  for (auto _ : state) {
    last = cds::rules::Evaluate(*rule_set, facts, Now());
    benchmark::DoNotOptimize(last);
  }
  CountFired(state, last);
}
BENCHMARK(BM_EvaluateRules)
    ->ArgName("rules")
    ->Arg(13)
    ->Arg(130)
    ->Arg(1300)
    ->Unit(benchmark::kMicrosecond);

void BM_ParseNormalize(benchmark::State& state) {
  const int resources = static_cast<int>(state.range(0));
  const std::string& body = Body(resources);
  for (auto _ : state) {
    cds::fhir::PatientFacts facts = ParseAndNormalize(body);
    benchmark::DoNotOptimize(facts);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
  state.counters["bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_ParseNormalize)
    ->ArgName("resources")
    ->Arg(10)
    ->Arg(30)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);

void BM_Handler(benchmark::State& state) {
  const int resources = static_cast<int>(state.range(0));
  cds::service::RuleSetHolder holder(Rules(13));
  cds::service::HookHandlerOptions options;
  options.clock = [] { return Now(); };
  options.ids = [] { return std::make_unique<cds::cards::SequentialIdSource>(); };
  const cds::service::HookHandler handler(holder, std::move(options));
  cds::service::HttpRequestView request;
  request.method = "POST";
  request.path = "/cds-services/magnesium-advisor";
  request.headers["content-type"] = "application/json";
  request.body = Body(resources);
  int status = 0;
  std::size_t response_bytes = 0;
  for (auto _ : state) {
    // Handle takes the request (the server moves it in); each iteration
    // hands it a copy, a memcpy of the body the server does not pay.
    handler.Handle(request, [&](cds::service::HttpResponseView response) {
      status = response.status;
      response_bytes = response.body.size();
    });
  }
  if (status != 200) state.SkipWithError(("status " + std::to_string(status)).c_str());
  state.counters["response_bytes"] = static_cast<double>(response_bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(request.body.size()));
}
BENCHMARK(BM_Handler)
    ->ArgName("resources")
    ->Arg(10)
    ->Arg(30)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);

void BM_Reload(benchmark::State& state) {
  const std::string dir = RulesDir(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto loaded = cds::rules::LoadRuleSet(dir);
    if (!loaded) {
      state.SkipWithError(loaded.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(loaded);
  }
}
BENCHMARK(BM_Reload)->ArgName("rules")->Arg(13)->Arg(130)->Arg(1300)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
