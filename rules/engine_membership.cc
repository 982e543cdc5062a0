// Value-set membership of a request's medications and conditions, cached per
// call: records that carry the same concept share one answer.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/text_hash.h"
#include "rules/engine_internal.h"
#include "rules/membership_cache.h"

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
  std::uint64_t seed = concepts.size();
  // Text and codes tell concepts apart well enough for a bucket; the long
  // system URIs and displays are left to SameConcepts.
  for (const fhir::CodeableConcept* c : concepts) {
    seed = MixText(seed, c->text);
    for (const fhir::Coding& coding : c->codings) seed = MixText(seed, coding.code);
  }
  return static_cast<std::size_t>(seed);
}

bool Evaluator::SameConcepts(const Concepts& a, const Concepts& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!SameConcept(*a[i], *b[i])) return false;
  }
  return true;
}

// Only the first record of each distinct concept is matched (one pass over
// its codes and tokens gives its membership of every set), or found in this
// thread's MembershipCache; the others share its row. Distinct concepts are found with an
// open-addressing table over the records (no allocation per record).
void Evaluator::BuildMembership(const std::vector<Concepts>& concepts, Membership& into) const {
  const std::size_t n = concepts.size();
  std::size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  const std::size_t mask = capacity - 1;
  std::vector<std::size_t> table(capacity, 0);  // record index + 1; 0 = empty
  std::vector<std::size_t> hashes(n);
  const std::size_t width = index_.set_count();
  into.row.resize(n);
  std::vector<std::uint8_t> members;
  std::vector<const fhir::CodeableConcept*> distinct;
  ConceptView view;  // refilled for each concept not found in the cache
  // Answers from earlier calls on this thread (membership_cache.h); not for
  // an index built for this call only.
  MembershipCache* cache = &index_ == &rs_.value_set_index && index_.id() != 0
                               ? &MembershipCache::ForThisThread(index_.id())
                               : nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    hashes[i] = HashConcepts(concepts[i]);
    std::size_t pos = hashes[i] & mask;
    std::size_t found = n;
    for (; table[pos] != 0; pos = (pos + 1) & mask) {
      const std::size_t j = table[pos] - 1;
      if (hashes[j] == hashes[i] && SameConcepts(concepts[i], concepts[j])) {
        found = j;
        break;
      }
    }
    if (found != n) {
      into.row[i] = into.row[found];
      continue;
    }
    table[pos] = i + 1;
    into.row[i] = into.members.size() / std::max<std::size_t>(width, 1);
    std::optional<std::span<const std::uint8_t>> known;
    if (cache != nullptr) known = cache->Find(hashes[i], concepts[i]);
    if (!known) {
      distinct.assign(concepts[i].begin(), concepts[i].end());
      FillConceptView(distinct, view);
      index_.Members(view, members);
      if (cache != nullptr) cache->Insert(hashes[i], concepts[i], members);
      known = members;
    }
    into.members.insert(into.members.end(), known->begin(), known->end());
  }
  into.built = true;
}

// The distinct concepts are asked first: a patient has far fewer of them than
// records, and most sets hold none of them (issue #18: walking every record
// for every set a rule asks about was a twelfth of a call).
const std::vector<std::size_t>& Evaluator::Membership::RecordsIn(int set, std::size_t width) {
  if (in_set.empty()) in_set.resize(width);
  auto& records = in_set[static_cast<std::size_t>(set)];
  if (!records) {
    records.emplace();
    const std::size_t rows = width == 0 ? 0 : members.size() / width;
    row_in_set.assign(rows, 0);
    bool any = false;
    for (std::size_t k = 0; k < rows; ++k) {
      row_in_set[k] = members[k * width + static_cast<std::size_t>(set)];
      any = any || row_in_set[k] != 0;
    }
    if (any) {
      for (std::size_t r = 0; r < row.size(); ++r) {
        if (row_in_set[row[r]] != 0) records->push_back(r);
      }
    }
  }
  return *records;
}

void Evaluator::BuildMedMembership() {
  // Each record's code and ingredients, back to back in one vector.
  std::vector<const fhir::CodeableConcept*> all;
  std::vector<std::size_t> starts;
  starts.reserve(facts_.medications.size() + 1);
  for (const fhir::MedicationFact& m : facts_.medications) {
    starts.push_back(all.size());
    all.push_back(&m.code);
    for (const auto& ing : m.ingredients) all.push_back(&ing);
  }
  starts.push_back(all.size());
  std::vector<Concepts> concepts;
  concepts.reserve(facts_.medications.size());
  for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
    concepts.emplace_back(all.data() + starts[i], starts[i + 1] - starts[i]);
  }
  BuildMembership(concepts, meds_);
}

bool Evaluator::MedInSet(int vs, std::size_t med) {
  if (!meds_.built) BuildMedMembership();
  return meds_.Has(med, vs, index_.set_count());
}

const std::vector<std::size_t>& Evaluator::MedsIn(int vs) {
  if (!meds_.built) BuildMedMembership();
  return meds_.RecordsIn(vs, index_.set_count());
}

void Evaluator::BuildCondMembership() {
  std::vector<const fhir::CodeableConcept*> all;
  all.reserve(facts_.conditions.size());
  for (const fhir::ConditionFact& c : facts_.conditions) all.push_back(&c.code);
  std::vector<Concepts> concepts;
  concepts.reserve(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) concepts.emplace_back(all.data() + i, 1);
  BuildMembership(concepts, conds_);
}

const std::vector<std::size_t>& Evaluator::CondsIn(int vs) {
  if (!conds_.built) BuildCondMembership();
  return conds_.RecordsIn(vs, index_.set_count());
}

const fhir::LabSelection& Evaluator::LabsOf(int analyte) {
  auto& slot = labs_[static_cast<std::size_t>(analyte)];
  if (!slot) {
    slot.emplace();
    slot->selection =
        fhir::SelectLabs(rs_.analytes[static_cast<std::size_t>(analyte)].spec, facts_.observations,
                         /*list_exclusions=*/explain_);
  }
  return slot->selection;
}

const fhir::LabValue& Evaluator::LatestLab(int analyte) {
  const fhir::LabSelection& selection = LabsOf(analyte);
  auto& latest = labs_[static_cast<std::size_t>(analyte)]->latest;
  if (!latest) {
    latest = fhir::DescribeLab(rs_.analytes[static_cast<std::size_t>(analyte)].spec,
                               selection.usable.front());
  }
  return *latest;
}

void Evaluator::AddName(Bound& bound, const std::string& name) {
  if (std::find(bound.names.begin(), bound.names.end(), name) == bound.names.end()) {
    bound.names.push_back(name);
  }
}

}  // namespace cds::rules::internal
