#include "rules/ruleset.h"

namespace cds::rules {

const char* IndicatorName(Indicator indicator) {
  switch (indicator) {
    case Indicator::kInfo:
      return "info";
    case Indicator::kWarning:
      return "warning";
    case Indicator::kCritical:
      return "critical";
  }
  return "info";
}

const char* TruthName(Truth truth) {
  switch (truth) {
    case Truth::kFalse:
      return "false";
    case Truth::kTrue:
      return "true";
    case Truth::kUnknown:
      return "unknown";
  }
  return "unknown";
}

const ServiceDefinition* RuleSet::FindService(std::string_view service_id) const {
  for (const ServiceDefinition& service : services) {
    if (service.id == service_id) return &service;
  }
  return nullptr;
}

int RuleSet::FindRule(std::string_view rule_id) const {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].id == rule_id) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace cds::rules
