#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/json_internal.h"
#include "fhir/normalize.h"
#include "rules/engine.h"
#include "rules/example_case.h"

namespace cds::rules {
namespace {

using json_internal::AsValue;
using json_internal::Find;

bool CategoryFromName(const std::string& name, fhir::FactCategory& out) {
  for (auto c : {fhir::FactCategory::kPatient, fhir::FactCategory::kMedications,
                 fhir::FactCategory::kConditions, fhir::FactCategory::kObservations}) {
    if (name == fhir::FactCategoryName(c)) {
      out = c;
      return true;
    }
  }
  return false;
}

Status ReadIdList(const rapidjson::Value& obj, const char* name, std::set<std::string>& out) {
  const rapidjson::Value* list = Find(obj, name);
  if (list == nullptr) return OkStatus();
  if (!list->IsArray())
    return Error{ErrorCode::kInvalidRequest, std::string("'") + name + "' must be an array"};
  for (const auto& v : list->GetArray()) {
    if (!v.IsString())
      return Error{ErrorCode::kInvalidRequest, std::string("'") + name + "' must hold strings"};
    out.insert(v.GetString());
  }
  return OkStatus();
}

Status ReadCategories(const rapidjson::Value& obj, const char* name,
                      std::vector<fhir::FactCategory>& out) {
  std::set<std::string> names;
  if (Status s = ReadIdList(obj, name, names); !s) return s;
  for (const std::string& n : names) {
    fhir::FactCategory c;
    if (!CategoryFromName(n, c)) {
      return Error{ErrorCode::kInvalidRequest,
                   "unknown category '" + n + "' (patient, medications, conditions, observations)"};
    }
    out.push_back(c);
  }
  return OkStatus();
}

}  // namespace

std::vector<std::string> ListCaseFiles(const std::string& directory) {
  std::vector<std::string> files;
  if (DIR* dir = opendir(directory.c_str())) {
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
        files.push_back(directory + "/" + name);
    }
    closedir(dir);
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<ExampleCase> LoadExampleCase(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kInvalidRequest, path + ": cannot read"};
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = JsonDocument::Parse(text.str(), 256);
  if (!doc) return Error{ErrorCode::kInvalidRequest, path + ": " + doc.error().message};
  const rapidjson::Value& root = AsValue((*doc)->root());
  auto fail = [&](const std::string& what) {
    return Error{ErrorCode::kInvalidRequest, path + ": " + what};
  };
  if (!root.IsObject()) return fail("expected a JSON object");
  ExampleCase c;
  c.file = path;
  c.document = *doc;
  const rapidjson::Value* name = Find(root, "name");
  c.name = name != nullptr && name->IsString() ? name->GetString() : path;
  const rapidjson::Value* now = Find(root, "now");
  auto instant =
      now != nullptr && now->IsString() ? fhir::ParseFhirDateTime(now->GetString()) : std::nullopt;
  if (!instant) return fail("'now' must be an ISO-8601 dateTime with a zone");
  c.now = instant->seconds;
  if (Status s = ReadCategories(root, "notObtained", c.not_obtained); !s)
    return fail(s.error().message);
  if (Status s = ReadCategories(root, "partial", c.partial); !s) return fail(s.error().message);
  const rapidjson::Value* expect = Find(root, "expect");
  if (expect == nullptr || !expect->IsObject()) return fail("'expect' must be an object");
  if (Status s = ReadIdList(*expect, "fires", c.fires); !s) return fail(s.error().message);
  if (Status s = ReadIdList(*expect, "notFires", c.not_fires); !s) return fail(s.error().message);
  if (const rapidjson::Value* ind = Find(*expect, "indicators"); ind != nullptr) {
    if (!ind->IsObject()) return fail("'expect.indicators' must be an object");
    for (auto it = ind->MemberBegin(); it != ind->MemberEnd(); ++it) {
      if (!it->value.IsString()) return fail("indicator values must be strings");
      c.indicators[it->name.GetString()] = it->value.GetString();
    }
  }
  if (const rapidjson::Value* no_cards = Find(*expect, "noCards"); no_cards != nullptr) {
    if (!no_cards->IsBool()) return fail("'expect.noCards' must be true or false");
    c.no_cards = no_cards->GetBool();
  }
  for (auto [key, target] :
       {std::pair{"summaryContains", &c.summary_contains},
        std::pair{"detailContains", &c.detail_contains}, std::pair{"detailLacks", &c.detail_lacks},
        std::pair{"actionContains", &c.action_contains},
        std::pair{"explainContains", &c.explain_contains}}) {
    const rapidjson::Value* map = Find(*expect, key);
    if (map == nullptr) continue;
    if (!map->IsObject())
      return fail(std::string("'expect.") + key + "' must map rule ids to arrays of texts");
    for (auto it = map->MemberBegin(); it != map->MemberEnd(); ++it) {
      if (!it->value.IsArray())
        return fail(std::string("'expect.") + key + "' values must be arrays of texts");
      auto& texts = (*target)[it->name.GetString()];
      for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
        if (!it->value[i].IsString())
          return fail(std::string("'expect.") + key + "' texts must be strings");
        texts.emplace_back(it->value[i].GetString(), it->value[i].GetStringLength());
      }
    }
  }
  if (const rapidjson::Value* hook = Find(root, "hook"); hook != nullptr) {
    if (!hook->IsString()) return fail("'hook' must be a string");
    c.hook = hook->GetString();
  }
  if (const rapidjson::Value* context = Find(root, "context"); context != nullptr) {
    if (!context->IsObject()) return fail("'context' must be an object");
    const rapidjson::Value* drafts = Find(*context, "draftOrders");
    if (drafts == nullptr || !drafts->IsObject())
      return fail("'context.draftOrders' must be a Bundle");
    c.draft_orders = json_internal::MakeRef(*drafts);
    if (const rapidjson::Value* selections = Find(*context, "selections"); selections != nullptr) {
      if (!selections->IsArray()) return fail("'context.selections' must be an array");
      c.has_selections = true;
      for (const auto& v : selections->GetArray()) {
        if (!v.IsString()) return fail("'context.selections' must hold strings");
        c.selections.emplace_back(v.GetString(), v.GetStringLength());
      }
    }
  }
  const rapidjson::Value* bundle = Find(root, "bundle");
  if (bundle == nullptr || !bundle->IsObject()) return fail("'bundle' must be a FHIR Bundle");
  c.bundle = json_internal::MakeRef(*bundle);
  return c;
}

fhir::PatientFacts FactsForCase(const ExampleCase& example_case) {
  fhir::PatientFacts facts;
  for (auto& state : facts.categories) state.availability = fhir::Availability::kComplete;
  for (auto c : example_case.partial) {
    facts.state(c).availability = fhir::Availability::kPartial;
    facts.state(c).note = "partial in this example";
  }
  for (auto c : example_case.not_obtained) {
    facts.state(c).availability = fhir::Availability::kNotObtained;
    facts.state(c).note = "not obtained in this example";
  }
  std::vector<fhir::FhirInput> inputs;
  for (auto c : {fhir::FactCategory::kPatient, fhir::FactCategory::kMedications,
                 fhir::FactCategory::kConditions, fhir::FactCategory::kObservations}) {
    if (facts.state(c).obtained()) inputs.push_back({c, example_case.bundle});
  }
  fhir::Normalize(inputs, example_case.now, fhir::NormalizeOptions{}, facts);
  // Order hooks (R29): the drafts are the proposed medications / draft orders.
  facts.state(fhir::FactCategory::kDraftOrders) = {};
  if (example_case.draft_orders.valid()) {
    fhir::NormalizeDraftOrders(example_case.draft_orders,
                               example_case.has_selections ? &example_case.selections : nullptr,
                               example_case.now, fhir::NormalizeOptions{}, facts);
  }
  return facts;
}

CaseResult RunExampleCase(const RuleSet& rule_set, const ExampleCase& example_case) {
  CaseResult result;
  fhir::PatientFacts facts = FactsForCase(example_case);
  EvaluateOptions options;
  options.explain = !example_case.explain_contains.empty();
  options.hook = example_case.hook;
  Evaluation evaluation = Evaluate(rule_set, facts, example_case.now, options);
  for (const RuleOutcome& o : evaluation.outcomes) {
    if (o.fired) result.fired.insert(rule_set.rules[static_cast<std::size_t>(o.rule)].id);
  }
  auto outcome_text = [&](const std::string& id) {
    int i = rule_set.FindRule(id);
    if (i < 0) return std::string("no such rule");
    const RuleOutcome& o = evaluation.outcomes[static_cast<std::size_t>(i)];
    if (o.replaced_by >= 0)
      return "replaced by " + rule_set.rules[static_cast<std::size_t>(o.replaced_by)].id;
    return std::string(TruthName(o.truth));
  };
  for (const std::string& id : example_case.fires) {
    if (result.fired.count(id) == 0) {
      result.problems.push_back("expected " + id + " to fire; it did not (" + outcome_text(id) +
                                ")");
    }
  }
  for (const std::string& id : example_case.not_fires) {
    if (result.fired.count(id) != 0)
      result.problems.push_back("expected " + id + " not to fire; it fired");
  }
  for (const auto& [id, want] : example_case.indicators) {
    int i = rule_set.FindRule(id);
    if (i < 0 || result.fired.count(id) == 0) continue;  // reported above
    std::string got = IndicatorName(evaluation.outcomes[static_cast<std::size_t>(i)].indicator);
    if (got != want)
      result.problems.push_back(id + ": expected indicator " + want + ", got " + got);
  }
  if (example_case.no_cards && !result.fired.empty()) {
    result.problems.push_back("expected no cards; some rules fired");
  }
  for (const auto& [id, texts] : example_case.explain_contains) {
    int i = rule_set.FindRule(id);
    if (i < 0) {
      result.problems.push_back("explainContains: no rule " + id);
      continue;
    }
    const auto& lines = evaluation.outcomes[static_cast<std::size_t>(i)].explain;
    for (const std::string& text : texts) {
      bool found = std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
        return line.find(text) != std::string::npos;
      });
      if (!found) result.problems.push_back(id + ": explain does not mention '" + text + "'");
    }
  }
  result.passed = result.problems.empty();
  result.evaluation = std::move(evaluation);
  return result;
}

}  // namespace cds::rules
