#pragma once

// Helpers for the fhir tests: parse JSON text, run Normalize on it, load
// fixtures from tests/data/fhir. Failures to parse fail the test immediately.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "common/json_document.h"
#include "fhir/fhir_time.h"
#include "fhir/normalize.h"
#include "fhir/patient_facts.h"

namespace cds::fhir::testing {

// The evaluation "now" used throughout the fhir tests.
inline EpochSeconds AsOf() { return ParseFhirDateTime("2026-11-22T12:00:00Z")->seconds; }

inline std::shared_ptr<const JsonDocument> ParseOrFail(const std::string& text) {
  auto doc = JsonDocument::Parse(text);
  BOOST_TEST_REQUIRE(doc.has_value(), (doc ? std::string() : doc.error().message));
  return *doc;
}

inline std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(CDS_TEST_DATA_DIR) + "/fhir/" + name, std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "missing fixture " << name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Normalizes JSON texts (each a Bundle or a bare resource).
inline PatientFacts NormalizeTexts(const std::vector<std::string>& texts,
                                   const NormalizeOptions& options = {},
                                   EpochSeconds as_of = AsOf()) {
  std::vector<std::shared_ptr<const JsonDocument>> docs;
  std::vector<FhirInput> inputs;
  for (const std::string& t : texts) {
    docs.push_back(ParseOrFail(t));
    inputs.push_back({FactCategory::kMedications, docs.back()->root()});
  }
  PatientFacts facts;
  Normalize(inputs, as_of, options, facts);
  return facts;
}

inline PatientFacts NormalizeText(const std::string& text, const NormalizeOptions& options = {}) {
  return NormalizeTexts({text}, options);
}

// Wraps resources (JSON object texts) in a searchset Bundle.
inline std::string Bundle(const std::vector<std::string>& resources) {
  std::string out = R"({"resourceType":"Bundle","type":"searchset","entry":[)";
  for (std::size_t i = 0; i < resources.size(); ++i) {
    if (i > 0) out += ",";
    out += R"({"resource":)" + resources[i] + "}";
  }
  return out + "]}";
}

}  // namespace cds::fhir::testing
