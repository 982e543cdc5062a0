#pragma once

// Where card and suggestion uuids come from. Injected so rendering stays
// deterministic under test (style §4.1).

#include <string>

namespace cds::cards {

class IdSource {
 public:
  virtual ~IdSource() = default;
  virtual std::string NewUuid() = 0;  // lower-case RFC 4122 text form
};

// Version-7 uuids (RFC 9562 section 5.7: Unix time in milliseconds, then
// random bits from OpenSSL's CSPRNG, RFC 9562 section 6.9), strictly increasing
// within the process (thread-safe). Time order matters for the governance
// store (issue #18): issued cards are keyed by uuid, and random (version-4)
// keys spread every batch of inserts over the whole index, about one page
// written per card; ordered keys append to its last pages.
class RandomIdSource : public IdSource {
 public:
  std::string NewUuid() override;
};

// "00000000-0000-4000-8000-000000000001", ...002, ... (tests, --now runs).
class SequentialIdSource : public IdSource {
 public:
  std::string NewUuid() override;

 private:
  unsigned long long next_ = 1;
};

}  // namespace cds::cards
