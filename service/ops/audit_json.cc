// JSON encoding of audit lines (service/ops/audit_log.h).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <string_view>

#include "common/json_write_internal.h"
#include "service/log/log_text.h"
#include "service/ops/audit_log.h"

namespace cds::service {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Issue #12: request-supplied values (hookInstance, JWT claims, prefetch
// keys) are made valid UTF-8 and capped.
void Field(JsonWriter& w, const char* name, std::string_view value) {
  json_internal::Field(w, name, LogText(value));
}

double RoundMs(double ms) { return std::round(ms * 10.0) / 10.0; }

}  // namespace

std::string WriteAuditLine(const AuditRecord& record) {
  static const RequestTrace kEmpty;
  const RequestTrace& trace = record.trace != nullptr ? *record.trace : kEmpty;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Field(w, "time", record.time);
  Field(w, "type", "cds_call");
  Field(w, "hookInstance", trace.hook_instance);
  // Issue #13: a call refused before routing (401, 413) still names the
  // service it was for.
  Field(w, "service", trace.service_id.empty() ? trace.requested_service : trace.service_id);
  Field(w, "hook", trace.hook);
  Field(w, "ruleset", trace.ruleset);
  json_internal::StringsField(w, "rulesFired", trace.rules_fired);
  w.Key("cards");
  w.StartArray();
  for (const TracedCard& card : trace.cards) {
    w.StartObject();
    Field(w, "uuid", card.uuid);
    Field(w, "rule", card.rule);
    Field(w, "indicator", card.indicator);
    w.EndObject();
  }
  w.EndArray();
  w.Key("status");
  w.Int(record.status);
  w.Key("durationMs");
  w.Double(RoundMs(record.duration_ms));
  w.Key("fhirQueries");
  w.StartArray();
  for (const TracedFhirQuery& query : trace.FhirQueries()) {
    w.StartObject();
    Field(w, "path", query.path);
    w.Key("status");
    w.Int(query.status);
    Field(w, "outcome", query.outcome);
    w.Key("ms");
    w.Double(RoundMs(query.seconds * 1000.0));
    w.EndObject();
  }
  w.EndArray();
  w.Key("prefetch");
  w.StartObject();
  for (const auto& [key, hit] : trace.prefetch) Field(w, key.c_str(), hit ? "hit" : "miss");
  w.EndObject();
  if (!trace.jwt_issuer.empty() || !trace.jwt_id.empty() || !trace.tenant.empty()) {
    w.Key("jwt");
    w.StartObject();
    if (!trace.jwt_issuer.empty()) Field(w, "iss", trace.jwt_issuer);
    if (!trace.jwt_id.empty()) Field(w, "jti", trace.jwt_id);
    if (!trace.tenant.empty()) Field(w, "tenant", trace.tenant);
    w.EndObject();
  }
  if (!record.patient_hash.empty()) {
    Field(w, "patient", record.patient_hash);
    Field(w, "patientKeyId", record.patient_key_id);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace cds::service
