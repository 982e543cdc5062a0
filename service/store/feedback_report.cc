#include "service/store/feedback_report.h"

#include <algorithm>
#include <map>
#include <utility>

namespace cds::service::store {

std::vector<RuleFeedback> BuildFeedbackReport(const ReportCounts& counts) {
  std::map<std::pair<std::string, std::string>, RuleFeedback> rows;
  auto row = [&rows](const std::string& rule_id, const std::string& version) -> RuleFeedback& {
    RuleFeedback& entry = rows[{rule_id, version}];
    entry.rule_id = rule_id;
    entry.rule_version = version;
    return entry;
  };
  for (const IssuedCount& issued : counts.issued) {
    row(issued.rule_id, issued.rule_version).cards_issued += issued.cards;
  }
  std::map<std::pair<std::string, std::string>, std::map<std::string, ReasonCount>> reasons;
  for (const FeedbackCount& item : counts.feedback) {
    RuleFeedback& entry = row(item.rule_id, item.rule_version);
    entry.feedback += item.items;
    entry.suggestions_taken += item.suggestions;
    if (item.outcome == "accepted") {
      entry.accepted += item.items;
    } else if (item.outcome == "overridden") {
      entry.overridden += item.items;
      ReasonCount& reason = reasons[{item.rule_id, item.rule_version}][item.override_code];
      if (reason.code.empty() && reason.display.empty()) {
        reason.code = item.override_code;
        reason.display = item.override_display;
      }
      reason.count += item.items;
    }
  }
  std::vector<RuleFeedback> out;
  for (auto& [key, entry] : rows) {
    if (entry.accepted + entry.overridden > 0) {
      entry.acceptance_rate = static_cast<double>(entry.accepted) /
                              static_cast<double>(entry.accepted + entry.overridden);
    }
    for (auto& [code, reason] : reasons[key]) entry.override_reasons.push_back(reason);
    std::stable_sort(entry.override_reasons.begin(), entry.override_reasons.end(),
                     [](const ReasonCount& a, const ReasonCount& b) { return a.count > b.count; });
    out.push_back(std::move(entry));
  }
  // std::map put "" (unmatched) first; the governance rows read better without it on top.
  std::stable_partition(out.begin(), out.end(),
                        [](const RuleFeedback& r) { return !r.unmatched(); });
  return out;
}

}  // namespace cds::service::store
