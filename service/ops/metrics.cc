#include "service/ops/metrics.h"

#include <cstdio>
#include <utility>

#include "service/log/log.h"

namespace cds::service {
namespace {

enum FamilyIndex : std::size_t {
  kRequests,
  kRequestDuration,
  kInFlight,
  kCards,
  kFhirQueries,
  kFhirDuration,
  kPrefetch,
  kAuthFailures,
  kReloads,
  kLastReloadOk,
  kActiveRuleSet,
  kAuditFailures,
  kDropped,
  kFeedbackReceived,
  kFeedback,
  kFamilyCount
};

using Labels = std::vector<std::string>;

const std::vector<double> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

std::string Bucket(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

// Prometheus text format: label values escape \, " and newline.
std::string Escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LabelText(const Labels& names, const Labels& values, const std::string& extra = "") {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!out.empty()) out += ',';
    out += names[i] + "=\"" + Escape(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? out : "{" + out + "}";
}

}  // namespace

struct Metrics::Family {
  enum class Type { kCounter, kGauge, kHistogram };
  struct Histogram {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative
    double sum = 0;
    std::uint64_t count = 0;
  };

  std::string name;
  std::string help;
  Type type = Type::kCounter;
  Labels label_names;
  std::map<Labels, double> values;         // counters and gauges
  std::map<Labels, Histogram> histograms;  // histograms

  void Add(const Labels& labels, double delta) { values[labels] += delta; }
  void Observe(const Labels& labels, double seconds) {
    Histogram& h = histograms[labels];
    if (h.counts.empty()) h.counts.assign(kLatencyBuckets.size(), 0);
    for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
      if (seconds <= kLatencyBuckets[b]) {
        ++h.counts[b];
        break;
      }
    }
    h.sum += seconds;
    ++h.count;
  }

  void Render(std::string& out) const {
    out += "# HELP " + name + " " + help + "\n";
    out += "# TYPE " + name + " " +
           (type == Type::kCounter ? "counter"
            : type == Type::kGauge ? "gauge"
                                   : "histogram") +
           "\n";
    for (const auto& [labels, value] : values) {
      out += name + LabelText(label_names, labels) + " " + Number(value) + "\n";
    }
    for (const auto& [labels, h] : histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
        cumulative += h.counts[b];
        out += name + "_bucket" +
               LabelText(label_names, labels, "le=\"" + Bucket(kLatencyBuckets[b]) + "\"") + " " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + LabelText(label_names, labels, "le=\"+Inf\"") + " " +
             std::to_string(h.count) + "\n";
      out += name + "_sum" + LabelText(label_names, labels) + " " + Number(h.sum) + "\n";
      out +=
          name + "_count" + LabelText(label_names, labels) + " " + std::to_string(h.count) + "\n";
    }
  }
};

Metrics::Metrics() {
  using Type = Family::Type;
  auto add = [this](std::string name, std::string help, Type type, Labels labels) {
    auto family = std::make_unique<Family>();
    family->name = "magcds_" + std::move(name);
    family->help = std::move(help);
    family->type = type;
    family->label_names = std::move(labels);
    families_.push_back(std::move(family));
  };
  // Order must match FamilyIndex.
  add("http_requests_total", "HTTP requests answered, by endpoint, CDS service and status.",
      Type::kCounter, {"endpoint", "service", "status"});
  add("http_request_duration_seconds", "Time from request to response, by endpoint.",
      Type::kHistogram, {"endpoint"});
  add("http_requests_in_flight", "CDS requests being handled now.", Type::kGauge, {});
  add("cards_total", "Cards returned, by rule id and indicator.", Type::kCounter,
      {"rule", "indicator"});
  add("fhir_queries_total", "FHIR queries made for missing prefetch data, by outcome.",
      Type::kCounter, {"outcome"});
  add("fhir_query_duration_seconds", "Time until a FHIR query was answered or given up.",
      Type::kHistogram, {});
  add("prefetch_keys_total",
      "Prefetch keys of service calls: hit = supplied usable by the EHR, miss = absent, "
      "unusable or incomplete.",
      Type::kCounter, {"key", "result"});
  add("auth_failures_total", "Requests refused by client authentication, by reason.",
      Type::kCounter, {"reason"});
  add("rules_reloads_total", "Rule set reloads, by outcome.", Type::kCounter, {"outcome"});
  add("rules_last_reload_success",
      "1 if the last rule set reload succeeded (or none was tried), 0 if it failed.", Type::kGauge,
      {});
  add("ruleset_active", "The rule set in force (value 1), by id and version.", Type::kGauge,
      {"ruleset", "version"});
  add("audit_write_failures_total", "Audit records that could not be written.", Type::kCounter, {});
  add("dropped_total",
      "Things dropped rather than used or waited for (issue #12): FHIR resources for another "
      "patient, log lines the log reader could not take.",
      Type::kCounter, {"what"});
  add("feedback_received_total", "Feedback items received, by CDS service and outcome.",
      Type::kCounter, {"service", "outcome"});
  add("feedback_total",
      "Card feedback items stored, by the issuing rule (unmatched: card not known) and outcome.",
      Type::kCounter, {"rule", "outcome"});
  // Series that exist from the start, so rates and alerts work before the
  // first event.
  for (const char* outcome : {"success", "failure"}) families_[kReloads]->Add({outcome}, 0);
  for (const char* outcome : {"ok", "http_error", "timeout", "network_error"}) {
    families_[kFhirQueries]->Add({outcome}, 0);
  }
  families_[kInFlight]->Add({}, 0);
  families_[kLastReloadOk]->Add({}, 1);
  families_[kAuditFailures]->Add({}, 0);
  for (const char* what : {"foreign_resource", "log_line"}) families_[kDropped]->Add({what}, 0);
}

Metrics::~Metrics() = default;

Metrics::Family& Metrics::Get(std::size_t index) const { return *families_[index]; }

void Metrics::CountRequest(std::string_view endpoint, std::string_view service, int status,
                           double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kRequests).Add({std::string(endpoint), std::string(service), std::to_string(status)}, 1);
  Get(kRequestDuration).Observe({std::string(endpoint)}, seconds);
}

void Metrics::AddInFlight(int delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kInFlight).Add({}, delta);
}

void Metrics::CountCard(std::string_view rule_id, std::string_view indicator) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kCards).Add({std::string(rule_id), std::string(indicator)}, 1);
}

void Metrics::CountFhirQuery(std::string_view outcome, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kFhirQueries).Add({std::string(outcome)}, 1);
  Get(kFhirDuration).Observe({}, seconds);
}

void Metrics::CountPrefetch(std::string_view key, bool hit) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kPrefetch).Add({std::string(key), hit ? "hit" : "miss"}, 1);
}

void Metrics::CountAuthFailure(std::string_view reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kAuthFailures).Add({std::string(reason.empty() ? "unspecified" : reason)}, 1);
}

void Metrics::CountFeedbackReceived(std::string_view service, std::string_view outcome, int items) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kFeedbackReceived).Add({std::string(service), std::string(outcome)}, items);
}

void Metrics::CountReload(bool success) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kReloads).Add({success ? "success" : "failure"}, 1);
  Get(kLastReloadOk).values[{}] = success ? 1 : 0;
}

void Metrics::SetActiveRuleSet(std::string_view id, std::string_view version) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& family = Get(kActiveRuleSet);
  family.values.clear();
  family.values[{std::string(id), std::string(version)}] = 1;
}

void Metrics::CountAuditWriteFailure() {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kAuditFailures).Add({}, 1);
}

void Metrics::CountDropped(std::string_view what, std::size_t n) {
  if (n == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kDropped).Add({std::string(what)}, static_cast<double>(n));
}

void Metrics::CountFeedback(std::string_view rule_id, std::string_view outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  Get(kFeedback).Add(
      {rule_id.empty() ? std::string("unmatched") : std::string(rule_id), std::string(outcome)}, 1);
}

void Metrics::AddCollector(std::function<void(std::string&)> collector) {
  std::lock_guard<std::mutex> lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::RenderPrometheus() const {
  std::string out;
  std::vector<std::function<void(std::string&)>> collectors;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Get(kDropped).values[{"log_line"}] = static_cast<double>(LogLinesDropped());
    for (const auto& family : families_) family->Render(out);
    collectors = collectors_;
  }
  for (const auto& collector : collectors) collector(out);
  return out;
}

}  // namespace cds::service
