#include "cards/case_cards.h"

#include <map>

#include "cards/id_source.h"
#include "cards/render.h"

namespace cds::cards {

void CheckCaseCards(const rules::RuleSet& rule_set, const rules::ExampleCase& example_case,
                    rules::CaseResult& result) {
  if (!example_case.checks_cards()) return;
  SequentialIdSource ids;
  RenderContext context{"example-patient", &ids, example_case.now};
  std::map<std::string, const Card*> by_rule;
  const std::vector<Card> cards = RenderCards(rule_set, result.evaluation, context);
  for (const Card& card : cards) by_rule[card.rule_id] = &card;
  auto check = [&](const std::map<std::string, std::vector<std::string>>& expected,
                   const char* what, bool want, auto text_of) {
    for (const auto& [id, texts] : expected) {
      auto it = by_rule.find(id);
      if (it == by_rule.end()) {
        if (want) result.problems.push_back(id + ": no card to check the " + what + " of");
        continue;
      }
      const std::string text = text_of(*it->second);
      for (const std::string& t : texts) {
        if ((text.find(t) != std::string::npos) != want) {
          result.problems.push_back(id + ": " + what +
                                    (want ? " does not contain '" : " contains '") + t + "'\n    " +
                                    text);
        }
      }
    }
  };
  check(example_case.summary_contains, "summary", true, [](const Card& c) { return c.summary; });
  check(example_case.detail_contains, "detail", true, [](const Card& c) { return c.detail; });
  check(example_case.detail_lacks, "detail", false, [](const Card& c) { return c.detail; });
  check(example_case.action_contains, "actions", true, [](const Card& c) {
    std::string all;
    for (const Suggestion& s : c.suggestions) {
      for (const Action& a : s.actions)
        all += s.label + " | " + a.type + " " + a.description + " " + a.resource_json + " " +
               a.resource_id + "\n";
    }
    return all;
  });
  result.passed = result.problems.empty();
}

}  // namespace cds::cards
