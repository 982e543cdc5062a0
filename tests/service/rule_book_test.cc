// The rule book generator (service/backtest/rule_book.h): plain-language triggers,
// nothing of a trigger left out, every rule / value set / code present,
// cards rendered from example patients, "Changes since" from rules diff.
#include "service/backtest/rule_book.h"

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "rules/loader.h"

namespace cds::service {
namespace {

std::string RulesDir() { return std::string(CDS_RULES_DIR) + "/magnesium/1.0.0"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Book {
  std::shared_ptr<const rules::RuleSet> rule_set;
  RuleBookInput input;
};

Book ShippedBook() {
  Book book;
  auto loaded = rules::LoadRuleSet(RulesDir());
  BOOST_REQUIRE(loaded);
  book.rule_set = *loaded;
  book.input.ruleset_json = ReadFile(RulesDir() + "/ruleset.json");
  book.input.valuesets_json = ReadFile(RulesDir() + "/valuesets.json");
  book.input.rule_set = book.rule_set.get();
  for (const std::string& file : rules::ListCaseFiles(RulesDir() + "/examples")) {
    auto example = rules::LoadExampleCase(file);
    BOOST_REQUIRE(example);
    book.input.examples.push_back(std::move(example).value());
  }
  return book;
}

bool Has(const std::string& html, const std::string& text) {
  return html.find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(RuleBook)

BOOST_AUTO_TEST_CASE(triggers_read_as_sentences_with_parameters_and_units) {
  Book book = ShippedBook();
  Result<std::string> html = BuildRuleBook(book.input);
  BOOST_REQUIRE(html);
  // MG-01: long-term PPI, written with the parameter's value, unit and name.
  BOOST_TEST(
      Has(*html, "taken for at least 365 days <span class=\"def\">(ppiLongTermDays)</span>"));
  BOOST_TEST(Has(*html, "no usable serum magnesium result in the last 90 days"));
  BOOST_TEST(Has(*html, "<span class=\"and\">AND</span>"));
  BOOST_TEST(Has(*html, "<span class=\"or\">OR</span>"));
  BOOST_TEST(Has(*html, "[longTermPpi]"));
  BOOST_TEST(Has(*html, "is below 0.7 mmol/L"));
  for (const rules::Rule& rule : book.rule_set->rules) {
    BOOST_TEST(Has(*html, "id=\"rule-" + rule.id + "\""), rule.id);
    BOOST_TEST(Has(*html, rule.source_url), rule.id << " source link");
  }
  // Codes are shown as written; the compiled keys are normalised (ICD-10-CM
  // without dots), so compare against the page without dots.
  std::string no_dots = *html;
  std::erase(no_dots, '.');
  for (const rules::ValueSet& set : book.rule_set->value_sets) {
    BOOST_TEST(Has(*html, "id=\"vs-" + set.id + "\""), set.id);
    for (const std::string& key : set.listed_codes) {
      const std::string code = key.substr(key.find('|') + 1);
      BOOST_TEST((Has(*html, "<code>" + code) || Has(no_dots, "<code>" + code)), key);
    }
  }
  BOOST_TEST(Has(*html, book.rule_set->disclaimer));
  BOOST_TEST(Has(*html, book.rule_set->release_date));
  BOOST_TEST(!Has(*html, "<script"));
}

BOOST_AUTO_TEST_CASE(cards_are_rendered_from_example_patients) {
  Book book = ShippedBook();
  Result<std::string> html = BuildRuleBook(book.input);
  BOOST_REQUIRE(html);
  // The classic example patient's MG-01 card, with its facts filled in.
  BOOST_TEST(Has(*html, "Rendered from the example patient"));
  BOOST_TEST(Has(*html, "omeprazole 20 MG"));
  // Rules no example triggers show their template, marked as such.
  book.input.examples.clear();
  Result<std::string> bare = BuildRuleBook(book.input);
  BOOST_REQUIRE(bare);
  BOOST_TEST(!Has(*bare, "Rendered from the example patient"));
  BOOST_TEST(Has(*bare, "No shipped example patient triggers this rule"));
}

BOOST_AUTO_TEST_CASE(predicates_the_book_does_not_know_are_shown_not_hidden) {
  Book book = ShippedBook();
  std::string& json = book.input.ruleset_json;
  const std::string anchor = R"({"medication": {"valueSet": "ppi"}},)";
  const std::size_t at = json.find(anchor);
  BOOST_REQUIRE(at != std::string::npos);
  json.replace(at, anchor.size(),
               R"({"all": [{"medication": {"valueSet": "ppi", "recentDays": 90,)"
               R"( "asNeeded": false, "futureField": 7}}, {"patient": {"minAgeYears": 18}},)"
               R"( {"pregnancy": {"trimester": 1}}]},)");
  Result<std::string> html = BuildRuleBook(book.input);
  BOOST_REQUIRE(html);
  BOOST_TEST(Has(*html, "from the last 90 days"));
  BOOST_TEST(Has(*html, "taken regularly (not as needed)"));
  BOOST_TEST(Has(*html, "[futureField: 7]"));
  BOOST_TEST(Has(*html, "the patient is at least 18 years old"));
  BOOST_TEST(Has(*html, "<code>{&quot;pregnancy&quot;:{&quot;trimester&quot;:1}}</code>"));
}

BOOST_AUTO_TEST_CASE(baseline_adds_changes_since_from_rules_diff) {
  Book book = ShippedBook();
  rules::RuleSet changed = *book.rule_set;
  changed.version = "1.0.1";
  changed.rules[0].title = "Changed title";
  book.input.rule_set = &changed;
  book.input.baseline = book.rule_set.get();
  Result<std::string> html = BuildRuleBook(book.input);
  BOOST_REQUIRE(html);
  BOOST_TEST(Has(*html, "Changes since magnesium@1.0.0"));
  BOOST_TEST(Has(*html, "MG-01"));
}

BOOST_AUTO_TEST_CASE(files_that_are_not_json_are_an_error) {
  Book book = ShippedBook();
  book.input.valuesets_json = "not json";
  BOOST_TEST(!BuildRuleBook(book.input));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cds::service
