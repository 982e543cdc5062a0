// libFuzzer target: the FHIR resource normaliser (fhir/normalize.h). The first
// byte picks the category the input is read as; the rest is the JSON (a
// Bundle or a single resource). Normalize must never crash or throw on any
// input that parses as JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/json_document.h"
#include "fhir/normalize.h"
#include "fhir/patient_facts.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto category =
      static_cast<cds::fhir::FactCategory>(data[0] % cds::fhir::kFactCategoryCount);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto document = cds::JsonDocument::Parse(text);
  if (!document) return 0;
  std::vector<cds::fhir::FhirInput> inputs = {{category, (*document)->root()}};
  cds::fhir::PatientFacts facts;
  facts.patient_id = "p1";
  cds::fhir::NormalizeOptions options;
  options.count_proposal_intent = (data[0] & 0x10) != 0;
  options.count_on_hold_statements = (data[0] & 0x20) != 0;
  // 2026-11-22T12:00:00Z
  cds::fhir::Normalize(inputs, 1795348800, options, facts);
  return 0;
}
