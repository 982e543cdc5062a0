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
// The one statement of that layout: `count(n)` and `text(s)` are called for
// the fields in order, until one returns false (Insert sizes and writes a
// key with it, Find compares one).
template <typename Count, typename Text>
bool ForEachKeyField(MembershipCache::Concepts concepts, Count&& count, Text&& text) {
  if (!count(concepts.size())) return false;
  for (const fhir::CodeableConcept* c : concepts) {
    if (!text(c->text) || !count(c->codings.size())) return false;
    for (const fhir::Coding& coding : c->codings) {
      if (!text(coding.code) || !text(coding.system) || !text(coding.display)) return false;
    }
  }
  return true;
}

// Whether `key` is the key of `concepts`. Each count is compared before what
// it counts is read, so a different list stops before the end of a shorter key.
bool SameKey(std::string_view key, MembershipCache::Concepts concepts) {
  std::size_t at = 0;
  const auto count = [&](std::size_t n) {
    std::size_t stored = 0;
    std::memcpy(&stored, key.data() + at, sizeof stored);
    at += sizeof stored;
    return stored == n;
  };
  const auto text = [&](std::string_view s) {
    if (!count(s.size()) || !SameBytes(key.substr(at, s.size()), s)) return false;
    at += s.size();
    return true;
  };
  return ForEachKeyField(concepts, count, text) && at == key.size();
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
  std::size_t size = members.size();
  const auto size_count = [&](std::size_t) {
    size += sizeof(std::size_t);
    return true;
  };
  const auto size_text = [&](std::string_view s) {
    size += sizeof(std::size_t) + s.size();
    return true;
  };
  ForEachKeyField(concepts, size_count, size_text);
  entry.bytes.reserve(size);
  const auto put_count = [&](std::size_t n) {
    entry.bytes.append(reinterpret_cast<const char*>(&n), sizeof n);
    return true;
  };
  const auto put_text = [&](std::string_view s) {
    put_count(s.size());
    entry.bytes.append(s);
    return true;
  };
  ForEachKeyField(concepts, put_count, put_text);
  entry.key_size = entry.bytes.size();
  entry.bytes.append(reinterpret_cast<const char*>(members.data()), members.size());
  entries_.emplace(hash, std::move(entry));
}

}  // namespace cds::rules
