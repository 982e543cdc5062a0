// JSON of the operational endpoints (service/ops/ops_handler.h).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>

#include "common/json_write_internal.h"
#include "service/ops/ops_handler.h"

namespace cds::service {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

using json_internal::Field;

}  // namespace

std::string WriteReadiness(const Readiness& readiness) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Field(w, "status", readiness.status);
  w.Key("ruleset");
  if (readiness.ruleset.empty()) {
    w.Null();
  } else {
    w.String(readiness.ruleset.c_str());
  }
  if (readiness.has_reload_status) {
    const ReloadStatus& reload = readiness.reload;
    w.Key("lastReload");
    w.StartObject();
    Field(w, "outcome", OutcomeName(reload.outcome));
    if (!reload.time.empty()) Field(w, "time", reload.time);
    if (!reload.trigger.empty()) Field(w, "trigger", reload.trigger);
    w.Key("errors");
    w.StartArray();
    for (const rules::RuleIssue& issue : reload.errors) {
      w.StartObject();
      Field(w, "file", issue.file);
      w.Key("line");
      w.Int(issue.line);
      Field(w, "rule", issue.rule_id);
      Field(w, "field", issue.field);
      Field(w, "message", issue.message);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.Key("reloads");
    w.StartObject();
    w.Key("success");
    w.Uint64(reload.successes);
    w.Key("failure");
    w.Uint64(reload.failures);
    w.EndObject();
  }
  w.Key("fhir");
  w.StartObject();
  w.Key("allowlistConfigured");
  w.Bool(readiness.fhir_servers > 0);
  w.Key("servers");
  w.Uint64(readiness.fhir_servers);
  w.EndObject();
  w.Key("inFlight");
  w.Uint64(readiness.in_flight);
  w.Key("audit");
  w.StartObject();
  Field(w, "state", !readiness.audit_on ? "off" : readiness.audit.healthy ? "ok" : "failing");
  if (readiness.audit_on) {
    w.Key("written");
    w.Uint64(readiness.audit.written);
    w.Key("lost");
    w.Uint64(readiness.audit.lost);
    if (!readiness.audit.last_error.empty()) Field(w, "lastError", readiness.audit.last_error);
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace cds::service
