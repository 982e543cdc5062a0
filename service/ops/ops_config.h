#pragma once

// The operational members of the service configuration (issue #8 / #5), kept
// apart from the request-path ones in config.h:
//   "ops":    {"listen": "0.0.0.0:9090"}         /healthz, /readyz, /metrics on their own
//                                                 address; absent = on the CDS port
//   "audit":  {"path": "/var/log/magcds/audit.jsonl",
//              "hashKeyFile": "/etc/magcds/audit-hash.key"}
//                                                 audit trail; without hashKeyFile the key
//                                                 comes from $MAGCDS_AUDIT_HASH_KEY
//   "log":    {"level": "info"}                  debug | info | warn | error
//   "reload": {"pollSeconds": 2}                 watch the rules files; 0 = SIGHUP only
//   "shutdownGraceSeconds": 10                   in-flight requests get this long on
//                                                 SIGTERM/SIGINT (0.1 .. 300)
// Unknown members and bad values are errors, as everywhere in the config.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/json_document.h"
#include "common/result.h"

namespace cds::service {

struct OperationsConfig {
  std::string ops_listen;           // "" = serve them on the CDS port
  std::string audit_path;           // "" = no audit trail
  std::string audit_hash_key_file;  // "" = $MAGCDS_AUDIT_HASH_KEY
  std::string log_level = "info";
  std::size_t reload_poll_ms = 2000;  // 0 = no watching
  std::size_t shutdown_grace_ms = 10000;
};

// True if `name` is a top-level config member that OperationsConfig owns.
bool IsOperationsMember(std::string_view name);

// Parses one such member into `config`; kRuleConfig naming the member if bad.
// `value` is the member's JSON value (common/json_internal.h MakeRef).
Status ParseOperationsMember(std::string_view name, JsonRef value, OperationsConfig& config);

}  // namespace cds::service
