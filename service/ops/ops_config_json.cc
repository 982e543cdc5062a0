// Parsing of the operational config members (service/ops/ops_config.h).
#include <cmath>
#include <string>
#include <utility>

#include "common/json_internal.h"
#include "service/ops/ops_config.h"

namespace cds::service {
namespace {

Error Bad(std::string message) {
  return Error{ErrorCode::kRuleConfig, "config: " + std::move(message)};
}

Result<std::string> NonEmptyString(const rapidjson::Value& value, const std::string& path) {
  if (!value.IsString() || value.GetStringLength() == 0) {
    return Bad("'" + path + "' must be a non-empty string");
  }
  return std::string(value.GetString(), value.GetStringLength());
}

// Seconds (a JSON number) as milliseconds within [min_s, max_s].
Result<std::size_t> Seconds(const rapidjson::Value& value, const std::string& path, double min_s,
                            double max_s) {
  if (!value.IsNumber() || !(value.GetDouble() >= min_s) || !(value.GetDouble() <= max_s)) {
    return Bad("'" + path + "' must be a number of seconds from " + std::to_string(min_s) + " to " +
               std::to_string(max_s));
  }
  return static_cast<std::size_t>(std::llround(value.GetDouble() * 1000.0));
}

template <class Fn>
Status EachMember(const rapidjson::Value& value, const std::string& object, Fn fn) {
  if (!value.IsObject()) return Bad("'" + object + "' must be an object");
  for (const auto& member : value.GetObject()) {
    const std::string name(member.name.GetString(), member.name.GetStringLength());
    if (Status status = fn(name, object + "." + name, member.value); !status) return status;
  }
  return OkStatus();
}

}  // namespace

bool IsOperationsMember(std::string_view name) {
  return name == "ops" || name == "audit" || name == "log" || name == "reload" ||
         name == "shutdownGraceSeconds";
}

Status ParseOperationsMember(std::string_view name, JsonRef ref, OperationsConfig& config) {
  const rapidjson::Value& value = json_internal::AsValue(ref);
  if (name == "shutdownGraceSeconds") {
    auto ms = Seconds(value, "shutdownGraceSeconds", 0.1, 300);
    if (!ms) return ms.error();
    config.shutdown_grace_ms = *ms;
    return OkStatus();
  }
  if (name == "ops") {
    return EachMember(value, "ops",
                      [&](const std::string& member, const std::string& path,
                          const rapidjson::Value& v) -> Status {
                        if (member != "listen") return Bad("unknown member '" + path + "'");
                        auto text = NonEmptyString(v, path);
                        if (!text) return text.error();
                        config.ops_listen = *text;
                        return OkStatus();
                      });
  }
  if (name == "audit") {
    return EachMember(value, "audit",
                      [&](const std::string& member, const std::string& path,
                          const rapidjson::Value& v) -> Status {
                        if (member != "path" && member != "hashKeyFile") {
                          return Bad("unknown member '" + path + "'");
                        }
                        auto text = NonEmptyString(v, path);
                        if (!text) return text.error();
                        (member == "path" ? config.audit_path : config.audit_hash_key_file) = *text;
                        return OkStatus();
                      });
  }
  if (name == "log") {
    return EachMember(
        value, "log",
        [&](const std::string& member, const std::string& path,
            const rapidjson::Value& v) -> Status {
          if (member != "level") return Bad("unknown member '" + path + "'");
          auto text = NonEmptyString(v, path);
          if (!text) return text.error();
          if (*text != "debug" && *text != "info" && *text != "warn" && *text != "error") {
            return Bad("'" + path + "' must be one of debug, info, warn, error");
          }
          config.log_level = *text;
          return OkStatus();
        });
  }
  if (name == "reload") {
    return EachMember(value, "reload",
                      [&](const std::string& member, const std::string& path,
                          const rapidjson::Value& v) -> Status {
                        if (member != "pollSeconds") return Bad("unknown member '" + path + "'");
                        if (v.IsNumber() && v.GetDouble() == 0) {
                          config.reload_poll_ms = 0;
                          return OkStatus();
                        }
                        auto ms = Seconds(v, path, 0.1, 3600);
                        if (!ms) return ms.error();
                        config.reload_poll_ms = *ms;
                        return OkStatus();
                      });
  }
  return Bad("unknown member '" + std::string(name) + "'");
}

}  // namespace cds::service
