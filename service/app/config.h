#pragma once

// ServiceConfig: what `magcds serve --config FILE` reads. A JSON object:
//   {"listen": "127.0.0.1:8080", "rules": "rules/sets/magnesium/1.1.0",
//    "threads": 4, "limits": {"maxBodyBytes": 1048576, "maxHeaderBytes": 32768,
//                             "maxHeaders": 100, "maxConnections": 1024,
//                             "headerTimeoutMs": 10000, "bodyTimeoutMs": 30000,
//                             "idleTimeoutMs": 60000},
//    "fhir": {"allowedServers": ["https://ehr.example/fhir"], "allowHttpLoopback": false,
//             "deadlineMs": 300, "maxPages": 10, "maxEntries": 5000,
//             "maxResponseBytes": 16777216, "caFile": "/etc/magcds/fhir-ca.pem",
//             "batch": true}}
// Every member is optional; command-line flags override the file. Unknown
// members and bad values are errors (a typo must not silently weaken a limit).
// The security members (publicBaseUrl, tls, auth, cors) are described in
// service/auth/security_config.h.
// The operational members (ops, audit, log, reload, shutdownGraceSeconds) are
// described in service/ops/ops_config.h. The feedback store (store) is described
// in service/feedback/store_config.h.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "service/auth/security_config.h"
#include "service/feedback/store_config.h"
#include "service/ops/ops_config.h"

namespace cds::service {

// FHIR fetching for keys missing from prefetch (fhir/data_gatherer.h). No
// allowedServers: prefetch only, fhirServer is never contacted. Entries must be
// https base URLs, or http on a loopback host with allowHttpLoopback (dev only).
struct FhirConfig {
  std::vector<std::string> allowed_servers;
  bool allow_http_loopback = false;
  std::size_t deadline_ms = 300;   // total per hook request (checklist F-5: ~500 ms budget)
  std::size_t max_pages = 10;      // per prefetch key
  std::size_t max_entries = 5000;  // per prefetch key
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  std::string ca_file;  // extra CA (PEM) for the FHIR servers' TLS; "" = system roots
  // Issue #18: one FHIR batch per request to servers that declare batch
  // (fhir::GatherOptions::batch); false: one GET per query, always.
  bool batch = true;
};

struct ServiceConfig {
  std::string listen;  // "HOST:PORT"; "" = default
  std::string rules;   // rule set directory; "" = default
  // HTTP I/O threads, each an event loop of its own (service/http/http_adapter.h).
  // 0 (the default): one per CPU the process may run on.
  std::size_t threads = 0;
  std::size_t max_body_bytes = 1024 * 1024;
  // Issue #12: HTTP framing limits and timeouts ("limits" in the config file;
  // README "Security").
  std::size_t max_header_bytes = 32 * 1024;
  std::size_t max_headers = 100;
  std::size_t max_connections = 1024;
  std::size_t header_timeout_ms = 10000;
  std::size_t body_timeout_ms = 30000;
  std::size_t idle_timeout_ms = 60000;
  FhirConfig fhir;
  // ops, audit, log, reload, shutdownGraceSeconds (service/ops/ops_config.h).
  OperationsConfig operations;
  // publicBaseUrl, tls, auth, cors (service/auth/security_config.h; issue #6).
  std::string public_base_url;  // without a trailing slash; "" = not set
  TlsConfig tls;
  AuthConfig auth;
  CorsConfig cors;
  // store (service/feedback/store_config.h; issue #16).
  StoreConfig store;
};

// kRuleConfig with a message naming the member when the text is not a valid config.
Result<ServiceConfig> ParseServiceConfig(std::string_view json);

}  // namespace cds::service
