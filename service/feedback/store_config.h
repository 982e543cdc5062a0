#pragma once

// The "store" member of the service configuration (issue #16): where card
// feedback and the issued-card index are kept.
//   "store": {
//     "engine": "sqlite",                 sqlite (default) | postgres | off
//     "path": "/var/lib/magcds/magcds.db", sqlite file; default $MAGCDS_DB, else ./magcds.db
//     "connection": "postgresql://magcds@db:5432/magcds",   postgres (or:)
//     "connectionFile": "/run/secrets/magcds-db/connection", file holding it (a Secret)
//     "poolSize": 4,                      postgres connections at most (1..64)
//     "queueSize": 10000,                 cards/feedback items waiting to be written (100..1e6)
//     "retentionDays": 365,               issued cards and feedback older than this are
//                                         purged (0 = kept forever)
//     "hashKeyFile": "/etc/magcds/audit-hash.key",  key of the patient-id hash; default
//                                         the audit's hashKeyFile, else $MAGCDS_AUDIT_HASH_KEY;
//                                         with no key the patient is not recorded at all
//     "sharedReplayCache": true           postgres: JWT jti replay cache shared by replicas
//   }
// Without a "store" member (and with no config at all) the store is SQLite at
// the default path, the same one `magcds report feedback` reads.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/json_document.h"
#include "common/result.h"
#include "service/store/feedback_store.h"

namespace cds::service {

struct StoreConfig {
  std::string engine = "sqlite";
  std::string path;  // "" = DefaultDatabasePath()
  std::string connection;
  std::string connection_file;
  std::size_t pool_size = 4;
  std::size_t queue_size = 10000;
  std::size_t retention_days = 0;
  std::string hash_key_file;
  bool shared_replay_cache = true;
  // True when the config has a "store" member. Without one, a default store
  // that cannot be opened (e.g. a read-only working directory) is logged and
  // the service runs without it; a configured one that fails stops startup.
  bool configured = false;
};

// $MAGCDS_DB when set and not empty, else "magcds.db" (the working directory).
std::string DefaultDatabasePath();

// Parses the "store" object into `config`; kRuleConfig naming the member.
Status ParseStoreConfig(JsonRef value, StoreConfig& config);

// Opens the configured engine (reading connectionFile when given); null with
// engine "off". kRuleConfig when it cannot be opened; the message never holds
// the connection string.
Result<std::unique_ptr<store::FeedbackStore>> OpenConfiguredStore(const StoreConfig& config);

}  // namespace cds::service
