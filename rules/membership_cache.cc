#include "rules/membership_cache.h"

#include <array>

#include "common/same_bytes.h"

namespace cds::rules {

bool SameConcept(const fhir::CodeableConcept& a, const fhir::CodeableConcept& b) {
  if (a.codings.size() != b.codings.size() || !SameBytes(a.text, b.text)) return false;
  for (std::size_t k = 0; k < a.codings.size(); ++k) {
    const fhir::Coding& x = a.codings[k];
    const fhir::Coding& y = b.codings[k];
    if (!SameBytes(x.code, y.code) || !SameBytes(x.system, y.system) ||
        !SameBytes(x.display, y.display)) {
      return false;
    }
  }
  return true;
}

namespace {

bool Same(MembershipCache::Concepts a, const std::vector<fhir::CodeableConcept>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!SameConcept(*a[i], b[i])) return false;
  }
  return true;
}

// Two slots, most recently used first.
thread_local std::array<MembershipCache, 2> t_slots;
}  // namespace

void MembershipCache::ForgetThisThread() {
  for (MembershipCache& slot : t_slots) {
    slot.entries_.clear();
    slot.index_id_ = 0;
  }
}

MembershipCache& MembershipCache::ForThisThread(std::uint64_t index_id) {
  auto& slots = t_slots;
  if (slots[0].index_id_ == index_id) return slots[0];
  std::swap(slots[0], slots[1]);
  if (slots[0].index_id_ != index_id) {
    slots[0].entries_.clear();
    slots[0].index_id_ = index_id;
  }
  return slots[0];
}

const std::vector<std::uint8_t>* MembershipCache::Find(std::size_t hash, Concepts concepts) const {
  auto [first, last] = entries_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    if (Same(concepts, it->second.concepts)) return &it->second.members;
  }
  return nullptr;
}

void MembershipCache::Insert(std::size_t hash, Concepts concepts,
                             const std::vector<std::uint8_t>& members) {
  if (entries_.size() >= kMaxEntries) entries_.clear();
  Entry entry;
  entry.concepts.reserve(concepts.size());
  for (const fhir::CodeableConcept* c : concepts) entry.concepts.push_back(*c);
  entry.members = members;
  entries_.emplace(hash, std::move(entry));
}

}  // namespace cds::rules
