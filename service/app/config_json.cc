// Parsing of the service configuration (service/app/config.h).
#include <cstdint>
#include <string>
#include <utility>

#include "common/json_internal.h"
#include "fhir/fhir_url.h"
#include "service/app/config.h"

namespace cds::service {
namespace {

Error Bad(std::string message) {
  return Error{ErrorCode::kRuleConfig, "config: " + std::move(message)};
}

Result<std::size_t> PositiveSize(const rapidjson::Value& value, const std::string& path,
                                 std::uint64_t max) {
  if (!value.IsUint64() || value.GetUint64() == 0 || value.GetUint64() > max) {
    return Bad("'" + path + "' must be an integer from 1 to " + std::to_string(max));
  }
  return static_cast<std::size_t>(value.GetUint64());
}

Status ParseFhirConfig(const rapidjson::Value& value, FhirConfig& fhir) {
  if (!value.IsObject()) return Bad("'fhir' must be an object");
  for (const auto& member : value.GetObject()) {
    const std::string name(member.name.GetString(), member.name.GetStringLength());
    const std::string path = "fhir." + name;
    const rapidjson::Value& v = member.value;
    if (name == "allowedServers") {
      if (!v.IsArray()) return Bad("'" + path + "' must be an array of base URLs");
      fhir.allowed_servers.clear();
      for (const auto& server : v.GetArray()) {
        if (!server.IsString()) return Bad("'" + path + "' must be an array of base URLs");
        fhir.allowed_servers.emplace_back(server.GetString(), server.GetStringLength());
      }
    } else if (name == "allowHttpLoopback") {
      if (!v.IsBool()) return Bad("'" + path + "' must be true or false");
      fhir.allow_http_loopback = v.GetBool();
    } else if (name == "batch") {
      if (!v.IsBool()) return Bad("'" + path + "' must be true or false");
      fhir.batch = v.GetBool();
    } else if (name == "caFile") {
      if (!v.IsString() || v.GetStringLength() == 0) {
        return Bad("'" + path + "' must be a non-empty string");
      }
      fhir.ca_file.assign(v.GetString(), v.GetStringLength());
    } else {
      std::size_t* out = name == "deadlineMs"         ? &fhir.deadline_ms
                         : name == "maxPages"         ? &fhir.max_pages
                         : name == "maxEntries"       ? &fhir.max_entries
                         : name == "maxResponseBytes" ? &fhir.max_response_bytes
                                                      : nullptr;
      if (out == nullptr) return Bad("unknown member '" + path + "'");
      const std::uint64_t max = name == "deadlineMs"   ? 60000
                                : name == "maxPages"   ? 1000
                                : name == "maxEntries" ? 1000000
                                                       : 1ULL << 30;
      auto number = PositiveSize(v, path, max);
      if (!number) return number.error();
      *out = *number;
    }
  }
  // Checked here so that a bad entry stops startup with the entry named.
  auto policy = fhir::FhirServerPolicy::Create(fhir.allowed_servers, fhir.allow_http_loopback);
  if (!policy) return Bad("'fhir.allowedServers': " + policy.error().message);
  return OkStatus();
}

}  // namespace

Result<ServiceConfig> ParseServiceConfig(std::string_view json) {
  auto document = JsonDocument::Parse(json);
  if (!document) return Bad(document.error().message);
  const rapidjson::Value& root = json_internal::AsValue((*document)->root());
  if (!root.IsObject()) return Bad("the file must hold a JSON object");
  ServiceConfig config;
  for (const auto& member : root.GetObject()) {
    const std::string name(member.name.GetString(), member.name.GetStringLength());
    const rapidjson::Value& value = member.value;
    if (name == "listen" || name == "rules") {
      if (!value.IsString() || value.GetStringLength() == 0) {
        return Bad("'" + name + "' must be a non-empty string");
      }
      (name == "listen" ? config.listen : config.rules) =
          std::string(value.GetString(), value.GetStringLength());
    } else if (name == "threads") {
      auto threads = PositiveSize(value, "threads", 256);
      if (!threads) return threads.error();
      config.threads = *threads;
    } else if (name == "limits") {
      if (!value.IsObject()) return Bad("'limits' must be an object");
      // Issue #12: framing limits and timeouts of the HTTP server.
      struct Limit {
        const char* name;
        std::size_t* out;
        std::uint64_t max;
      };
      const Limit known[] = {
          {"maxBodyBytes", &config.max_body_bytes, 1ULL << 30},
          {"maxHeaderBytes", &config.max_header_bytes, 1ULL << 20},
          {"maxHeaders", &config.max_headers, 10000},
          {"maxConnections", &config.max_connections, 1000000},
          {"headerTimeoutMs", &config.header_timeout_ms, 3600000},
          {"bodyTimeoutMs", &config.body_timeout_ms, 3600000},
          {"idleTimeoutMs", &config.idle_timeout_ms, 3600000},
      };
      for (const auto& limit : value.GetObject()) {
        const std::string limit_name(limit.name.GetString(), limit.name.GetStringLength());
        const Limit* match = nullptr;
        for (const Limit& candidate : known) {
          if (limit_name == candidate.name) match = &candidate;
        }
        if (match == nullptr) return Bad("unknown member 'limits." + limit_name + "'");
        auto number = PositiveSize(limit.value, "limits." + limit_name, match->max);
        if (!number) return number.error();
        *match->out = *number;
      }
    } else if (name == "fhir") {
      if (Status fhir = ParseFhirConfig(value, config.fhir); !fhir) return fhir.error();
    } else if (IsOperationsMember(name)) {
      if (Status ops =
              ParseOperationsMember(name, json_internal::MakeRef(value), config.operations);
          !ops) {
        return ops.error();
      }
    } else if (name == "publicBaseUrl") {
      auto base = ParsePublicBaseUrl(json_internal::MakeRef(value));
      if (!base) return base.error();
      config.public_base_url = *base;
    } else if (name == "tls" || name == "auth" || name == "cors") {
      const JsonRef ref = json_internal::MakeRef(value);
      const Status security = name == "tls"    ? ParseTlsConfig(ref, config.tls)
                              : name == "auth" ? ParseAuthConfig(ref, config.auth)
                                               : ParseCorsConfig(ref, config.cors);
      if (!security) return security.error();
    } else if (name == "store") {
      if (Status store = ParseStoreConfig(json_internal::MakeRef(value), config.store); !store) {
        return store.error();
      }
    } else if (name == "$schema" || name == "description") {
      // Documentation members.
    } else {
      return Bad("unknown member '" + name + "'");
    }
  }
  if (Status security = CheckSecurityConfig(config.public_base_url, config.auth); !security) {
    return security.error();
  }
  return config;
}

}  // namespace cds::service
