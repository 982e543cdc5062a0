#pragma once

// Small text and time helpers that many tests need: one copy, here.

#include <chrono>
#include <string>

namespace cds::testing {

// `text` with every occurrence of `from` replaced by `to` (left to right, no
// re-scanning of what was inserted).
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to);

// tests/data/requests/patient-view-ppi-cramps.json (complete prefetch: MG-01
// fires) with its patient id "example" replaced by `patient_id`, so that a
// grep for that id in logs or stores cannot match anything else.
std::string SampleRequestForPatient(const std::string& patient_id);

// Whole milliseconds since `start` on the steady clock.
inline long long MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace cds::testing
