#include <algorithm>
#include <dirent.h>
#include <fstream>
#include <sstream>

#include "fhir/json_internal.h"
#include "fhir/normalize.h"
#include "rules/engine.h"
#include "rules/example_case.h"

namespace cds::rules {
namespace {

using fhir::internal::AsValue;
using fhir::internal::Find;

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
  if (!list->IsArray()) return Error{ErrorCode::kInvalidRequest, std::string("'") + name + "' must be an array"};
  for (const auto& v : list->GetArray()) {
    if (!v.IsString()) return Error{ErrorCode::kInvalidRequest, std::string("'") + name + "' must hold strings"};
    out.insert(v.GetString());
  }
  return OkStatus();
}

Status ReadCategories(const rapidjson::Value& obj, const char* name, std::vector<fhir::FactCategory>& out) {
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
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) files.push_back(directory + "/" + name);
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
  auto doc = fhir::JsonDocument::Parse(text.str(), 256);
  if (!doc) return Error{ErrorCode::kInvalidRequest, path + ": " + doc.error().message};
  const rapidjson::Value& root = AsValue((*doc)->root());
  auto fail = [&](const std::string& what) { return Error{ErrorCode::kInvalidRequest, path + ": " + what}; };
  if (!root.IsObject()) return fail("expected a JSON object");
  ExampleCase c;
  c.file = path;
  c.document = *doc;
  const rapidjson::Value* name = Find(root, "name");
  c.name = name != nullptr && name->IsString() ? name->GetString() : path;
  const rapidjson::Value* now = Find(root, "now");
  auto instant = now != nullptr && now->IsString() ? fhir::ParseFhirDateTime(now->GetString()) : std::nullopt;
  if (!instant) return fail("'now' must be an ISO-8601 dateTime with a zone");
  c.now = instant->seconds;
  if (Status s = ReadCategories(root, "notObtained", c.not_obtained); !s) return fail(s.error().message);
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
  const rapidjson::Value* bundle = Find(root, "bundle");
  if (bundle == nullptr || !bundle->IsObject()) return fail("'bundle' must be a FHIR Bundle");
  c.bundle = fhir::internal::MakeRef(*bundle);
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
  return facts;
}

CaseResult RunExampleCase(const RuleSet& rule_set, const ExampleCase& example_case) {
  CaseResult result;
  fhir::PatientFacts facts = FactsForCase(example_case);
  Evaluation evaluation = Evaluate(rule_set, facts, example_case.now);
  for (const RuleOutcome& o : evaluation.outcomes) {
    if (o.fired) result.fired.insert(rule_set.rules[static_cast<std::size_t>(o.rule)].id);
  }
  auto outcome_text = [&](const std::string& id) {
    int i = rule_set.FindRule(id);
    if (i < 0) return std::string("no such rule");
    const RuleOutcome& o = evaluation.outcomes[static_cast<std::size_t>(i)];
    if (o.replaced_by >= 0) return "replaced by " + rule_set.rules[static_cast<std::size_t>(o.replaced_by)].id;
    return std::string(TruthName(o.truth));
  };
  for (const std::string& id : example_case.fires) {
    if (result.fired.count(id) == 0) {
      result.problems.push_back("expected " + id + " to fire; it did not (" + outcome_text(id) + ")");
    }
  }
  for (const std::string& id : example_case.not_fires) {
    if (result.fired.count(id) != 0) result.problems.push_back("expected " + id + " not to fire; it fired");
  }
  for (const auto& [id, want] : example_case.indicators) {
    int i = rule_set.FindRule(id);
    if (i < 0 || result.fired.count(id) == 0) continue;  // reported above
    std::string got = IndicatorName(evaluation.outcomes[static_cast<std::size_t>(i)].indicator);
    if (got != want) result.problems.push_back(id + ": expected indicator " + want + ", got " + got);
  }
  result.passed = result.problems.empty();
  return result;
}

}  // namespace cds::rules
