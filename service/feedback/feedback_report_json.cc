// JSON form of the feedback report (`magcds report feedback --format json`).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json_write_internal.h"
#include "service/feedback/feedback_report_format.h"

namespace cds::service {

using json_internal::Field;

std::string WriteFeedbackReportJson(const std::vector<store::RuleFeedback>& rows,
                                    const ReportHeader& header) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  Field(w, "engine", header.engine);
  w.Key("since");
  if (header.since.empty()) {
    w.Null();
  } else {
    w.String(header.since);
  }
  w.Key("rules");
  w.StartArray();
  for (const store::RuleFeedback& row : rows) {
    w.StartObject();
    w.Key("rule");
    if (row.unmatched()) {
      w.Null();
    } else {
      w.String(row.rule_id);
    }
    w.Key("version");
    if (row.unmatched()) {
      w.Null();
    } else {
      w.String(row.rule_version);
    }
    w.Key("unmatched");
    w.Bool(row.unmatched());
    w.Key("cardsIssued");
    w.Int64(row.cards_issued);
    w.Key("feedback");
    w.Int64(row.feedback);
    w.Key("accepted");
    w.Int64(row.accepted);
    w.Key("overridden");
    w.Int64(row.overridden);
    w.Key("acceptanceRate");
    if (row.acceptance_rate) {
      w.Double(*row.acceptance_rate);
    } else {
      w.Null();
    }
    w.Key("suggestionsTaken");
    w.Int64(row.suggestions_taken);
    w.Key("overrideReasons");
    w.StartArray();
    for (const store::ReasonCount& reason : row.override_reasons) {
      w.StartObject();
      w.Key("code");
      if (reason.code.empty()) {
        w.Null();
      } else {
        w.String(reason.code);
      }
      Field(w, "display", reason.display);
      w.Key("count");
      w.Int64(reason.count);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace cds::service
