// Parsing of the "store" config member and opening of the configured store
// (service/feedback/store_config.h).
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "common/json_internal.h"
#include "service/feedback/store_config.h"

namespace cds::service {
namespace {

Error Bad(std::string message) {
  return Error{ErrorCode::kRuleConfig, "config: " + std::move(message)};
}

Status Size(const rapidjson::Value& value, const std::string& path, std::uint64_t min,
            std::uint64_t max, std::size_t& out) {
  if (!value.IsUint64() || value.GetUint64() < min || value.GetUint64() > max) {
    return Bad("'" + path + "' must be an integer from " + std::to_string(min) + " to " +
               std::to_string(max));
  }
  out = static_cast<std::size_t>(value.GetUint64());
  return OkStatus();
}

}  // namespace

std::string DefaultDatabasePath() {
  if (const char* env = std::getenv("MAGCDS_DB"); env != nullptr && *env != '\0') return env;
  return "magcds.db";
}

Status ParseStoreConfig(JsonRef ref, StoreConfig& config) {
  const rapidjson::Value& value = json_internal::AsValue(ref);
  if (!value.IsObject()) return Bad("'store' must be an object");
  config.configured = true;
  for (const auto& member : value.GetObject()) {
    const std::string name(member.name.GetString(), member.name.GetStringLength());
    const std::string path = "store." + name;
    const rapidjson::Value& v = member.value;
    if (name == "engine" || name == "path" || name == "connection" || name == "connectionFile" ||
        name == "hashKeyFile") {
      if (!v.IsString() || v.GetStringLength() == 0) {
        return Bad("'" + path + "' must be a non-empty string");
      }
      std::string text(v.GetString(), v.GetStringLength());
      if (name == "engine") {
        if (text != "sqlite" && text != "postgres" && text != "off") {
          return Bad("'store.engine' must be \"sqlite\", \"postgres\" or \"off\"");
        }
        config.engine = std::move(text);
      } else {
        (name == "path"             ? config.path
         : name == "connection"     ? config.connection
         : name == "connectionFile" ? config.connection_file
                                    : config.hash_key_file) = std::move(text);
      }
    } else if (name == "poolSize") {
      if (Status s = Size(v, path, 1, 64, config.pool_size); !s) return s;
    } else if (name == "queueSize") {
      if (Status s = Size(v, path, 100, 1000000, config.queue_size); !s) return s;
    } else if (name == "retentionDays") {
      if (Status s = Size(v, path, 0, 36500, config.retention_days); !s) return s;
    } else if (name == "sharedReplayCache") {
      if (!v.IsBool()) return Bad("'" + path + "' must be true or false");
      config.shared_replay_cache = v.GetBool();
    } else {
      return Bad("unknown member '" + path + "'");
    }
  }
  if (config.engine == "postgres" && config.connection.empty() == config.connection_file.empty()) {
    return Bad(
        "'store' with engine \"postgres\" needs exactly one of 'connection' and "
        "'connectionFile'");
  }
  if (config.engine != "postgres" &&
      (!config.connection.empty() || !config.connection_file.empty())) {
    return Bad("'store.connection' and 'store.connectionFile' need engine \"postgres\"");
  }
  return OkStatus();
}

Result<std::unique_ptr<store::FeedbackStore>> OpenConfiguredStore(const StoreConfig& config) {
  if (config.engine == "off") return std::unique_ptr<store::FeedbackStore>();
  if (config.engine == "postgres") {
    store::PostgresOptions options;
    options.connection = config.connection;
    if (!config.connection_file.empty()) {
      std::ifstream in(config.connection_file);
      std::ostringstream text;
      text << in.rdbuf();
      if (!in) {
        return Error{ErrorCode::kRuleConfig,
                     "store: cannot read connectionFile " + config.connection_file};
      }
      options.connection = text.str();
      while (!options.connection.empty() &&
             (options.connection.back() == '\n' || options.connection.back() == '\r' ||
              options.connection.back() == ' ')) {
        options.connection.pop_back();
      }
    }
    options.pool_size = config.pool_size;
    return store::OpenPostgresStore(options);
  }
  store::SqliteOptions options;
  options.path = config.path.empty() ? DefaultDatabasePath() : config.path;
  return store::OpenSqliteStore(options);
}

}  // namespace cds::service
