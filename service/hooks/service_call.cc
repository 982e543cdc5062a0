#include "service/hooks/service_call.h"

#include <cassert>
#include <chrono>
#include <future>
#include <utility>

#include "cards/render.h"
#include "fhir/patient_facts.h"
#include "service/hooks/hook_definition.h"

namespace cds::service {
namespace {

using Steady = std::chrono::steady_clock;

double MillisSince(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

// Service ids are URL-safe (checklist D-4); anything else is not named back.
std::string Quoted(std::string_view id) {
  bool printable = !id.empty() && id.size() <= 64;
  for (const char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) {
      printable = false;
    }
  }
  return printable ? "'" + std::string(id) + "'" : std::string("(unprintable id)");
}

// The categories a call of `hook` uses (all of them for an undescribed hook).
std::vector<fhir::FactCategory> CategoriesOf(const HookDefinition* hook) {
  if (hook != nullptr) return hook->categories;
  std::vector<fhir::FactCategory> all;
  for (int c = 0; c < fhir::kFactCategoryCount; ++c)
    all.push_back(static_cast<fhir::FactCategory>(c));
  return all;
}

// Why a rule could be undecided: the fact categories that were not complete.
std::string UnknownReason(const fhir::PatientFacts& facts,
                          const std::vector<fhir::FactCategory>& categories) {
  std::string why;
  for (const fhir::FactCategory category : categories) {
    const int c = static_cast<int>(category);
    const fhir::CategoryState& state = facts.categories[c];
    if (state.complete()) continue;
    if (!why.empty()) why += "; ";
    why += std::string(fhir::FactCategoryName(static_cast<fhir::FactCategory>(c))) +
           (state.obtained() ? " partial" : " not obtained") +
           (state.note.empty() ? std::string() : " (" + state.note + ")");
  }
  if (why.empty()) {
    why =
        "undecided on complete data (a result's comparator straddles a threshold, or a rule it "
        "depends on is undecided)";
  }
  return why;
}

}  // namespace

ServiceCallResult RunServiceCall(const ServiceCallInput& input, const ServiceCallOptions& options) {
  assert(input.rule_set && input.service && input.request && input.gathered && options.ids);
  const rules::RuleSet& rule_set = *input.rule_set;
  const fhir::GatherResult& gathered = *input.gathered;

  ServiceCallResult result;
  CallRecord& record = result.record;
  record.service_id = input.service->id;
  record.hook = input.request->hook;
  record.ruleset = rule_set.Label();
  record.prefetch = gathered.keys;
  record.fhir_queries = gathered.queries;

  if (gathered.error) {
    // E.g. a fhirServer off the allowlist (400; no connection was made).
    result.response = *gathered.error;
    return result;
  }
  if (!gathered.unavailable_required.empty()) {
    // CDS Hooks 2.0 §Prefetch: 412 when the service cannot obtain required data.
    // Issue #13: the message says why, per key (the sandbox shows it to the
    // integrator); it names keys and causes only, never PHI or a token.
    result.response = Error{ErrorCode::kPrefetchUnavailable, fhir::UnavailableMessage(gathered)};
    return result;
  }

  Steady::time_point start = Steady::now();
  fhir::PatientFacts facts;
  for (int c = 0; c < fhir::kFactCategoryCount; ++c) facts.categories[c] = gathered.states[c];
  facts.patient_id = input.request->patient_id;
  fhir::Normalize(gathered.inputs, input.now, options.normalize, facts);
  // Hooks as data: the hook's own context (order hooks: draftOrders) adds its facts.
  const HookDefinition* hook = FindHook(input.request->hook);
  if (hook != nullptr && hook->build_facts) {
    hook->build_facts(input.request->hook_context, input.now, options.normalize, facts);
  }
  const std::vector<fhir::FactCategory> categories = CategoriesOf(hook);
  record.timing.normalize_ms = MillisSince(start);
  record.foreign_resources = facts.foreign_resources;
  for (const fhir::FactCategory category : categories) {
    const int c = static_cast<int>(category);
    const fhir::CategoryState& state = facts.categories[c];
    if (state.complete()) continue;
    record.category_notes.push_back(
        std::string(fhir::FactCategoryName(static_cast<fhir::FactCategory>(c))) + ": " +
        (state.obtained() ? "partial" : "not obtained") +
        (state.note.empty() ? std::string() : " (" + state.note + ")"));
  }

  start = Steady::now();
  rules::EvaluateOptions evaluate_options;
  evaluate_options.explain = options.explain;
  evaluate_options.hook = input.request->hook;
  result.evaluation = rules::Evaluate(rule_set, facts, input.now, evaluate_options);
  record.timing.evaluate_ms = MillisSince(start);

  std::string unknown_reason;
  for (const rules::RuleOutcome& outcome : result.evaluation.outcomes) {
    if (outcome.rule < 0 || static_cast<std::size_t>(outcome.rule) >= rule_set.rules.size()) {
      continue;
    }
    const rules::Rule& rule = rule_set.rules[static_cast<std::size_t>(outcome.rule)];
    if (outcome.fired) record.rules_fired.push_back(rule.id + "@" + rule.version);
    if (outcome.truth == rules::Truth::kUnknown) {
      if (unknown_reason.empty()) unknown_reason = UnknownReason(facts, categories);
      record.rules_unknown.push_back({rule.id + "@" + rule.version, rule.id, unknown_reason});
    }
  }

  start = Steady::now();
  cards::RenderContext context;
  context.patient_id = input.request->patient_id;
  context.ids = options.ids;
  context.now = input.now;
  result.response = cards::RenderCards(rule_set, result.evaluation, context);
  record.timing.render_ms = MillisSince(start);
  return result;
}

fhir::GatherInput GatherInputFor(const rules::RuleSet& rule_set,
                                 const rules::ServiceDefinition& service,
                                 const HookRequest& request) {
  fhir::GatherInput input;
  for (const int index : service.prefetch) {
    if (index >= 0 && static_cast<std::size_t>(index) < rule_set.prefetch.size()) {
      input.specs.push_back(rule_set.prefetch[static_cast<std::size_t>(index)]);
    }
  }
  input.prefetch = request.prefetch;
  input.request_document = request.document;
  input.tokens = request.tokens;
  input.fhir_server = request.fhir_server;
  if (request.fhir_authorization) input.access_token = request.fhir_authorization->access_token;
  return input;
}

Result<const rules::ServiceDefinition*> ResolveService(const rules::RuleSet& rule_set,
                                                       std::string_view service_id,
                                                       std::string_view hook) {
  bool known = false;
  const rules::ServiceDefinition* found = nullptr;
  for (const rules::ServiceDefinition& service : rule_set.services) {
    if (service.id != service_id) continue;
    known = true;
    if (service.hook == hook) found = &service;
  }
  if (!known) return Error{ErrorCode::kUnknownService, "unknown service " + Quoted(service_id)};
  if (found == nullptr) {
    return Error{ErrorCode::kInvalidRequest,
                 "hook " + Quoted(hook) + " is not served by " + Quoted(service_id)};
  }
  return found;
}

fhir::GatherResult GatherPrefetchOnly(fhir::GatherInput input) {
  // Without a client the gatherer finishes inside Gather; the future only
  // makes that independent of its internals.
  std::promise<fhir::GatherResult> promise;
  std::future<fhir::GatherResult> future = promise.get_future();
  const fhir::DataGatherer gatherer(nullptr, fhir::GatherOptions{});
  gatherer.Gather(std::move(input), [&promise](fhir::GatherResult gathered) {
    promise.set_value(std::move(gathered));
  });
  return future.get();
}

}  // namespace cds::service
