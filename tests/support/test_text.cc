#include "tests/support/test_text.h"

#include "tests/support/child_process.h"

namespace cds::testing {

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string SampleRequestForPatient(const std::string& patient_id) {
  std::string body =
      ReadFile(std::string(CDS_TEST_DATA_DIR) + "/requests/patient-view-ppi-cramps.json");
  body = ReplaceAll(body, "\"example\"", "\"" + patient_id + "\"");
  return ReplaceAll(body, "Patient/example", "Patient/" + patient_id);
}

}  // namespace cds::testing
