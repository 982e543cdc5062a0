// Value-set membership of a request's medications and conditions, cached per
// call: records that carry the same concept share one answer.

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

std::size_t Evaluator::HashConcepts(const Concepts& concepts) {
  std::hash<std::string> h;
  std::size_t seed = concepts.size();
  auto mix = [&seed](std::size_t v) {
    seed ^= v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  };
  // Text and codes tell concepts apart well enough for a bucket; the long
  // system URIs and displays are left to SameConcepts.
  for (const fhir::CodeableConcept* c : concepts) {
    mix(h(c->text));
    for (const fhir::Coding& coding : c->codings) mix(h(coding.code));
  }
  return seed;
}

bool Evaluator::SameConcepts(const Concepts& a, const Concepts& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i]->text != b[i]->text || a[i]->codings.size() != b[i]->codings.size()) return false;
    for (std::size_t k = 0; k < a[i]->codings.size(); ++k) {
      const fhir::Coding& x = a[i]->codings[k];
      const fhir::Coding& y = b[i]->codings[k];
      if (x.code != y.code || x.system != y.system || x.display != y.display) return false;
    }
  }
  return true;
}

// Only the first record of each distinct concept gets a (tokenised) view;
// the others answer from its membership cache.
void Evaluator::BuildViews(const std::vector<Concepts>& concepts, std::vector<ConceptView>& views,
                           std::vector<std::size_t>& canonical) {
  // hash -> first index with that hash; `next` chains further distinct
  // concepts with the same hash (no per-bucket allocation).
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::unordered_map<std::size_t, std::size_t> head;
  head.reserve(concepts.size());
  std::vector<std::size_t> next(concepts.size(), kNone);
  views.resize(concepts.size());
  canonical.resize(concepts.size());
  for (std::size_t i = 0; i < concepts.size(); ++i) {
    auto [it, inserted] = head.emplace(HashConcepts(concepts[i]), i);
    std::size_t found = kNone;
    if (!inserted) {
      for (std::size_t j = it->second;; j = next[j]) {
        if (SameConcepts(concepts[i], concepts[j])) {
          found = j;
          break;
        }
        if (next[j] == kNone) {
          next[j] = i;  // a new distinct concept with the same hash
          break;
        }
      }
    }
    canonical[i] = found == kNone ? i : found;
    if (found == kNone) views[i] = MakeConceptView(concepts[i]);
  }
}

bool Evaluator::MedInSet(int vs, std::size_t med) {
  if (med_views_.empty() && !facts_.medications.empty()) {
    std::vector<Concepts> concepts;
    for (const fhir::MedicationFact& m : facts_.medications) {
      std::vector<const fhir::CodeableConcept*> c{&m.code};
      for (const auto& ing : m.ingredients) c.push_back(&ing);
      concepts.push_back(std::move(c));
    }
    BuildViews(concepts, med_views_, med_canonical_);
  }
  med = med_canonical_[med];
  auto& cache = med_member_[static_cast<std::size_t>(vs)];
  if (cache.empty()) cache.assign(facts_.medications.size(), -1);
  if (cache[med] < 0) {
    cache[med] =
        Matches(rs_.value_sets, vs, med_views_[med], [&](int sub) { return MedInSet(sub, med); })
            ? 1
            : 0;
  }
  return cache[med] == 1;
}

bool Evaluator::CondInSet(int vs, std::size_t cond) {
  if (cond_views_.empty() && !facts_.conditions.empty()) {
    std::vector<Concepts> concepts;
    for (const fhir::ConditionFact& c : facts_.conditions) concepts.push_back({&c.code});
    BuildViews(concepts, cond_views_, cond_canonical_);
  }
  cond = cond_canonical_[cond];
  auto& cache = cond_member_[static_cast<std::size_t>(vs)];
  if (cache.empty()) cache.assign(facts_.conditions.size(), -1);
  if (cache[cond] < 0) {
    cache[cond] = Matches(rs_.value_sets, vs, cond_views_[cond],
                          [&](int sub) { return CondInSet(sub, cond); })
                      ? 1
                      : 0;
  }
  return cache[cond] == 1;
}

const fhir::LabSeries& Evaluator::Labs(int analyte) {
  auto& slot = labs_[static_cast<std::size_t>(analyte)];
  if (!slot)
    slot = fhir::SelectLabResults(rs_.analytes[static_cast<std::size_t>(analyte)].spec,
                                  facts_.observations);
  return *slot;
}

void Evaluator::AddName(Bound& bound, const std::string& name) {
  if (std::find(bound.names.begin(), bound.names.end(), name) == bound.names.end()) {
    bound.names.push_back(name);
  }
}

}  // namespace cds::rules::internal
