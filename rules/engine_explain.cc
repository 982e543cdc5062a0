// Explain mode: what each predicate asks, in words (never evaluated data).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/engine_internal.h"

namespace cds::rules::internal {

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const char* ComparisonText(Comparison c) {
  switch (c) {
    case Comparison::kBelow:
      return "<";
    case Comparison::kAtOrBelow:
      return "<=";
    case Comparison::kAbove:
      return ">";
    case Comparison::kAtOrAbove:
      return ">=";
    case Comparison::kBetween:
      return "between";
    case Comparison::kNone:
      break;
  }
  return "";
}

std::string Evaluator::Describe(const Predicate& p) const {
  std::string d;
  switch (p.kind) {
    case PredicateKind::kAll:
      d = "all of";
      break;
    case PredicateKind::kAny:
      d = "any of";
      break;
    case PredicateKind::kNot:
      d = "not";
      break;
    case PredicateKind::kMedication:
      d = std::string(p.source == MedicationSource::kCurrent    ? "current"
                      : p.source == MedicationSource::kProposed ? "proposed"
                                                                : "current or proposed") +
          " medication in '" + rs_.value_sets[static_cast<std::size_t>(p.value_set)].id + "'";
      if (p.min_days) d += " for at least " + Number(*p.min_days) + " days";
      if (p.start_unknown) d += " with no start date";
      if (p.recent_days) d += " (or ordered within " + Number(*p.recent_days) + " days)";
      break;
    case PredicateKind::kCondition:
      d = "active condition in '" + rs_.value_sets[static_cast<std::size_t>(p.value_set)].id + "'";
      if (p.include_unconfirmed) d += " (unconfirmed counts)";
      if (p.condition_within_days)
        d += " dated within " + Number(*p.condition_within_days) + " days";
      break;
    case PredicateKind::kLab:
    case PredicateKind::kNoLab: {
      const Analyte& a = rs_.analytes[static_cast<std::size_t>(p.analyte)];
      d = (p.kind == PredicateKind::kNoLab ? "no usable " : "latest usable ") + a.title;
      if (p.within_days > 0) d += " within " + Number(p.within_days) + " days";
      if (!p.bands.empty()) {
        d += " in band";
        for (const auto& b : p.bands) d += " " + b;
      }
      if (p.comparison == Comparison::kBetween) {
        d += " between " + Number(p.threshold) + " and " + Number(p.threshold_high) + " " +
             a.spec.canonical_unit;
      } else if (p.comparison != Comparison::kNone) {
        d += std::string(" ") + ComparisonText(p.comparison) + " " + Number(p.threshold) + " " +
             a.spec.canonical_unit;
      }
      break;
    }
    case PredicateKind::kFact:
      d = p.category + " fact in '" + rs_.value_sets[static_cast<std::size_t>(p.value_set)].id +
          "'";
      break;
    case PredicateKind::kDraftOrder:
      d = "draft order in '" + rs_.value_sets[static_cast<std::size_t>(p.value_set)].id + "'";
      break;
    case PredicateKind::kPatient:
      d = p.deceased ? "patient deceased"
                     : "patient aged at least " + Number(p.min_age_years.value_or(0)) + " years";
      break;
    case PredicateKind::kRuleFires: {
      d = "any of these rules fires:";
      for (int r : p.rules) d += " " + rs_.rules[static_cast<std::size_t>(r)].id;
      break;
    }
  }
  if (!p.label.empty()) d += " [" + p.label + "]";
  return d;
}

}  // namespace cds::rules::internal
