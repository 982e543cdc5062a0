#pragma once

// The three printed forms of the feedback report (`magcds report feedback`):
// an aligned table for people, CSV for spreadsheets, JSON for tools.
// Override reasons are "code (display) xN" ranked most frequent first;
// overrides without a reason are "(no reason) xN". Feedback for cards this
// store never saw issued (e.g. issued before the store existed) is one row
// marked unmatched.

#include <string>
#include <vector>

#include "service/store/feedback_report.h"

namespace cds::service {

struct ReportHeader {
  std::string engine;  // "sqlite" | "postgres"
  std::string since;   // ISO date-time, "" = all time
};

std::string WriteFeedbackReportTable(const std::vector<store::RuleFeedback>& rows,
                                     const ReportHeader& header);
std::string WriteFeedbackReportCsv(const std::vector<store::RuleFeedback>& rows);
std::string WriteFeedbackReportJson(const std::vector<store::RuleFeedback>& rows,
                                    const ReportHeader& header);

}  // namespace cds::service
