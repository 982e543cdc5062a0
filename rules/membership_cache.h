#pragma once

// Value-set membership of concepts already seen, kept per thread across
// calls (issue #18). A concept's membership of every set depends only on the
// concept (its codings and text) and the rule set's ValueSetIndex, and the
// same drugs and diagnoses come back patient after patient: matching one
// costs ~8 k instructions (tokens, code keys, index lookups), finding it here
// a hash and a comparison. Entries are keyed by the index's id, which a new
// index (a reload) never shares, so an answer never outlives the value sets it
// came from. Each thread keeps the two indexes it used last (the running rule
// set, and a staged one being backtested or explained), at most kMaxEntries
// concepts each (then that index's entries are dropped and it fills again).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "fhir/patient_facts.h"

namespace cds::rules {

// Whether two concepts have the same value-set membership for certain: the
// same text and the same codings (system, code, display) in the same order.
// The per-call membership table and the cache both tell concepts apart by it.
bool SameConcept(const fhir::CodeableConcept& a, const fhir::CodeableConcept& b);

class MembershipCache {
 public:
  using Concepts = std::span<const fhir::CodeableConcept* const>;
  static constexpr std::size_t kMaxEntries = 2048;

  // This thread's cache for the index with `index_id` (not 0).
  static MembershipCache& ForThisThread(std::uint64_t index_id);
  // Drops everything this thread remembers (benchmarks measure the cold path).
  static void ForgetThisThread();

  // The memberships stored for a concept equal to `concepts` (same codings —
  // system, code, display — and text, in order), valid until the next Insert
  // or ForgetThisThread; nullopt if none.
  std::optional<std::span<const std::uint8_t>> Find(std::size_t hash, Concepts concepts) const;
  void Insert(std::size_t hash, Concepts concepts, std::span<const std::uint8_t> members);

  std::size_t size() const { return entries_.size(); }

 private:
  // The concepts' text and codings, then the memberships, in one string: one
  // allocation per entry where a copy of the concepts made one per string
  // (issue #18: a cold call spent more in malloc and free than in matching).
  struct Entry {
    std::string bytes;
    std::size_t key_size = 0;  // bytes[0, key_size) the concepts, the rest the memberships
  };
  std::uint64_t index_id_ = 0;
  std::unordered_multimap<std::size_t, Entry> entries_;
};

}  // namespace cds::rules
