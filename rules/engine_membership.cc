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

const ValueSetIndex& Evaluator::IndexOf(const RuleSet& rule_set,
                                        std::optional<ValueSetIndex>& own) {
  if (rule_set.value_set_index.set_count() == rule_set.value_sets.size()) {
    return rule_set.value_set_index;
  }
  // A rule set not made by the loader: index it for this call.
  own = ValueSetIndex::Build(rule_set.value_sets);
  return *own;
}

std::size_t Evaluator::HashConcepts(const Concepts& concepts) {
  const StringHash h;
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

// Only the first record of each distinct concept is matched (one pass over
// its codes and tokens gives its membership of every set); the others share
// its row.
void Evaluator::BuildMembership(const std::vector<Concepts>& concepts, Membership& into) const {
  // hash -> first index with that hash; `next` chains further distinct
  // concepts with the same hash (no per-bucket allocation).
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::unordered_map<std::size_t, std::size_t> head;
  head.reserve(concepts.size());
  std::vector<std::size_t> next(concepts.size(), kNone);
  const std::size_t width = index_.set_count();
  into.row.resize(concepts.size());
  std::vector<std::uint8_t> members;
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
    if (found != kNone) {
      into.row[i] = into.row[found];
      continue;
    }
    into.row[i] = into.members.size() / std::max<std::size_t>(width, 1);
    index_.Members(MakeConceptView(concepts[i]), members);
    into.members.insert(into.members.end(), members.begin(), members.end());
  }
  into.built = true;
}

bool Evaluator::MedInSet(int vs, std::size_t med) {
  if (!meds_.built) {
    std::vector<Concepts> concepts;
    concepts.reserve(facts_.medications.size());
    for (const fhir::MedicationFact& m : facts_.medications) {
      std::vector<const fhir::CodeableConcept*> c{&m.code};
      for (const auto& ing : m.ingredients) c.push_back(&ing);
      concepts.push_back(std::move(c));
    }
    BuildMembership(concepts, meds_);
  }
  return meds_.Has(med, vs, index_.set_count());
}

bool Evaluator::CondInSet(int vs, std::size_t cond) {
  if (!conds_.built) {
    std::vector<Concepts> concepts;
    concepts.reserve(facts_.conditions.size());
    for (const fhir::ConditionFact& c : facts_.conditions) concepts.push_back({&c.code});
    BuildMembership(concepts, conds_);
  }
  return conds_.Has(cond, vs, index_.set_count());
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
