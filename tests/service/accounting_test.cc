// Issue #13 acceptance 3: every call is accounted for, in the real `magcds
// serve` (auth required, audit on, a small body limit): 400, 401, 413 and 415
// appear in magcds_http_requests_total with their status and in the log; the
// audit records of refused calls name the service they were for; CORS
// preflights are counted as such and never written to the audit trail.

#include <rapidjson/document.h>

#include <ctime>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "tests/support/jwt_mint.h"
#include "tests/support/magcds_serve.h"
#include "tests/support/streaming_client.h"

namespace cds::service {
namespace {

using cds::testing::HttpTestResponse;
using cds::testing::MagcdsServe;
using cds::testing::MetricValue;
using cds::testing::NonEmptyLines;
using cds::testing::TestKey;

const std::string kSandboxDir = std::string(CDS_TEST_DATA_DIR) + "/sandbox";
const std::string kIss = "https://sandbox.cds-hooks.org";
const std::string kService = "/cds-services/magnesium-advisor";
constexpr std::size_t kMaxBody = 64 * 1024;

std::string Token(const std::string& audience, int serial) {
  static const TestKey key =
      TestKey::FromPrivatePem(cds::testing::ReadFile(kSandboxDir + "/ecprivkey.pem"));
  const long long now = static_cast<long long>(std::time(nullptr));
  return cds::testing::MakeJwt(
      R"({"alg":"ES384","typ":"JWT","kid":"44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"})",
      R"({"iss":")" + kIss + R"(","aud":")" + audience + R"(","exp":)" + std::to_string(now + 300) +
          R"(,"iat":)" + std::to_string(now) + R"(,"jti":"accounting-)" + std::to_string(serial) +
          "-" + std::to_string(now) + "\"}",
      &key, "ES384");
}

std::string Config() {
  return R"("publicBaseUrl":"http://127.0.0.1:@PORT@","limits":{"maxBodyBytes":)" +
         std::to_string(kMaxBody) + R"(},"auth":{"required":true,"issuers":[{"iss":")" + kIss +
         R"(","jwks":")" + kSandboxDir + R"(/jwks.json","algorithms":["ES384"]}]},)" +
         R"("cors":{"allowedOrigins":["https://sandbox.cds-hooks.org"]},)" +
         R"("audit":{"path":"@DIR@/audit.jsonl","hashKeyFile":"@DIR@/hash.key"})";
}

// The "request" log lines, parsed.
std::vector<rapidjson::Document> RequestLines(const std::string& log) {
  std::vector<rapidjson::Document> lines;
  for (const std::string& line : NonEmptyLines(log)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("event") ||
        std::string(doc["event"].GetString()) != "request") {
      continue;
    }
    lines.push_back(std::move(doc));
  }
  return lines;
}

std::string Member(const rapidjson::Value& value, const char* name) {
  return value.HasMember(name) && value[name].IsString() ? value[name].GetString() : "";
}

BOOST_AUTO_TEST_SUITE(CallAccounting)

BOOST_AUTO_TEST_CASE(refusals_are_counted_logged_and_audited_and_preflights_are_not_audited) {
  MagcdsServe serve(CDS_MAGCDS_BINARY, Config());
  const std::string url = serve.Base() + kService;
  const std::string sample = cds::testing::ReadFile(std::string(CDS_TEST_DATA_DIR) +
                                                    "/requests/patient-view-ppi-cramps.json");
  const auto post = [&](const std::string& body, const std::string& content_type,
                        const std::string& token) {
    std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", content_type}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return serve.Send("POST", kService, body, headers);
  };

  BOOST_TEST(post(sample, "application/json", Token(url, 1)).status == 200);
  BOOST_TEST(post(sample, "application/json", "").status == 401);
  BOOST_TEST(post("{\"hook\":", "application/json", Token(url, 2)).status == 400);
  BOOST_TEST(post(sample, "text/plain", Token(url, 3)).status == 415);
  // 413 from the adapter, before any handler, authentication included.
  const cds::testing::StreamingResult too_large = cds::testing::SendStreaming(
      serve.port(),
      "POST " + kService +
          " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
          std::to_string(kMaxBody * 4) + "\r\n\r\n",
      kMaxBody * 4);
  BOOST_TEST(too_large.status == 413, too_large.error);
  const HttpTestResponse preflight =
      serve.Send("OPTIONS", kService, "",
                 {{"Origin", "https://sandbox.cds-hooks.org"},
                  {"Access-Control-Request-Method", "POST"},
                  {"Access-Control-Request-Headers", "authorization,content-type"}});
  BOOST_TEST(preflight.status == 204);

  // Metrics: each status under its endpoint.
  const std::string metrics = serve.Send("GET", "/metrics").body;
  const std::string series = R"(magcds_http_requests_total{endpoint="service",service=")";
  BOOST_TEST(MetricValue(metrics, series + R"(magnesium-advisor",status="200"})") == 1);
  BOOST_TEST(MetricValue(metrics, series + R"(magnesium-advisor",status="400"})") == 1);
  BOOST_TEST(MetricValue(metrics, series + R"(",status="401"})") == 1, metrics);
  BOOST_TEST(MetricValue(metrics, series + R"(",status="413"})") == 1, metrics);
  BOOST_TEST(MetricValue(metrics, series + R"(",status="415"})") == 1, metrics);
  BOOST_TEST(
      MetricValue(metrics,
                  R"(magcds_http_requests_total{endpoint="preflight",service="",status="204"})") ==
      1);
  BOOST_TEST(MetricValue(metrics, R"(magcds_auth_failures_total{reason="missing_token"})") == 1);

  // Log: one request line per call, each with its status and the service.
  // The log is written in batches: wait for the last call's line (the
  // preflight's), not only for one before it.
  BOOST_TEST(serve.WaitForLog("\"status\":\"413\""));
  BOOST_TEST(serve.WaitForLog("\"endpoint\":\"preflight\""));
  std::vector<std::string> statuses;
  for (const rapidjson::Document& line : RequestLines(serve.Log())) {
    const std::string endpoint = Member(line, "endpoint");
    if (endpoint != "service" && endpoint != "preflight") continue;
    statuses.push_back(endpoint + " " + Member(line, "status"));
    BOOST_TEST(Member(line, "service") == "magnesium-advisor", Member(line, "status"));
    if (Member(line, "status") == "401") BOOST_TEST(Member(line, "authFailure") == "missing_token");
  }
  const std::vector<std::string> expected = {"service 200", "service 401", "service 400",
                                             "service 415", "service 413", "preflight 204"};
  BOOST_TEST(statuses == expected, boost::test_tools::per_element());

  // Audit: the five service calls, each naming the service; no preflight.
  const std::vector<std::string> audit = NonEmptyLines(serve.ReadInDir("audit.jsonl"));
  std::vector<int> audited;
  for (const std::string& line : audit) {
    rapidjson::Document record;
    record.Parse(line.c_str());
    BOOST_TEST_REQUIRE(!record.HasParseError());
    BOOST_TEST(Member(record, "service") == "magnesium-advisor", line);
    audited.push_back(record["status"].GetInt());
  }
  const std::vector<int> expected_audit = {200, 401, 400, 415, 413};
  BOOST_TEST(audited == expected_audit, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
