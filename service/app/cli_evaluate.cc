// magcds evaluate (--request FILE | --bundle FILE) [--hook HOOK] [--service ID]
//                 [--now ISO-8601] [--rules PATH] [--explain]
#include <iostream>
#include <memory>
#include <optional>

#include "fhir/fhir_time.h"
#include "service/app/cli.h"
#include "service/app/cli_common.h"
#include "service/hooks/bundle_request.h"
#include "service/hooks/hook_request.h"
#include "service/hooks/service_call.h"
#include "service/http/http_status.h"
#include "service/http/response_json.h"

namespace cds::service {
namespace {

constexpr const char* kUsage =
    "usage: magcds evaluate (--request FILE | --bundle FILE) [--hook HOOK]\n"
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

// The answer the service would give, as "HTTP <status> <error body>".
int FailAsService(const Error& error) {
  std::cerr << "magcds evaluate: HTTP " << HttpStatusFor(error.code) << " " << WriteErrorBody(error)
            << "\n";
  return 1;
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

  // The request is parsed once: from the file (--request), or built from the
  // Bundle (--bundle) once the service is known.
  std::optional<Result<HookRequest>> parsed;
  std::string hook = flags.Value("hook").value_or("");
  if (request_path) {
    parsed = ParseHookRequest(*text);
    // A request that does not parse is reported below as the service would (400).
    if (hook.empty() && *parsed) hook = (*parsed)->hook;
  }
  if (hook.empty() && !flags.Value("service")) hook = "patient-view";
  const rules::ServiceDefinition* service = PickService(*rule_set, flags.Value("service"), hook);
  if (service == nullptr) {
    return Fail("the rule set " + rule_set->Label() + " has no service" +
                (flags.Value("service") ? " '" + *flags.Value("service") + "'" : std::string()) +
                (hook.empty() ? std::string() : " for hook '" + hook + "'"));
  }
  if (bundle_path) {
    auto document = JsonDocument::Parse(*text);
    if (!document) return Fail(path + ": " + document.error().message);
    parsed = BuildBundleRequest(std::move(document).value(), *rule_set, *service);
    if (!*parsed) return Fail(path + ": " + (*parsed).error().message);
  }
  if (!*parsed) return FailAsService((*parsed).error());
  const HookRequest& request = **parsed;
  Result<const rules::ServiceDefinition*> resolved =
      ResolveService(*rule_set, service->id, request.hook);
  if (!resolved) return FailAsService(resolved.error());

  // Gathering is prefetch only here (no FHIR client), then the one core call.
  const fhir::GatherResult gathered =
      GatherPrefetchOnly(GatherInputFor(*rule_set, **resolved, request));
  const IdSourceFactory ids_factory = fixed_now ? SequentialIds() : RandomIds();
  std::unique_ptr<cards::IdSource> ids = ids_factory();
  ServiceCallInput input;
  input.rule_set = rule_set.get();
  input.service = *resolved;
  input.request = &request;
  input.gathered = &gathered;
  input.now = fixed_now ? *fixed_now : SystemNow();
  ServiceCallOptions options;
  options.explain = flags.Has("explain");
  options.ids = ids.get();
  const ServiceCallResult result = RunServiceCall(input, options);
  if (!result.response) return FailAsService(result.response.error());
  if (options.explain) {
    PrintExplain(*rule_set, result.evaluation);
    // Issue #12: say what was dropped as another patient's.
    if (!result.record.foreign_resources.empty()) {
      std::cerr << "facts: " << result.record.foreign_resources.size()
                << " resource(s) for another patient than context.patientId dropped:";
      for (const std::string& ref : result.record.foreign_resources) std::cerr << " " << ref;
      std::cerr << "\n";
    }
  }
  std::cout << WriteCardsResponse(*result.response) << "\n";
  return 0;
}

}  // namespace cds::service
