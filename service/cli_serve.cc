// magcds serve [--config FILE] [--listen HOST:PORT] [--rules PATH]
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "fhir/rest_fhir_client.h"

#include "service/cli.h"
#include "service/cli_common.h"
#include "service/config.h"
#include "service/http_adapter.h"
#include "service/log.h"

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
  const std::string listen = flags.Value("listen").value_or(
      config.listen.empty() ? std::string("127.0.0.1:8080") : config.listen);
  Result<std::pair<std::string, std::uint16_t>> address = ParseListen(listen);
  if (!address) {
    std::cerr << "magcds serve: " << address.error().message << "\n";
    return 2;
  }

  const std::string rules_path =
      RulesPath(flags.Value("rules") ? flags.Value("rules")
                                     : (config.rules.empty() ? std::nullopt
                                                             : std::optional(config.rules)));
  std::shared_ptr<const rules::RuleSet> rule_set = LoadRulesOrReport(rules_path);
  if (!rule_set) return 2;

  // Block the stop signals before any thread starts, so every thread inherits
  // the mask and only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
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
      LogEvent(get.status == 200 ? "info" : "warn", "fhir_get",
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
  }

  RuleSetHolder holder(rule_set);
  HookHandlerOptions options;
  options.clock = SystemNow;
  options.ids = RandomIds();
  options.fhir_client = fhir_client.get();
  options.gather = gather;
  const HookHandler handler(holder, std::move(options));

  ServerOptions server_options;
  server_options.host = address->first;
  server_options.port = address->second;
  server_options.threads = config.threads;
  server_options.max_body_bytes = config.max_body_bytes;
  HttpServer server(handler, server_options);
  if (Status started = server.Start(); !started) {
    LogEvent("error", "listen_failed", {{"listen", listen}, {"message", started.error().message}});
    return 1;
  }
  LogEvent("info", "listening", {{"listen", listen}, {"ruleset", rule_set->Label()}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  LogEvent("info", "stopping", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  if (!server.Stop()) {
    // The listener could not be closed in time; leave without running
    // destructors that might wait on it.
    std::fflush(stdout);
    std::_Exit(0);
  }
  LogEvent("info", "stopped");
  return 0;
}

}  // namespace cds::service
