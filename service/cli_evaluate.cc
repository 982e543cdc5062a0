// magcds evaluate (--request FILE | --bundle FILE) [--hook HOOK] [--service ID]
//                 [--now ISO-8601] [--rules PATH] [--explain]
#include <future>
#include <iostream>

#include "fhir/fhir_time.h"
#include "service/bundle_request.h"
#include "service/cli.h"
#include "service/cli_common.h"
#include "service/hook_request.h"

namespace cds::service {
namespace {

constexpr const char* kUsage =
    "usage: magcds evaluate (--request FILE | --bundle FILE) [--hook patient-view]\n"
    "                       [--service ID] [--now ISO-8601] [--rules PATH] [--explain]\n";

int Fail(const std::string& message) {
  std::cerr << "magcds evaluate: " << message << "\n";
  return 2;
}

const rules::ServiceDefinition* PickService(const rules::RuleSet& rule_set,
                                            const std::optional<std::string>& id,
                                            const std::string& hook) {
  for (const rules::ServiceDefinition& service : rule_set.services) {
    if (id ? service.id == *id && (service.hook == hook || hook.empty()) : service.hook == hook) {
      return &service;
    }
  }
  if (id) {  // the id exists but not for this hook: let the handler say so (400)
    for (const rules::ServiceDefinition& service : rule_set.services) {
      if (service.id == *id) return &service;
    }
  }
  return nullptr;
}

void PrintExplain(const rules::RuleSet& rule_set, const rules::Evaluation& evaluation) {
  for (const rules::RuleOutcome& outcome : evaluation.outcomes) {
    if (outcome.rule < 0 || static_cast<std::size_t>(outcome.rule) >= rule_set.rules.size())
      continue;
    const rules::Rule& rule = rule_set.rules[static_cast<std::size_t>(outcome.rule)];
    std::cerr << rule.id << "@" << rule.version << ": " << rules::TruthName(outcome.truth)
              << (outcome.fired ? " (fires)" : "") << "\n";
    for (const std::string& line : outcome.explain) std::cerr << "  " << line << "\n";
  }
}

}  // namespace

int RunEvaluate(const CliArgs& args) {
  FlagParser flags({"request", "bundle", "hook", "service", "now", "rules"}, {"explain"});
  if (Status parsed = flags.Parse(args); !parsed) {
    std::cerr << "magcds evaluate: " << parsed.error().message << "\n" << kUsage;
    return 2;
  }
  const auto request_path = flags.Value("request");
  const auto bundle_path = flags.Value("bundle");
  if (request_path.has_value() == bundle_path.has_value()) {
    std::cerr << "magcds evaluate: give exactly one of --request and --bundle\n" << kUsage;
    return 2;
  }

  std::optional<fhir::EpochSeconds> fixed_now;
  if (const auto now = flags.Value("now")) {
    const auto instant = fhir::ParseFhirDateTime(*now);
    if (!instant)
      return Fail(
          "--now must be an ISO-8601 date or date-time with zone, e.g. 2026-01-15T09:00:00Z");
    fixed_now = instant->seconds;
  }

  std::shared_ptr<const rules::RuleSet> rule_set =
      LoadRulesOrReport(RulesPath(flags.Value("rules")));
  if (!rule_set) return 2;

  const std::string path = request_path ? *request_path : *bundle_path;
  Result<std::string> text = ReadTextFile(path);
  if (!text) return Fail(text.error().message);

  std::string hook = flags.Value("hook").value_or("");
  if (hook.empty() && request_path) {
    // Take the hook from the request itself; a request that does not parse
    // still goes to the handler, which reports what is wrong (400).
    Result<HookRequest> parsed = ParseHookRequest(*text);
    if (parsed) hook = parsed->hook;
  }
  if (hook.empty() && !flags.Value("service")) hook = "patient-view";
  const rules::ServiceDefinition* service = PickService(*rule_set, flags.Value("service"), hook);
  if (service == nullptr) {
    return Fail("the rule set " + rule_set->Label() + " has no service" +
                (flags.Value("service") ? " '" + *flags.Value("service") + "'" : std::string()) +
                (hook.empty() ? std::string() : " for hook '" + hook + "'"));
  }

  std::string body;
  if (bundle_path) {
    Result<std::string> built = BuildBundleRequest(*text, *rule_set, *service);
    if (!built) return Fail(path + ": " + built.error().message);
    body = std::move(built).value();
  } else {
    body = std::move(text).value();
  }

  RuleSetHolder holder(rule_set);
  HookHandlerOptions options;
  if (fixed_now) {
    options.clock = [t = *fixed_now] { return t; };
    options.ids = SequentialIds();
  } else {
    options.clock = SystemNow;
    options.ids = RandomIds();
  }
  if (flags.Has("explain")) {
    options.explain = true;
    options.on_evaluation = PrintExplain;
    options.on_facts = [](const fhir::PatientFacts& facts) {
      if (facts.foreign_resources.empty()) return;
      std::cerr << "facts: " << facts.foreign_resources.size()
                << " resource(s) for another patient than context.patientId dropped:";
      for (const std::string& ref : facts.foreign_resources) std::cerr << " " << ref;
      std::cerr << "\n";
    };
  }
  const HookHandler handler(holder, std::move(options));

  HttpRequestView request;
  request.method = "POST";
  request.path = "/cds-services/" + service->id;
  request.headers["content-type"] = "application/json";
  request.body = std::move(body);
  std::promise<HttpResponseView> promise;
  std::future<HttpResponseView> answer = promise.get_future();
  handler.Handle(request,
                 [&promise](HttpResponseView response) { promise.set_value(std::move(response)); });
  const HttpResponseView response = answer.get();  // main thread, not a pool thread
  if (response.status != 200) {
    std::cerr << "magcds evaluate: HTTP " << response.status << " " << response.body << "\n";
    return 1;
  }
  std::cout << response.body << "\n";
  return 0;
}

}  // namespace cds::service
