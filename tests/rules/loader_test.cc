// Rule files are edited by admins: every mistake must be caught at load time
// with file, line, rule and field; and a site change (threshold, code) must be
// a rule-file edit only.

#include "rules/loader.h"

#include <algorithm>

#include <boost/test/unit_test.hpp>

#include "cards/id_source.h"
#include "cards/render.h"
#include "rules/engine.h"
#include "rules/example_case.h"
#include "rules/text_template.h"
#include "tests/support/rule_fixtures.h"
#include "tests/support/temp_ruleset.h"

namespace cds {
namespace {

const fhir::EpochSeconds kNow = test::At("2026-11-22T12:00:00Z");

const rules::RuleIssue* FindIssue(const rules::LoadReport& report, const std::string& needle) {
  for (const auto& issue : report.errors) {
    if (issue.ToString().find(needle) != std::string::npos) return &issue;
  }
  return nullptr;
}

std::string AllIssues(const rules::LoadReport& report) {
  std::string out;
  for (const auto& issue : report.errors) out += issue.ToString() + "\n";
  return out;
}

BOOST_AUTO_TEST_SUITE(LoaderErrors)

BOOST_AUTO_TEST_CASE(bad_json_names_file_and_line) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", "\"title\": \"Magnesium chelation interaction\",",
               "\"title\": \"Magnesium chelation interaction\"");  // missing comma
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  BOOST_TEST_REQUIRE(report.errors.size() == 1u);
  BOOST_TEST(report.rule_set == nullptr);
  BOOST_TEST(report.errors[0].file == copy.dir() + "/ruleset.json");
  BOOST_TEST(report.errors[0].line > 1);
  BOOST_TEST(report.errors[0].message.find("invalid JSON") != std::string::npos);
}

// Found by the fuzz_rule_loader campaign (ASan): a file ending inside a
// UTF-8 multi-byte sequence (here a 4-byte lead byte at the very end of an
// unterminated string) made the JSON reader's encoding check read past the
// buffer. The ASan run of this test (tests/sanitize.sh) catches a regression;
// every build checks that it is reported as invalid JSON.
BOOST_AUTO_TEST_CASE(file_ending_inside_a_multibyte_sequence_is_invalid_json) {
  test::TempRuleSet copy(test::kShippedRules);
  for (const char* tail : {"\xf3", "\xe2\x82", "\xf0\x9f\x98"}) {
    // Longer than the short-string buffer, so the text is on the heap where
    // ASan sees a read past its end (the fuzzer's input was 29 bytes).
    copy.Write("ruleset.json", "{\"d\":" + std::string(14, '\t') + "\r\t\t\t\t\"}]}" + tail);
    rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
    BOOST_TEST_REQUIRE(report.errors.size() == 1u);
    BOOST_TEST(report.rule_set == nullptr);
    BOOST_TEST(report.errors[0].message.find("invalid JSON") != std::string::npos);
  }
}

// Issue #18: a rule file that is well-formed UTF-8 is parsed without
// RapidJSON's per-byte check; one that is not (here a Latin-1 byte inside a
// title) must still fail with RapidJSON's error and the line of the byte.
BOOST_AUTO_TEST_CASE(latin1_byte_in_a_string_is_invalid_json_on_its_line) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", "\"title\": \"Digoxin + low magnesium\"",
               "\"title\": \"Digoxin + low magn\xe9sium\"");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  BOOST_TEST_REQUIRE(report.errors.size() == 1u);
  BOOST_TEST(report.rule_set == nullptr);
  BOOST_TEST(report.errors[0].message == "invalid JSON: Invalid encoding in string.");
  test::TempRuleSet fine(test::kShippedRules);
  const std::string text = fine.Read("ruleset.json");
  const std::size_t at = text.find("\"title\": \"Digoxin + low magnesium\"");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  const auto newlines =
      std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  BOOST_TEST(report.errors[0].line == 1 + newlines);
}

// Issue #18: a rule file is parsed in place (its strings unescaped inside a
// copy of the text), so an escape that shortens one string must not move or
// spoil the strings after it; a NUL byte, where an in-place parse would stop,
// sends the file to the copying parse and its error.
BOOST_AUTO_TEST_CASE(escaped_strings_load_as_written_and_a_nul_byte_is_invalid_json) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", "\"title\": \"Digoxin + low magnesium\"",
               R"("title": "Digoxin \u002B low magn\u00e9sium \"\\x\"\t\ud83d\ude00")");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  BOOST_TEST_REQUIRE(report.errors.empty(),
                     (report.errors.empty() ? "" : report.errors[0].message));
  const rules::RuleSet& set = *report.rule_set;
  const int at = set.FindRule("MG-10");
  BOOST_TEST_REQUIRE(at >= 0);
  const auto index = static_cast<std::size_t>(at);
  BOOST_TEST(set.rules[index].title == "Digoxin + low magn\xC3\xA9sium \"\\x\"\t\xF0\x9F\x98\x80");
  // Everything after it reads as in the shipped file.
  const rules::LoadReport shipped = rules::LoadRuleSetReport(test::kShippedRules);
  BOOST_TEST_REQUIRE(shipped.errors.empty());
  BOOST_TEST_REQUIRE(shipped.rule_set->rules.size() == set.rules.size());
  for (std::size_t i = index + 1; i < set.rules.size(); ++i) {
    BOOST_TEST(set.rules[i].id == shipped.rule_set->rules[i].id);
    BOOST_TEST(set.rules[i].title == shipped.rule_set->rules[i].title);
    BOOST_TEST(set.rules[i].source_fields == shipped.rule_set->rules[i].source_fields);
  }

  test::TempRuleSet with_nul(test::kShippedRules);
  with_nul.Replace("ruleset.json", "\"title\": \"Digoxin + low magnesium\"",
                   std::string("\"title\": \"Digoxin ") + '\0' + " low magnesium\"");
  report = rules::LoadRuleSetReport(with_nul.dir());
  BOOST_TEST_REQUIRE(report.errors.size() == 1u);
  BOOST_TEST(report.rule_set == nullptr);
  BOOST_TEST(report.errors[0].message.find("invalid JSON") == 0u, report.errors[0].message);
  const std::string text = with_nul.Read("ruleset.json");
  const std::size_t nul = text.find('\0');
  BOOST_TEST_REQUIRE(nul != std::string::npos);
  BOOST_TEST(report.errors[0].line ==
             1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(nul), '\n'));
}

// Issue #18: the schema's patterns and lengths are checked by the loader
// (rules/schema_pattern.h), not RapidJSON's validator; a file that breaks one
// is checked again by the validator with them, so the error is the one it
// has always been: the field, its line and the expected form.
BOOST_AUTO_TEST_CASE(pattern_and_length_violations_name_the_field_and_the_form) {
  struct Case {
    std::string from, to, field, message;
  };
  const std::vector<Case> cases = {
      {R"("id": "MG-10",)", R"("id": "MG 10",)", "rules[9].id",
       R"(schema: does not match the expected form "^[A-Za-z0-9._-]+$")"},
      {R"("title": "Digoxin + low magnesium",)", R"("title": "",)", "rules[9].title",
       "schema: must be a non-empty string"},
      {R"("url": "https://www.fda.gov/drugs/drug-safety-and-availability/fda-drug-safety-communication-low-magnesium-levels-can-be-associated-long-term-use-proton-pump"},
      "evidence": "Strong (labelled interaction).")",
       R"("url": "ftp://example.org/x"},
      "evidence": "Strong (labelled interaction).")",
       "rules[9].source.url", R"(schema: does not match the expected form "^https?://")"},
  };
  for (const Case& c : cases) {
    test::TempRuleSet copy(test::kShippedRules);
    copy.Replace("ruleset.json", c.from, c.to);
    rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
    BOOST_TEST_REQUIRE(report.errors.size() == 1u, c.to);
    BOOST_TEST(report.rule_set == nullptr);
    BOOST_TEST(report.errors[0].field == c.field, c.to);
    BOOST_TEST(report.errors[0].message == c.message, c.to);
    BOOST_TEST(report.errors[0].line > 1, c.to);
  }
}

BOOST_AUTO_TEST_CASE(unknown_value_set_names_rule_field_and_line) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json",
               R"({"medication": {"valueSet": "mg-wasting-therapy"}, "as": "therapy"})",
               R"({"medication": {"valueSet": "mg-wasting-therapies"}, "as": "therapy"})");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  const rules::RuleIssue* issue = FindIssue(report, "unknown value set 'mg-wasting-therapies'");
  BOOST_TEST_REQUIRE(issue != nullptr, AllIssues(report));
  BOOST_TEST(issue->rule_id == "MG-13");
  BOOST_TEST(issue->field == "rules[12].when.all[0].medication.valueSet");
  BOOST_TEST(issue->line > 0);
  std::string text = copy.Read("ruleset.json");
  int line = 1 + static_cast<int>(std::count(
                     text.begin(),
                     text.begin() + static_cast<long>(text.find("mg-wasting-therapies")), '\n'));
  BOOST_TEST(issue->line == line);
}

BOOST_AUTO_TEST_CASE(summary_too_long_with_longest_values_is_rejected) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace(
      "ruleset.json",
      R"j("summary": "Magnesium reduces absorption of ${chelator.names}: separate doses (see label)")j",
      R"j("summary": "Magnesium reduces absorption of ${chelator.names} and of ${mgProduct.names}: separate the doses by several hours, see the label")j");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  const rules::RuleIssue* issue = FindIssue(report, "fewer than 140");
  BOOST_TEST_REQUIRE(issue != nullptr, AllIssues(report));
  BOOST_TEST(issue->rule_id == "MG-07");
  BOOST_TEST(issue->field == "rules[6].card.summary");
}

BOOST_AUTO_TEST_CASE(duplicate_rule_id_is_rejected) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", R"("id": "MG-13")", R"("id": "MG-12")");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  const rules::RuleIssue* issue = FindIssue(report, "duplicate rule id 'MG-12'");
  BOOST_TEST_REQUIRE(issue != nullptr, AllIssues(report));
  BOOST_TEST(issue->field == "rules[12].id");
}

BOOST_AUTO_TEST_CASE(schema_violation_names_rule_field_and_expectation) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", R"("indicator": {"default": "critical"})",
               R"("indicator": {"default": "severe"})");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  BOOST_TEST_REQUIRE(report.errors.size() == 1u, AllIssues(report));
  BOOST_TEST(report.errors[0].rule_id == "MG-10");
  BOOST_TEST(report.errors[0].field == "rules[9].indicator.default");
  BOOST_TEST(report.errors[0].message ==
             R"(schema: expected one of ["info","warning","critical"])");
  BOOST_TEST(report.errors[0].line > 0);
}

BOOST_AUTO_TEST_CASE(schema_reports_missing_and_unknown_fields) {
  test::TempRuleSet missing(test::kShippedRules);
  missing.Replace("ruleset.json", R"("evidence": "Strong (labelled interaction).")",
                  R"("enabled": true)");
  rules::LoadReport report = rules::LoadRuleSetReport(missing.dir());
  BOOST_TEST(FindIssue(report, "rule MG-10: rules[9]: schema: missing required field 'evidence'") !=
                 nullptr,
             AllIssues(report));
  test::TempRuleSet unknown(test::kShippedRules);
  unknown.Replace("valuesets.json", R"("id": "fibromyalgia",)",
                  R"("id": "fibromyalgia", "owner": "x",)");
  report = rules::LoadRuleSetReport(unknown.dir());
  BOOST_TEST(FindIssue(report, "schema: unknown field 'owner'") != nullptr, AllIssues(report));
}

// Found by the fuzz_rule_loader campaign: an unknown member whose name
// begins like a rule's path ("rules[eDate") made the loader parse "eDate" as
// a rule index and throw; it is an unknown field like any other.
BOOST_AUTO_TEST_CASE(unknown_member_named_like_a_rule_path_is_an_unknown_field) {
  for (const char* name :
       {"rules[eDate", "rules[", "rules[12", "rules[1x]", "rules[99999999999999999999]"}) {
    test::TempRuleSet copy(test::kShippedRules);
    copy.Replace("ruleset.json", R"("id": "magnesium",)",
                 std::string(R"("id": "magnesium", ")") + name + R"(": 1,)");
    rules::LoadReport report;
    BOOST_REQUIRE_NO_THROW(report = rules::LoadRuleSetReport(copy.dir()));
    BOOST_TEST(report.rule_set == nullptr);
    BOOST_TEST(FindIssue(report, std::string("schema: unknown field '") + name + "'") != nullptr,
               AllIssues(report));
  }
}

// "Exactly one kind per predicate" is the schema's oneOf, which the loader
// checks outside RapidJSON's validator (issue #18): same path, line and
// message, wherever the schema puts a predicate (nested in a rule, in an
// unreferenced definition, none of the kinds).
BOOST_AUTO_TEST_CASE(schema_requires_exactly_one_kind_per_predicate) {
  const std::string expected =
      "schema: expected exactly one of the allowed shapes (e.g. a predicate has exactly one of "
      "all, any, not, ref, medication, condition, lab, noLab, ruleFires; a value-set component is "
      "system+codes, system+prefixes, text or valueSet)";
  struct Case {
    std::string from, to, field, rule_id;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"any": [{"ref": "longTermPpi"}, {"ref": "ppiStartUnknown"}]})",
            R"({"any": [{"ref": "longTermPpi"}, {"ref": "ppiStartUnknown", "not": {"ref": "x"}}]})",
            "rules[0].when.all[1].any[1]", "MG-01"},
           {R"("digoxin":              {"medication": {"valueSet": "digoxin"}})",
            R"("digoxin": {"medication": {"valueSet": "digoxin"}, "condition": {"valueSet": "x"}})",
            "definitions.digoxin", ""},
           {R"({"ref": "noRecentMg"})", R"({"as": "nothing"})", "rules[0].when.all[3]", "MG-01"},
       }) {
    test::TempRuleSet copy(test::kShippedRules);
    copy.Replace("ruleset.json", c.from, c.to);
    rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
    BOOST_TEST_REQUIRE(report.errors.size() == 1u, AllIssues(report));
    BOOST_TEST(report.errors[0].field == c.field);
    BOOST_TEST(report.errors[0].rule_id == c.rule_id);
    BOOST_TEST(report.errors[0].message == expected);
    BOOST_TEST(report.errors[0].line > 0);
  }
}

BOOST_AUTO_TEST_CASE(unknown_parameters_are_rejected) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", R"("minDays": "ppiLongTermDays")", R"("minDays": "ppiLongTerm")");
  copy.Replace("ruleset.json", "${param.recentMgDays} days.", "${param.recentMagnesiumDays} days.");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  BOOST_TEST(FindIssue(report, "unknown parameter 'ppiLongTerm'") != nullptr, AllIssues(report));
  BOOST_TEST(FindIssue(report, "unknown parameter '${param.recentMagnesiumDays}'") != nullptr,
             AllIssues(report));
}

BOOST_AUTO_TEST_CASE(unknown_binding_in_template_and_precedence_cycle) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", "**Therapy:** ${therapy.names}", "**Therapy:** ${drug.names}");
  copy.Replace("ruleset.json", R"({"rule": "MG-10", "replaces": ["MG-03"])",
               R"({"rule": "MG-10", "replaces": ["MG-03", "MG-11"])");
  copy.Replace("ruleset.json", R"({"rule": "MG-01", "replaces": ["MG-05", "MG-02"])",
               R"({"rule": "MG-01", "replaces": ["MG-05", "MG-02", "MG-10"])");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  BOOST_TEST(FindIssue(report, "unknown name '${drug.names}'") != nullptr, AllIssues(report));
  BOOST_TEST(FindIssue(report, "precedence: cycle") != nullptr, AllIssues(report));
}

BOOST_AUTO_TEST_CASE(value_set_errors_name_the_value_set_file) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("valuesets.json", R"("id": "fibromyalgia")", R"("id": "migraine")");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  const rules::RuleIssue* issue = FindIssue(report, "duplicate value set id 'migraine'");
  BOOST_TEST_REQUIRE(issue != nullptr, AllIssues(report));
  BOOST_TEST(issue->file == copy.dir() + "/valuesets.json");
}

// Templates are compiled once, at load: a malformed placeholder is a load
// error naming rule, field and line, never something found when a card renders.
BOOST_AUTO_TEST_CASE(malformed_template_is_rejected_at_load_with_its_line) {
  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", "**Therapy:** ${therapy.names}. No usable",
               "**Therapy:** ${therapy names}. No usable");
  rules::LoadReport report = rules::LoadRuleSetReport(copy.dir());
  BOOST_TEST(report.rule_set == nullptr);
  const rules::RuleIssue* issue = FindIssue(report, "invalid placeholder '${therapy names}'");
  BOOST_TEST_REQUIRE(issue != nullptr, AllIssues(report));
  BOOST_TEST(issue->rule_id == "MG-13");
  BOOST_TEST(issue->field == "rules[12].card.detail[0].text");
  std::string text = copy.Read("ruleset.json");
  int line =
      1 + static_cast<int>(std::count(
              text.begin(), text.begin() + static_cast<long>(text.find("${therapy names}")), '\n'));
  BOOST_TEST(issue->line == line);
}

// The loaded set carries every card template parsed; rendering reads the
// segments, not the text (changing the text after load changes nothing).
BOOST_AUTO_TEST_CASE(loaded_templates_are_compiled_and_rendering_uses_the_compiled_form) {
  auto shipped = test::ShippedRules();
  for (const rules::Rule& rule : shipped->rules) {
    BOOST_TEST(!rule.summary.segments.empty(), rule.id);
    for (const rules::TextPart& part : rule.detail) {
      BOOST_TEST(part.text.empty() == part.text.segments.empty(), rule.id);
    }
    for (const rules::SuggestionTemplate& s : rule.suggestions) {
      BOOST_TEST(!s.label.segments.empty(), rule.id);
      for (const rules::ActionTemplate& a : s.actions) {
        BOOST_TEST(!a.description.segments.empty(), rule.id);
      }
    }
  }
  rules::RuleSet edited = *shipped;
  for (rules::Rule& rule : edited.rules) rule.summary.text = "${not parsed per card";
  auto example = rules::LoadExampleCase(std::string(CDS_TEST_DATA_DIR) +
                                        "/rule-cases/mg01-fires-long-term-omeprazole-cramp.json");
  BOOST_TEST_REQUIRE(example.has_value());
  const fhir::PatientFacts facts = rules::FactsForCase(*example);
  auto render = [&](const rules::RuleSet& rule_set) {
    cards::SequentialIdSource ids;
    return cards::RenderCards(rule_set, rules::Evaluate(rule_set, facts, example->now),
                              {"pat-1", &ids, example->now});
  };
  const auto original = render(*shipped);
  const auto from_edited = render(edited);
  BOOST_TEST_REQUIRE(!original.empty());
  BOOST_TEST_REQUIRE(from_edited.size() == original.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    BOOST_TEST(from_edited[i].summary == original[i].summary);
    BOOST_TEST(from_edited[i].summary.find("${") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(template_syntax_errors) {
  BOOST_TEST(!rules::ParseTemplate("value ${mg.value").has_value());
  BOOST_TEST(!rules::ParseTemplate("${}").has_value());
  BOOST_TEST(!rules::ParseTemplate("${a b}").has_value());
  auto ok = rules::ParseTemplate("Mg ${mg.value} mmol/L");
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST(ok->size() == 3u);
  BOOST_TEST((*ok)[1].text == "mg");
  BOOST_TEST((*ok)[1].field == "value");
  for (const char* bad : {"${a.b.c}", "${.x}", "${x.}", "${a.b c}", "x ${", "${a}${"}) {
    BOOST_TEST(!rules::ParseTemplate(bad).has_value(), bad);
  }
  // Literal runs are taken whole between placeholders (issue #18): a '$' not
  // followed by '{' is text, and adjacent placeholders leave no empty text.
  auto segments = rules::ParseTemplate("a$b ${x}${y.z} $ {c} end$");
  BOOST_TEST_REQUIRE(segments.has_value());
  std::string spelled;
  for (const rules::TemplateSegment& segment : *segments) {
    spelled += segment.is_placeholder ? "<" + segment.text + "|" + segment.field + ">"
                                      : "[" + segment.text + "]";
  }
  BOOST_TEST(spelled == "[a$b ]<x|><y|z>[ $ {c} end$]");
}

// The two halves of LoadRuleSetReport: one value-sets file, loaded once,
// serves several rule texts (the rule-loader fuzz target's use), with the
// same result as loading the directory; a value-sets file that fails stops
// each rule text at the same stage, its issue first.
BOOST_AUTO_TEST_CASE(one_value_sets_file_serves_several_rule_texts) {
  test::TempRuleSet copy(test::kShippedRules);
  const rules::ValueSetsFile sets = rules::LoadValueSetsFile(copy.dir() + "/valuesets.json");
  BOOST_TEST_REQUIRE(sets.errors.empty());
  const rules::LoadReport whole = rules::LoadRuleSetReport(copy.dir());
  BOOST_TEST_REQUIRE(whole.rule_set != nullptr);
  const std::string text = copy.Read("ruleset.json");
  for (int i = 0; i < 2; ++i) {
    const rules::LoadReport report =
        rules::LoadRuleSetText(copy.dir() + "/ruleset.json", text, sets);
    BOOST_TEST_REQUIRE(report.rule_set != nullptr, AllIssues(report));
    BOOST_TEST(report.rule_set->rules.size() == whole.rule_set->rules.size());
    BOOST_TEST(report.rule_set->value_sets.size() == whole.rule_set->value_sets.size());
    BOOST_TEST(report.rule_set->Label() == whole.rule_set->Label());
  }
  const rules::LoadReport broken_rules = rules::LoadRuleSetText("ruleset.json", "{\"id\": ", sets);
  BOOST_TEST_REQUIRE(broken_rules.errors.size() == 1u);
  BOOST_TEST(broken_rules.errors[0].file == "ruleset.json");

  copy.Write("valuesets.json", "{\"valueSets\": [");
  const rules::ValueSetsFile bad = rules::LoadValueSetsFile(copy.dir() + "/valuesets.json");
  BOOST_TEST((bad.failed == rules::ValueSetsFile::Failed::kRead));
  const rules::LoadReport stopped = rules::LoadRuleSetText("ruleset.json", text, bad);
  BOOST_TEST(stopped.rule_set == nullptr);
  BOOST_TEST_REQUIRE(stopped.errors.size() == 1u, AllIssues(stopped));
  BOOST_TEST(stopped.errors[0].file == copy.dir() + "/valuesets.json");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(RuleFileEdits)

const std::string kMgPoint75 = R"({"resourceType":"Bundle","type":"collection","entry":[
  {"resource":{"resourceType":"Observation","id":"m","status":"final",
   "code":{"coding":[{"system":"http://loinc.org","code":"2601-3"}]},
   "effectiveDateTime":"2026-11-01","valueQuantity":{"value":0.75,"unit":"mmol/L","code":"mmol/L"}}}]})";

BOOST_AUTO_TEST_CASE(changing_a_threshold_is_a_rule_file_edit) {
  auto shipped = test::ShippedRules();
  fhir::PatientFacts facts = test::FactsFromJson(kMgPoint75, kNow);
  BOOST_TEST(!test::OutcomeOf(*shipped, rules::Evaluate(*shipped, facts, kNow), "MG-03").fired);

  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("ruleset.json", R"("mgLow":              {"value": 0.70,)",
               R"("mgLow":              {"value": 0.80,)");
  auto edited = rules::LoadRuleSet(copy.dir());
  BOOST_TEST_REQUIRE(edited.has_value(), (edited ? "" : edited.error().message));
  BOOST_TEST(test::OutcomeOf(**edited, rules::Evaluate(**edited, facts, kNow), "MG-03").fired);
}

BOOST_AUTO_TEST_CASE(adding_a_code_to_a_value_set_is_a_rule_file_edit) {
  // A site's local pharmacy code for a PPI, sent without RxNorm or ATC.
  const std::string bundle = R"({"resourceType":"Bundle","type":"collection","entry":[
    {"resource":{"resourceType":"MedicationRequest","id":"x","status":"active","intent":"order","authoredOn":"2021-05-01",
     "medicationCodeableConcept":{"coding":[{"system":"urn:oid:2.16.840.1.113883.3.999.1","code":"LOC-4711"}]}}},
    {"resource":{"resourceType":"Condition","id":"c","clinicalStatus":{"coding":[{"code":"active"}]},
     "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"R25.2"}]}}}]})";
  auto shipped = test::ShippedRules();
  fhir::PatientFacts facts = test::FactsFromJson(bundle, kNow);
  BOOST_TEST(!test::OutcomeOf(*shipped, rules::Evaluate(*shipped, facts, kNow), "MG-01").fired);

  test::TempRuleSet copy(test::kShippedRules);
  copy.Replace("valuesets.json", R"("id": "ppi",)", R"("id": "ppi",)");
  std::string sets = copy.Read("valuesets.json");
  std::size_t at = sets.find("\"include\": [", sets.find(R"("id": "ppi",)"));
  sets.insert(
      at + 12,
      R"j({"system": "urn:oid:2.16.840.1.113883.3.999.1", "codes": [{"code": "LOC-4711", "display": "omeprazole 20 mg (local)", "verification": "site formulary 2026-11"}]},)j");
  copy.Write("valuesets.json", sets);
  auto edited = rules::LoadRuleSet(copy.dir());
  BOOST_TEST_REQUIRE(edited.has_value(), (edited ? "" : edited.error().message));
  BOOST_TEST(test::OutcomeOf(**edited, rules::Evaluate(**edited, facts, kNow), "MG-01").fired);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
