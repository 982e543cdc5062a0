// §5.2: "The same drug reported by a request and a statement -> one medication
// for rule purposes; earliest start date wins for duration."

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

#include "fhir/medication_internal.h"

namespace cds::fhir::internal {
namespace {

bool ShareCoding(const CodeableConcept& a, const CodeableConcept& b) {
  for (const Coding& x : a.codings) {
    if (x.system.empty() || x.code.empty()) continue;
    for (const Coding& y : b.codings) {
      if (x.system == y.system && x.code == y.code) return true;
    }
  }
  return false;
}

bool SameDrug(const MedicationFact& a, const std::string& a_name, const MedicationFact& b,
              const std::string& b_name) {
  return ShareCoding(a.code, b.code) || (!a_name.empty() && a_name == b_name);
}

std::size_t Root(std::vector<std::size_t>& parent, std::size_t i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

}  // namespace

std::vector<MedicationFact> MergeCurrentMedications(std::vector<MedicationFact> medications) {
  const std::size_t n = medications.size();
  std::vector<std::string> names(n);
  for (std::size_t i = 0; i < n; ++i) names[i] = NormalizedName(medications[i].name);

  // Union-find, so "same drug" is transitive (A~B by code, B~C by name).
  // The lower index is always the root: the first source stays the fact's ref.
  std::vector<std::size_t> parent(n);
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  for (std::size_t i = 0; i < n; ++i) {
    if (!medications[i].current) continue;
    for (std::size_t j = i + 1; j < n; ++j) {
      if (!medications[j].current) continue;
      if (!SameDrug(medications[i], names[i], medications[j], names[j])) continue;
      const std::size_t ri = Root(parent, i);
      const std::size_t rj = Root(parent, j);
      if (ri != rj) parent[std::max(ri, rj)] = std::min(ri, rj);
    }
  }

  std::vector<MedicationFact> out;
  std::vector<std::size_t> slot(n, n);  // root index -> position in `out`
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t r = Root(parent, i);
    if (r == i) {
      slot[i] = out.size();
      out.push_back(std::move(medications[i]));
      continue;
    }
    MedicationFact& into = out[slot[r]];
    MedicationFact& from = medications[i];
    into.merged_refs.push_back(from.ref);
    for (std::string& m : from.merged_refs) into.merged_refs.push_back(std::move(m));
    if (from.start && (!into.start || from.start->seconds < into.start->seconds)) {
      into.start = from.start;
    }
    if (into.route == Route::kUnknown) into.route = from.route;
    into.as_needed = into.as_needed && from.as_needed;
    if (into.name.empty()) into.name = from.name;
    if (into.ingredients.empty()) into.ingredients = std::move(from.ingredients);
    for (std::string& p : from.prior_refs) into.prior_refs.push_back(std::move(p));
  }
  return out;
}

void ExtendThroughCompletedChains(std::vector<MedicationFact>& medications, int gap_days) {
  const EpochSeconds gap = static_cast<EpochSeconds>(gap_days) * kSecondsPerDay;
  for (MedicationFact& current : medications) {
    if (!current.current) continue;
    const std::string name = NormalizedName(current.name);
    std::vector<bool> used(medications.size(), false);
    bool extended = true;
    while (extended) {
      extended = false;
      for (std::size_t i = 0; i < medications.size(); ++i) {
        const MedicationFact& earlier = medications[i];
        if (used[i] || earlier.current || earlier.status != "completed") continue;
        const bool named = std::find(current.prior_refs.begin(), current.prior_refs.end(),
                                     earlier.ref) != current.prior_refs.end();
        const bool adjacent = current.start && earlier.end && earlier.start &&
                              earlier.start->seconds <= current.start->seconds &&
                              *earlier.end + gap >= current.start->seconds &&
                              SameDrug(current, name, earlier, NormalizedName(earlier.name));
        if (!named && !adjacent) continue;
        used[i] = true;
        extended = true;
        current.chained_refs.push_back(earlier.ref);
        current.prior_refs.insert(current.prior_refs.end(), earlier.prior_refs.begin(),
                                  earlier.prior_refs.end());
        if (earlier.start && (!current.start || earlier.start->seconds < current.start->seconds)) {
          current.start = earlier.start;
        }
      }
    }
  }
}

}  // namespace cds::fhir::internal
