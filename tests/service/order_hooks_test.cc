// The order hooks (issue #15) and hooks as data (issue #11 acceptance 2):
// discovery, per-hook context validation, hook separation, MG-22's delete
// action, MG-21 dropped when magnesium is already drafted, no cards for the
// deceased, and a toy hook added in test code and rule files only. The
// sandbox-shaped calls are in sandbox_test.cc; the test points 56-66 in
// order_hooks_test.py (evaluate, HTTP, fetch) and as rule cases.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include <boost/test/unit_test.hpp>

#include "service/hooks/hook_definition.h"
#include "service/hooks/hook_request.h"
#include "service/hooks/rule_set_holder.h"
#include "service/hooks/service_call.h"
#include "service/http/response_json.h"
#include "tests/service/handler_test_util.h"
#include "tests/support/rule_fixtures.h"
#include "tests/support/test_text.h"

namespace cds::service {
namespace {

using cds::testing::ReplaceAll;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string TestPoint(const std::string& name) {
  return ReadFile(std::string(CDS_TEST_DATA_DIR) + "/order-hooks/" + name + ".json");
}

// What the handler answers for POST /cds-services/{service} (ruleset 1.1.0).
HttpResponseView Post(const std::string& service, const std::string& body) {
  static RuleSetHolder holder{test::RulesAt("1.1.0")};
  static HookHandler handler{holder, testing::FixedOptions()};
  return testing::Call(handler, "POST", "/cds-services/" + service, body);
}

// The one core call (prefetch only) for a request body; a request the parser
// or the service lookup refuses comes back as that error.
Result<ServiceCallResult> CoreCall(const rules::RuleSet& rule_set, const std::string& service_id,
                                   const std::string& body, bool explain) {
  Result<HookRequest> request = ParseHookRequest(body);
  if (!request) return request.error();
  Result<const rules::ServiceDefinition*> service =
      ResolveService(rule_set, service_id, request->hook);
  if (!service) return service.error();
  const fhir::GatherResult gathered =
      GatherPrefetchOnly(GatherInputFor(rule_set, **service, *request));
  cards::SequentialIdSource ids;
  ServiceCallInput input;
  input.rule_set = &rule_set;
  input.service = *service;
  input.request = &*request;
  input.gathered = &gathered;
  input.now = testing::GoldenNow();
  ServiceCallOptions options;
  options.ids = &ids;
  options.explain = explain;
  return RunServiceCall(input, options);
}

// Cards through the one core call, or the error.
Result<std::vector<cards::Card>> Core(const rules::RuleSet& rule_set, const std::string& service_id,
                                      const std::string& body) {
  Result<ServiceCallResult> call = CoreCall(rule_set, service_id, body, /*explain=*/false);
  if (!call) return call.error();
  return std::move(call->response);
}

const cards::Card* CardOf(const std::vector<cards::Card>& cards, const std::string& rule) {
  for (const cards::Card& card : cards) {
    if (card.rule_id == rule) return &card;
  }
  return nullptr;
}

std::string OrderSign(const std::string& draft_orders) {
  return R"({"hook":"order-sign","hookInstance":"i1","context":{"userId":"Practitioner/1",)"
         R"("patientId":"p1","draftOrders":)" +
         draft_orders + "}}";
}

std::string OrderSelect(const std::string& selections, const std::string& draft_orders) {
  return R"({"hook":"order-select","hookInstance":"i1","context":{"userId":"Practitioner/1",)"
         R"("patientId":"p1","selections":)" +
         selections + R"(,"draftOrders":)" + draft_orders + "}}";
}

// How the generated test-point files open their draftOrders entries.
const std::string kDraftsOpen =
    "\"draftOrders\": {\n   \"resourceType\": \"Bundle\",\n   \"type\": \"collection\",\n   "
    "\"entry\": [";

const std::string kDraftBundle =
    R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":)"
    R"({"resourceType":"MedicationRequest","id":"d1","status":"draft","intent":"order",)"
    R"("medicationCodeableConcept":{"text":"omeprazole 20 mg"}}}]})";

}  // namespace

BOOST_AUTO_TEST_SUITE(OrderHooks)

BOOST_AUTO_TEST_CASE(discovery_lists_three_services_with_their_hooks_and_prefetch) {
  const auto rule_set = test::RulesAt("1.1.0");
  const std::string discovery = WriteDiscovery(*rule_set);
  for (const char* part : {R"("hook":"patient-view")", R"("id":"magnesium-advisor")",
                           R"("hook":"order-select")", R"("id":"magnesium-order-select")",
                           R"("hook":"order-sign")", R"("id":"magnesium-order-sign")"}) {
    BOOST_TEST(discovery.find(part) != std::string::npos, part);
  }
  BOOST_TEST(rule_set->services.size() == 3U);
  // Same prefetch templates for all three.
  for (const rules::ServiceDefinition& service : rule_set->services) {
    BOOST_TEST(service.prefetch == rule_set->services.front().prefetch);
  }
}

BOOST_AUTO_TEST_CASE(malformed_order_contexts_are_400_naming_the_field) {
  struct Bad {
    const char* name;
    std::string service;
    std::string body;
    std::string message;
  };
  const Bad cases[] = {
      {"draftOrders missing", "magnesium-order-sign",
       R"({"hook":"order-sign","hookInstance":"i1","context":{"userId":"Practitioner/1","patientId":"p1"}})",
       "missing required field 'context.draftOrders'"},
      {"draftOrders an array", "magnesium-order-sign", OrderSign("[]"),
       "'context.draftOrders' must be a FHIR Bundle"},
      {"draftOrders a MedicationRequest", "magnesium-order-sign",
       OrderSign(R"({"resourceType":"MedicationRequest","id":"d1"})"),
       "'context.draftOrders' must be a FHIR Bundle"},
      {"draftOrders entry not an array", "magnesium-order-sign",
       OrderSign(R"({"resourceType":"Bundle","entry":{}})"),
       "'context.draftOrders.entry' must be an array"},
      {"selections missing", "magnesium-order-select",
       R"({"hook":"order-select","hookInstance":"i1","context":{"userId":"Practitioner/1","patientId":"p1","draftOrders":)" +
           kDraftBundle + "}}",
       "missing required field 'context.selections'"},
      {"selections not an array", "magnesium-order-select",
       OrderSelect(R"("MedicationRequest/d1")", kDraftBundle),
       "'context.selections' must be an array"},
      {"selection not in draftOrders", "magnesium-order-select",
       OrderSelect(R"(["MedicationRequest/other"])", kDraftBundle),
       "'context.selections' names a resource that is not in 'context.draftOrders'"},
      {"order-select without draftOrders", "magnesium-order-select",
       R"({"hook":"order-select","hookInstance":"i1","context":{"userId":"Practitioner/1","patientId":"p1","selections":[]}})",
       "missing required field 'context.draftOrders'"},
      {"patient-view hook on the order-sign service", "magnesium-order-sign",
       R"({"hook":"patient-view","hookInstance":"i1","context":{"userId":"Practitioner/1","patientId":"p1"}})",
       "hook 'patient-view' is not served by 'magnesium-order-sign'"},
      {"order-sign hook on the patient-view service", "magnesium-advisor", OrderSign(kDraftBundle),
       "hook 'order-sign' is not served by 'magnesium-advisor'"},
      {"order-select hook on the order-sign service", "magnesium-order-sign",
       OrderSelect(R"(["MedicationRequest/d1"])", kDraftBundle),
       "hook 'order-select' is not served by 'magnesium-order-sign'"},
  };
  for (const Bad& bad : cases) {
    BOOST_TEST_CONTEXT(bad.name) {
      const HttpResponseView response = Post(bad.service, bad.body);
      BOOST_TEST(response.status == 400);
      BOOST_TEST(response.body.find(bad.message) != std::string::npos, response.body);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_resource_types_in_draft_orders_are_ignored) {
  const std::string original = TestPoint("tp60-mg22-mg-oxide-egfr-22");
  const std::string body = ReplaceAll(
      original, kDraftsOpen,
      kDraftsOpen +
          R"({"resource": {"resourceType": "NutritionOrder", "id": "n1", "status": "draft"}}, {"resource": {"resourceType": "VisionPrescription"}}, {"fullUrl": "x"}, )");
  BOOST_REQUIRE(body != original);
  const HttpResponseView response = Post("magnesium-order-sign", body);
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.body.find(R"("code":"MG-22")") != std::string::npos, response.body);
}

BOOST_AUTO_TEST_CASE(order_select_proposes_only_the_selected_drafts) {
  // TP59: doxycycline drafted but not selected -> no MG-23; selected -> MG-23.
  const auto rule_set = test::RulesAt("1.1.0");
  const std::string tp59 = TestPoint("tp59-order-select-unselected-doxycycline");
  auto unselected = Core(*rule_set, "magnesium-order-select", tp59);
  BOOST_REQUIRE(unselected);
  BOOST_TEST((CardOf(*unselected, "MG-23") == nullptr));
  const std::string selected =
      ReplaceAll(tp59, R"("MedicationRequest/draft-omeprazole")",
                 R"("MedicationRequest/draft-omeprazole", "MedicationRequest/draft-doxy")");
  BOOST_REQUIRE(selected != tp59);
  auto both = Core(*rule_set, "magnesium-order-select", selected);
  BOOST_REQUIRE(both);
  BOOST_TEST((CardOf(*both, "MG-23") != nullptr), WriteCardsResponse(*both));
  // order-sign proposes every draft.
  std::string sign = ReplaceAll(tp59, R"("hook": "order-select")", R"("hook": "order-sign")");
  auto signed_cards = Core(*rule_set, "magnesium-order-sign", sign);
  BOOST_REQUIRE(signed_cards);
  BOOST_TEST((CardOf(*signed_cards, "MG-23") != nullptr));
}

BOOST_AUTO_TEST_CASE(mg22_card_carries_a_delete_of_the_draft) {
  const auto rule_set = test::RulesAt("1.1.0");
  auto cards = Core(*rule_set, "magnesium-order-sign", TestPoint("tp60-mg22-mg-oxide-egfr-22"));
  BOOST_REQUIRE(cards);
  const cards::Card* mg22 = CardOf(*cards, "MG-22");
  BOOST_REQUIRE(mg22 != nullptr);
  bool deleted = false;
  for (const cards::Suggestion& suggestion : mg22->suggestions) {
    for (const cards::Action& action : suggestion.actions) {
      if (action.type != "delete") continue;
      deleted = true;
      BOOST_TEST(action.resource_id == "MedicationRequest/draft-mgox");
      BOOST_TEST(action.resource_json.empty());
      BOOST_TEST(suggestion.label.find("Remove") == 0U, suggestion.label);
    }
  }
  BOOST_TEST(deleted);
  const std::string json = WriteCardsResponse(*cards);
  BOOST_TEST(json.find(R"("resourceId":"MedicationRequest/draft-mgox")") != std::string::npos,
             json);
}

BOOST_AUTO_TEST_CASE(mg21_and_mg25_vanish_when_magnesium_is_already_drafted) {
  const auto rule_set = test::RulesAt("1.1.0");
  const std::string mg_order =
      R"({"resource": {"resourceType": "ServiceRequest", "id": "sr1", "status": "draft", "intent": "order", "code": {"coding": [{"system": "http://loinc.org", "code": "2601-3"}]}}}, )";
  for (const auto& [file, rule] : {std::pair{"tp56-mg21-ppi-start-with-diuretic", "MG-21"},
                                   std::pair{"tp64-mg25-cisplatin-no-recent-mg", "MG-25"}}) {
    const std::string body = TestPoint(file);
    auto without = Core(*rule_set, "magnesium-order-sign", body);
    BOOST_REQUIRE(without);
    BOOST_TEST((CardOf(*without, rule) != nullptr), rule << " fires without a drafted Mg order");
    // Insert the ServiceRequest as the first draft.
    const std::string drafted = ReplaceAll(body, kDraftsOpen, kDraftsOpen + mg_order);
    auto suppressed = Core(*rule_set, "magnesium-order-sign", drafted);
    BOOST_REQUIRE(suppressed);
    BOOST_TEST(drafted != body);
    BOOST_TEST((CardOf(*suppressed, rule) == nullptr), rule << " still fires with 2601-3 drafted");
  }
}

BOOST_AUTO_TEST_CASE(patient_view_rules_never_fire_on_order_hooks_and_vice_versa) {
  const auto rule_set = test::RulesAt("1.1.0");
  // tp66 (patient-view, signed Mg oxide + eGFR 22) fires MG-06; the same data
  // sent as order-sign (the order now current, nothing drafted) fires nothing.
  const std::string patient_view = TestPoint("tp66-patient-view-after-signing");
  auto pv = Core(*rule_set, "magnesium-advisor", patient_view);
  BOOST_REQUIRE(pv);
  BOOST_TEST((CardOf(*pv, "MG-06") != nullptr));
  std::string as_order =
      ReplaceAll(patient_view, R"("hook": "patient-view")", R"("hook": "order-sign")");
  as_order = ReplaceAll(
      as_order, R"("encounterId": "enc-1")",
      R"("encounterId": "enc-1", "draftOrders": {"resourceType": "Bundle", "type": "collection"})");
  auto order = Core(*rule_set, "magnesium-order-sign", as_order);
  BOOST_REQUIRE(order);
  BOOST_TEST(order->empty(), WriteCardsResponse(*order));
  // And tp60 (order-sign, MG-22) sent as patient-view: drafts are not read.
  std::string tp60 = TestPoint("tp60-mg22-mg-oxide-egfr-22");
  tp60 = ReplaceAll(tp60, R"("hook": "order-sign")", R"("hook": "patient-view")");
  auto pv60 = Core(*rule_set, "magnesium-advisor", tp60);
  BOOST_REQUIRE(pv60);
  BOOST_TEST(pv60->empty(), WriteCardsResponse(*pv60));
}

BOOST_AUTO_TEST_CASE(no_order_cards_for_a_deceased_patient) {
  const auto rule_set = test::RulesAt("1.1.0");
  for (const char* file : {"tp60-mg22-mg-oxide-egfr-22", "tp63-mg24-digoxin-low-mg",
                           "tp56-mg21-ppi-start-with-diuretic"}) {
    const std::string body = ReplaceAll(TestPoint(file), R"("gender": "female")",
                                        R"("gender": "female", "deceasedBoolean": true)");
    auto cards = Core(*rule_set, "magnesium-order-sign", body);
    BOOST_REQUIRE(cards);
    BOOST_TEST(cards->empty(), file << ": " << WriteCardsResponse(*cards));
  }
}

// Issue #11 acceptance 2: a toy hook, described here and in a rule file only
// (tests/data/toy-hook-ruleset): its own context field (labCode), its own fact
// category (toyLabOrders, built from that field) and its own rules, answered
// through the one core call. Nothing in service/http, rules/engine* or fhir/
// names it: the rules read the category with the generic `fact` predicate.
ServiceCallResult ToyCall(const rules::RuleSet& rule_set, const std::string& service_id,
                          const std::string& body) {
  Result<ServiceCallResult> call = CoreCall(rule_set, service_id, body, /*explain=*/true);
  BOOST_REQUIRE_MESSAGE(call, (call ? "" : call.error().message));
  return std::move(*call);
}

BOOST_AUTO_TEST_CASE(a_toy_hook_added_in_test_code_and_rule_files_gets_a_card) {
  HookDefinition toy;
  toy.name = "toy-lab-review";
  toy.context = {{"labCode", ContextField::Kind::kString, true}};
  const fhir::FactCategory lab_orders("toyLabOrders");
  toy.categories = {lab_orders};
  // The lab the context names, as a LOINC-coded fact; "pending" stands for
  // a lab system that could not say, so the category is not obtained.
  toy.build_facts = [lab_orders](const HookContext& context, fhir::EpochSeconds,
                                 const fhir::NormalizeOptions&, fhir::PatientFacts& facts) {
    const std::string& code = context.strings.at("labCode");
    if (code == "pending") {
      facts.state(lab_orders) = {fhir::Availability::kNotObtained, "lab system did not answer"};
      return;
    }
    fhir::CodedFact order;
    order.ref = "context.labCode";
    order.code.codings.push_back({"http://loinc.org", code, ""});
    order.name = "lab " + code;
    facts.coded[lab_orders.id()].push_back(order);
    facts.state(lab_orders).availability = fhir::Availability::kComplete;
  };
  RegisterHook(toy);
  BOOST_TEST(fhir::IsKnownFactCategory("toyLabOrders"));

  auto loaded = rules::LoadRuleSet(std::string(CDS_TEST_DATA_DIR) + "/toy-hook-ruleset");
  BOOST_REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().message));
  const rules::RuleSet& rule_set = **loaded;
  const std::string head =
      R"({"hook":"toy-lab-review","hookInstance":"t1","context":{"userId":"Practitioner/1","patientId":"p1")";

  // A magnesium test in the hook's own category: TOY-1's card, not TOY-2's.
  ServiceCallResult mg = ToyCall(rule_set, "toy-lab-review", head + R"(,"labCode":"19123-9"}})");
  BOOST_REQUIRE(mg.response);
  BOOST_REQUIRE_EQUAL(mg.response->size(), 1U);
  BOOST_TEST(mg.response->front().rule_id == "TOY-1");
  BOOST_TEST(mg.response->front().summary == "Magnesium test lab 19123-9 is being ordered");

  // Another lab, category complete: the absence rule TOY-2 fires.
  ServiceCallResult other = ToyCall(rule_set, "toy-lab-review", head + R"(,"labCode":"2823-3"}})");
  BOOST_REQUIRE(other.response);
  BOOST_REQUIRE_EQUAL(other.response->size(), 1U);
  BOOST_TEST(other.response->front().rule_id == "TOY-2");

  // Category not obtained: three-valued logic holds for a hook's own category
  // too. The absence rule is unknown (never fires), and the record says why.
  ServiceCallResult pending =
      ToyCall(rule_set, "toy-lab-review", head + R"(,"labCode":"pending"}})");
  BOOST_REQUIRE(pending.response);
  BOOST_TEST(pending.response->empty());
  BOOST_REQUIRE_EQUAL(pending.record.rules_unknown.size(), 2U);
  BOOST_TEST(pending.record.rules_unknown[1].rule_id == "TOY-2");
  BOOST_TEST(pending.record.rules_unknown[1].why ==
             "toyLabOrders not obtained (lab system did not answer)");
  BOOST_TEST(pending.record.category_notes ==
                 std::vector<std::string>{"toyLabOrders: not obtained (lab system did not answer)"},
             boost::test_tools::per_element());

  // Its context field is validated like any other hook's.
  auto missing = Core(rule_set, "toy-lab-review", head + "}}");
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().message == "missing required field 'context.labCode'");
  // The toy rules never fire on another hook of the same file; there the
  // toy category is not built at all (unknown, not false).
  ServiceCallResult patient_view = ToyCall(
      rule_set, "toy-patient-view",
      R"({"hook":"patient-view","hookInstance":"t1","context":{"userId":"Practitioner/1","patientId":"p1"}})");
  BOOST_REQUIRE(patient_view.response);
  BOOST_TEST(patient_view.response->empty());
}

// A rule file that names a fact category no hook defines is rejected at load
// (a typo must not make a rule silently unknown).
BOOST_AUTO_TEST_CASE(a_fact_category_no_hook_defines_is_a_load_error) {
  const std::string dir = std::string(CDS_TEST_DATA_DIR) + "/toy-hook-ruleset";
  std::ifstream rules_in(dir + "/ruleset.json");
  std::stringstream text;
  text << rules_in.rdbuf();
  const std::string edited = ReplaceAll(text.str(), "\"toyLabOrders\"", "\"toyLabOrder\"");
  BOOST_REQUIRE(edited != text.str());
  const auto tmp =
      std::filesystem::temp_directory_path() / ("magcds-toy-" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp);
  std::filesystem::copy_file(dir + "/valuesets.json", tmp / "valuesets.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(tmp / "ruleset.json") << edited;
  const rules::LoadReport report = rules::LoadRuleSetReport(tmp.string());
  std::filesystem::remove_all(tmp);
  BOOST_REQUIRE(!report.errors.empty());
  BOOST_TEST(report.errors[0].rule_id == "TOY-1");
  BOOST_TEST(report.errors[0].field == "rules[0].when.fact.category");
  BOOST_TEST(report.errors[0].line > 0);
  BOOST_TEST(report.errors[0].message ==
             "unknown fact category 'toyLabOrder'; a hook definition registers the categories it "
             "builds");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cds::service
