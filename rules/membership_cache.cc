#include "rules/membership_cache.h"

#include <array>
#include <cstring>
#include <string>
#include <string_view>

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

// An entry's key: the number of concepts, then for each its text, the number
// of codings and each coding's code, system and display; every count and
// length as a size_t before its bytes, so no two concept lists share a key.
void PutSize(std::string& out, std::size_t n) {
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
}

void PutText(std::string& out, std::string_view text) {
  PutSize(out, text.size());
  out.append(text);
}

// Whether the count at `at` is `n`; moves `at` past it.
bool TakeSize(std::string_view key, std::size_t& at, std::size_t n) {
  std::size_t stored = 0;
  std::memcpy(&stored, key.data() + at, sizeof stored);
  at += sizeof stored;
  return stored == n;
}

// Whether the text at `at` is `text`; moves `at` past it.
bool TakeText(std::string_view key, std::size_t& at, std::string_view text) {
  if (!TakeSize(key, at, text.size()) || !SameBytes(key.substr(at, text.size()), text)) {
    return false;
  }
  at += text.size();
  return true;
}

// Reads the key as written by Insert; each count is compared before what it
// counts is read, so a different list stops before the end of a shorter key.
bool SameKey(std::string_view key, MembershipCache::Concepts concepts) {
  std::size_t at = 0;
  if (!TakeSize(key, at, concepts.size())) return false;
  for (const fhir::CodeableConcept* c : concepts) {
    if (!TakeText(key, at, c->text) || !TakeSize(key, at, c->codings.size())) return false;
    for (const fhir::Coding& coding : c->codings) {
      if (!TakeText(key, at, coding.code) || !TakeText(key, at, coding.system) ||
          !TakeText(key, at, coding.display)) {
        return false;
      }
    }
  }
  return at == key.size();
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

std::optional<std::span<const std::uint8_t>> MembershipCache::Find(std::size_t hash,
                                                                   Concepts concepts) const {
  auto [first, last] = entries_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    const Entry& entry = it->second;
    const std::string_view bytes = entry.bytes;
    if (SameKey(bytes.substr(0, entry.key_size), concepts)) {
      return std::span<const std::uint8_t>(
          reinterpret_cast<const std::uint8_t*>(bytes.data()) + entry.key_size,
          bytes.size() - entry.key_size);
    }
  }
  return std::nullopt;
}

void MembershipCache::Insert(std::size_t hash, Concepts concepts,
                             std::span<const std::uint8_t> members) {
  if (entries_.size() >= kMaxEntries) entries_.clear();
  Entry entry;
  std::size_t size = sizeof(std::size_t) + members.size();
  for (const fhir::CodeableConcept* c : concepts) {
    size += 2 * sizeof(std::size_t) + c->text.size();
    for (const fhir::Coding& coding : c->codings) {
      size += 3 * sizeof(std::size_t) + coding.code.size() + coding.system.size() +
              coding.display.size();
    }
  }
  entry.bytes.reserve(size);
  PutSize(entry.bytes, concepts.size());
  for (const fhir::CodeableConcept* c : concepts) {
    PutText(entry.bytes, c->text);
    PutSize(entry.bytes, c->codings.size());
    for (const fhir::Coding& coding : c->codings) {
      PutText(entry.bytes, coding.code);
      PutText(entry.bytes, coding.system);
      PutText(entry.bytes, coding.display);
    }
  }
  entry.key_size = entry.bytes.size();
  entry.bytes.append(reinterpret_cast<const char*>(members.data()), members.size());
  entries_.emplace(hash, std::move(entry));
}

}  // namespace cds::rules
