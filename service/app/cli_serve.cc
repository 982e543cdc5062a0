// magcds serve [--config FILE] [--listen HOST:PORT] [--rules PATH]
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fhir/batch_capability.h"
#include "fhir/rest_fhir_client.h"
#include "service/app/allocator_tuning.h"
#include "service/app/cli.h"
#include "service/app/cli_common.h"
#include "service/app/cli_security.h"
#include "service/app/config.h"
#include "service/app/cpus_available.h"
#include "service/app/demo_patients.h"
#include "service/app/feedback_store_parts.h"
#include "service/auth/security_gate.h"
#include "service/http/http_adapter.h"
#include "service/log/log.h"
#include "service/ops/audit_log.h"
#include "service/ops/drain_gate.h"
#include "service/ops/graceful_shutdown.h"
#include "service/ops/instrumented_handler.h"
#include "service/ops/metrics.h"
#include "service/ops/ops_handler.h"
#include "service/ops/rule_set_reloader.h"

namespace cds::service {

int RunServe(const CliArgs& args) {
  FlagParser flags({"config", "listen", "rules"}, {});
  if (Status parsed = flags.Parse(args); !parsed) {
    std::cerr << "magcds serve: " << parsed.error().message << "\n"
              << "usage: magcds serve [--config FILE] [--listen HOST:PORT] [--rules PATH]\n";
    return 2;
  }

  ServiceConfig config;
  if (const auto path = flags.Value("config")) {
    Result<std::string> text = ReadTextFile(*path);
    if (!text) {
      std::cerr << "magcds serve: " << text.error().message << "\n";
      return 2;
    }
    Result<ServiceConfig> loaded = ParseServiceConfig(*text);
    if (!loaded) {
      std::cerr << "magcds serve: " << *path << ": " << loaded.error().message << "\n";
      return 2;
    }
    config = std::move(loaded).value();
  }
  // One event loop per CPU: more loops than CPUs time-slice, and a loop
  // waiting for the CPU holds up every connection it owns (issue #18: p99
  // under wrk -c64 on 2 CPUs 14 ms with 4 loops, 9.5 ms with 2).
  if (config.threads == 0) config.threads = CpusAvailable();
  TuneAllocatorForThreads(config.threads);
  const std::string listen = flags.Value("listen").value_or(
      config.listen.empty() ? std::string("127.0.0.1:8080") : config.listen);
  Result<std::pair<std::string, std::uint16_t>> address = ParseListen(listen);
  if (!address) {
    std::cerr << "magcds serve: " << address.error().message << "\n";
    return 2;
  }

  const std::string rules_path = RulesPath(
      flags.Value("rules") ? flags.Value("rules")
                           : (config.rules.empty() ? std::nullopt : std::optional(config.rules)));
  std::shared_ptr<const rules::RuleSet> rule_set = LoadRulesOrReport(rules_path);
  if (!rule_set) return 2;

  // Issue #8: operational settings (ops port, audit trail, log level, reload, grace).
  const OperationsConfig& ops_config = config.operations;
  SetLogLevel(ops_config.log_level);
  std::optional<std::pair<std::string, std::uint16_t>> ops_address;
  if (!ops_config.ops_listen.empty()) {
    Result<std::pair<std::string, std::uint16_t>> parsed_ops = ParseListen(ops_config.ops_listen);
    if (!parsed_ops) {
      std::cerr << "magcds serve: ops.listen: " << parsed_ops.error().message << "\n";
      return 2;
    }
    ops_address = *parsed_ops;
  }
  std::unique_ptr<AuditLog> audit;
  if (!ops_config.audit_path.empty()) {
    Result<PatientHasher> hasher = LoadPatientHasher(ops_config.audit_hash_key_file);
    if (!hasher) {
      std::cerr << "magcds serve: " << hasher.error().message << "\n";
      return 2;
    }
    Result<std::unique_ptr<AuditLog>> opened = AuditLog::Open(ops_config.audit_path, *hasher);
    if (!opened) {
      std::cerr << "magcds serve: " << opened.error().message << "\n";
      return 2;
    }
    audit = std::move(opened).value();
  }

  // Block the stop and reload signals before any thread starts, so every
  // thread inherits the mask and only sigwait below sees them (no handler runs
  // asynchronously; SIGHUP is turned into a request to the reloader's thread).
  // Issue #12: a log reader (or any peer) that goes away must not kill the
  // process: writes to it fail with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // FHIR fetching for keys missing from prefetch (issue #4), only to the
  // configured bases (issue #6). The client outlives the handler and server.
  std::unique_ptr<fhir::RestFhirClient> fhir_client;
  fhir::GatherOptions gather;
  if (!config.fhir.allowed_servers.empty()) {
    Result<fhir::FhirServerPolicy> policy = fhir::FhirServerPolicy::Create(
        config.fhir.allowed_servers, config.fhir.allow_http_loopback);
    if (!policy) {
      std::cerr << "magcds serve: " << policy.error().message << "\n";
      return 2;
    }
    gather.servers = *policy;
    gather.deadline = std::chrono::milliseconds(config.fhir.deadline_ms);
    gather.max_pages = config.fhir.max_pages;
    gather.max_entries = config.fhir.max_entries;
    fhir::RestFhirClientOptions client_options;
    client_options.policy = *policy;
    client_options.ca_file = config.fhir.ca_file;
    client_options.max_body_bytes = config.fhir.max_response_bytes;
    client_options.log = [](const fhir::FhirGetLog& get) {
      // The path is the prefetch template (no patient id); never the token.
      // Successful GETs are debug-level: one line (and flush) per query is
      // hot-path cost, and the audit trail records every query anyway.
      LogEvent(get.status == 200 ? "debug" : "warn", "fhir_get",
               {{"path", get.log_path},
                {"origin", get.origin},
                {"status", std::to_string(get.status)},
                {"ms", std::to_string(get.elapsed_ms)},
                {"attempts", std::to_string(get.attempts)},
                {"error", get.error}});
    };
    Result<std::unique_ptr<fhir::RestFhirClient>> created =
        fhir::RestFhirClient::Create(std::move(client_options));
    if (!created) {
      std::cerr << "magcds serve: " << created.error().message << "\n";
      return 2;
    }
    fhir_client = std::move(created).value();
    // Issue #18: one batch per call to servers that declare batch.
    if (config.fhir.batch)
      gather.batch = std::make_shared<fhir::BatchCapability>(fhir_client.get());
  }

  Metrics metrics;
  metrics.SetActiveRuleSet(rule_set->id, rule_set->version);
  RuleSetHolder holder(rule_set);
  ReloaderOptions reloader_options;
  reloader_options.path = rules_path;
  reloader_options.poll_interval = std::chrono::milliseconds(ops_config.reload_poll_ms);
  reloader_options.metrics = &metrics;
  RuleSetReloader reloader(holder, reloader_options);

  // Issue #16: card feedback kept and counted (SQLite by default, PostgreSQL
  // at scale); writes are queued, never on the response path.
  Result<FeedbackStoreParts> feedback_store = BuildFeedbackStoreParts(config, metrics);
  if (!feedback_store) {
    std::cerr << "magcds serve: " << feedback_store.error().message << "\n";
    return 2;
  }

  HookHandlerOptions options;
  // Embedded defaults only (no config file, no FHIR servers): a request that
  // names no fhirServer is answered from the ruleset's example patients, so
  // the service can be tried without an EHR. Never active in a configured
  // deployment.
  std::unique_ptr<fhir::DemoFhirClient> demo_client;
  if (!flags.Value("config") && config.fhir.allowed_servers.empty()) {
    demo_client = LoadDemoPatients(rules_path);
    if (demo_client) {
      gather.demo_client = demo_client.get();
      std::string ids;
      for (const std::string& id : demo_client->PatientIds()) ids += (ids.empty() ? "" : ",") + id;
      LogEvent(
          "info", "demo_patients",
          {{"patients", ids},
           {"note", "embedded defaults: requests without fhirServer use these example patients"}});
    }
  }
  options.clock = SystemNow;
  options.ids = RandomIds();
  options.fhir_client = fhir_client.get();
  options.gather = gather;
  options.feedback_sink = feedback_store->feedback_sink();
  const HookHandler handler(holder, std::move(options));

  // Issue #6: JWT client authentication and CORS in front of the CDS endpoints.
  Result<SecurityParts> security = BuildSecurityParts(
      config,
      [&metrics](const AuthOutcome& outcome) {
        if (!outcome.ok()) metrics.CountAuthFailure(AuthFailureName(*outcome.failure));
      },
      feedback_store->replay.get());
  if (!security) {
    std::cerr << "magcds serve: " << security.error().message << "\n";
    return 2;
  }
  const SecurityGate secure_handler(handler, security->authenticator.get(), security->cors.get());

  // The front of each port: routing, drain gate, metrics, audit, request logs.
  DrainGate gate;
  OpsHandlerOptions ops_options;
  ops_options.rule_sets = &holder;
  ops_options.reloader = &reloader;
  ops_options.metrics = &metrics;
  ops_options.gate = &gate;
  ops_options.fhir_servers = config.fhir.allowed_servers.size();
  ops_options.audit = audit.get();
  const OpsHandler ops_handler(ops_options);
  InstrumentedHandlerOptions front_options;
  front_options.cds = &secure_handler;
  front_options.ops = ops_address ? nullptr : &ops_handler;
  front_options.metrics = &metrics;
  front_options.audit = audit.get();
  front_options.gate = &gate;
  const InstrumentedHandler front(front_options);
  InstrumentedHandlerOptions ops_front_options;
  ops_front_options.ops = &ops_handler;
  ops_front_options.metrics = &metrics;
  const InstrumentedHandler ops_front(ops_front_options);

  // close() of an idle listener is quick; one that takes longer is hung.
  constexpr std::chrono::milliseconds kCloseTimeout{500};
  ServerOptions server_options;
  server_options.host = address->first;
  server_options.port = address->second;
  server_options.threads = config.threads;
  server_options.max_body_bytes = config.max_body_bytes;
  server_options.max_header_bytes = config.max_header_bytes;
  server_options.max_headers = config.max_headers;
  server_options.max_connections = config.max_connections;
  server_options.header_timeout = std::chrono::milliseconds(config.header_timeout_ms);
  server_options.body_timeout = std::chrono::milliseconds(config.body_timeout_ms);
  server_options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  server_options.stop_timeout = kCloseTimeout;
  server_options.tls_cert_file = config.tls.cert_file;  // issue #6: HTTPS when set
  server_options.tls_key_file = config.tls.key_file;
  server_options.decorate = [&secure_handler](const HttpRequestView& request,
                                              HttpResponseView& response) {
    secure_handler.Decorate(request, response);
  };
  server_options.on_refused = [&front](const HttpRequestView& request, int status, double seconds) {
    front.RecordRefused(request, status, seconds);
  };
  HttpServer server(front, server_options);
  if (Status started = server.Start(); !started) {
    LogEvent("error", "listen_failed", {{"listen", listen}, {"message", started.error().message}});
    return 1;
  }
  std::unique_ptr<HttpServer> ops_server;
  if (ops_address) {
    ServerOptions ops_server_options = server_options;
    ops_server_options.host = ops_address->first;
    ops_server_options.port = ops_address->second;
    ops_server_options.on_refused = [&ops_front](const HttpRequestView& request, int status,
                                                 double seconds) {
      ops_front.RecordRefused(request, status, seconds);
    };
    ops_server = std::make_unique<HttpServer>(ops_front, ops_server_options);
    if (Status started = ops_server->Start(); !started) {
      LogEvent("error", "listen_failed",
               {{"listen", ops_config.ops_listen}, {"message", started.error().message}});
      server.Stop();
      return 1;
    }
  }
  reloader.Start();
  LogEvent("info", "listening",
           {{"listen", listen},
            {"opsListen", ops_address ? ops_config.ops_listen : listen},
            {"ruleset", rule_set->Label()},
            {"threads", std::to_string(config.threads)},  // event loops (CPUs by default)
            {"audit", audit ? "on" : "off"}});

  int signal_number = 0;
  for (;;) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // SIGHUP (systemd ExecReload, kill -HUP): reload the rules off this
    // thread; reopen the audit file after log rotation.
    LogEvent("info", "reload_requested", {{"signal", "SIGHUP"}});
    reloader.RequestReload();
    if (audit) {
      if (Status reopened = audit->Reopen(); !reopened) {
        LogEvent("error", "audit_reopen_failed", {{"message", reopened.error().message}});
      }
    }
  }
  // Turn new requests away first (503): stopping the reloader may take a moment.
  gate.StartDraining();
  LogEvent("info", "stopping", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  reloader.Stop();
  std::vector<StopListener> listeners = {[&server] { return server.Stop(); }};
  if (ops_server) listeners.emplace_back([&ops_server] { return ops_server->Stop(); });
  GracefulShutdown(gate, listeners, std::chrono::milliseconds(ops_config.shutdown_grace_ms));
  // Issue #12: explicit teardown order. The listeners are closed and every
  // request answered (drained or aborted with 503); now cancel the outgoing
  // clients, whose callbacks reach the handler, the security gate, CORS,
  // metrics and the audit trail, and wait for running callbacks. Only then do
  // the handlers go out of scope (in reverse order of declaration).
  if (security->jwks_client) security->jwks_client->Shutdown();
  if (fhir_client) fhir_client->Shutdown();
  // What the last requests queued is written before exit (bounded).
  feedback_store->Stop(std::chrono::seconds(5));
  FlushLogs(std::chrono::milliseconds(1000));
  return 0;
}

}  // namespace cds::service
