// Golden tests (style §4.8): every tests/data/hooks/<service>/<case>/ holds a
// request.json and an expected_response.json (and optionally `status`, the
// expected HTTP status when it is not 200, and `now`, an ISO-8601 instant
// replacing the default fixed clock). Each request runs through HookHandler
// without sockets, with a fixed clock and SequentialIdSource; responses are
// compared after canonical ordering.
//
// To (re)write the expected files after an intended change, run with
// CDS_UPDATE_GOLDEN=1 and review the diff.

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tests/service/handler_test_util.h"
#include "tests/support/canonical_json.h"

namespace cds::service {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

std::vector<fs::path> CaseDirs() {
  std::vector<fs::path> cases;
  const fs::path root = fs::path(CDS_TEST_DATA_DIR) / "hooks";
  for (const auto& service : fs::directory_iterator(root)) {
    if (!service.is_directory()) continue;
    for (const auto& c : fs::directory_iterator(service.path())) {
      if (fs::exists(c.path() / "request.json")) cases.push_back(c.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

BOOST_AUTO_TEST_SUITE(Golden)

BOOST_AUTO_TEST_CASE(hook_requests_match_expected_responses) {
  const bool update = std::getenv("CDS_UPDATE_GOLDEN") != nullptr;
  RuleSetHolder holder(testing::LoadShippedRules());
  const std::vector<fs::path> cases = CaseDirs();
  BOOST_TEST(cases.size() >= 4u);
  for (const fs::path& dir : cases) {
    BOOST_TEST_CONTEXT("case " << dir.parent_path().filename().string() << "/"
                               << dir.filename().string()) {
      fhir::EpochSeconds now = testing::GoldenNow();
      if (fs::exists(dir / "now")) {
        const auto parsed = fhir::ParseFhirDateTime(Trimmed(ReadFile(dir / "now")));
        BOOST_REQUIRE(parsed.has_value());
        now = parsed->seconds;
      }
      const HookHandler handler(holder, testing::FixedOptions(now));
      const int expected_status =
          fs::exists(dir / "status") ? std::stoi(ReadFile(dir / "status")) : 200;
      const std::string service = dir.parent_path().filename().string();
      const HttpResponseView response = testing::Call(handler, "POST", "/cds-services/" + service,
                                                      ReadFile(dir / "request.json"));
      BOOST_TEST(response.status == expected_status, response.body);

      const auto actual = cds::testing::PrettyCanonicalJson(response.body);
      BOOST_REQUIRE_MESSAGE(actual.has_value(), "response is not JSON: " << response.body);
      const fs::path expected_path = dir / "expected_response.json";
      if (update) {
        std::ofstream(expected_path, std::ios::binary) << *actual << "\n";
        continue;
      }
      BOOST_REQUIRE_MESSAGE(fs::exists(expected_path),
                            expected_path << " is missing (run with CDS_UPDATE_GOLDEN=1)");
      const auto expected = cds::testing::PrettyCanonicalJson(ReadFile(expected_path));
      BOOST_REQUIRE_MESSAGE(expected.has_value(), expected_path << " is not JSON");
      BOOST_TEST(*actual == *expected, "actual:\n" << *actual);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
