#include "fhir/fhir_url.h"

#include <string>

#include <boost/test/unit_test.hpp>

namespace cds::fhir {
namespace {

BOOST_AUTO_TEST_SUITE(FhirUrl)

BOOST_AUTO_TEST_CASE(parses_origin_path_and_query) {
  auto url = ParseHttpUrl("HTTPS://EHR.Example.org/fhir/R4/Observation?patient=1&code=a%7Cb");
  BOOST_TEST_REQUIRE(url.has_value());
  BOOST_TEST(url->scheme == "https");
  BOOST_TEST(url->host == "ehr.example.org");
  BOOST_TEST(url->port == 443);
  BOOST_TEST(url->path == "/fhir/R4/Observation");
  BOOST_TEST(url->query == "patient=1&code=a%7Cb");
  BOOST_TEST(url->Origin() == "https://ehr.example.org:443");
  auto local = ParseHttpUrl("http://[::1]:8080");
  BOOST_TEST_REQUIRE(local.has_value());
  BOOST_TEST(local->host == "[::1]");
  BOOST_TEST(local->port == 8080);
  BOOST_TEST(local->path == "");
}

BOOST_AUTO_TEST_CASE(rejects_what_is_not_a_plain_http_url) {
  for (const char* bad : {"ftp://x/", "https://", "https://user@host/", "https://host:0/",
                          "https://host:70000/", "https://host:abc/", "https://ho st/",
                          "https://host/#frag", "//host/x", "https://[::1/", "https://host:/"}) {
    BOOST_TEST(!ParseHttpUrl(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(loopback_hosts) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "127.255.255.255", "[::1]"}) {
    BOOST_TEST(IsLoopbackHost(host), host);
  }
  for (const char* host : {"128.0.0.1", "10.0.0.1", "127.0.0", "127.0.0.1.5", "127.0.0.256",
                           "localhost.example", "[::2]", "127.0.0.1a", ""}) {
    BOOST_TEST(!IsLoopbackHost(host), host);
  }
}

BOOST_AUTO_TEST_CASE(canonical_base_ignores_case_default_port_and_trailing_slash) {
  BOOST_TEST(*CanonicalBaseUrl("HTTPS://Ehr.Example:443/fhir/") == "https://ehr.example/fhir");
  BOOST_TEST(*CanonicalBaseUrl("http://127.0.0.1:8080") == "http://127.0.0.1:8080");
  BOOST_TEST(!CanonicalBaseUrl("https://ehr.example/fhir?x=1").has_value());
}

BOOST_AUTO_TEST_CASE(policy_requires_https_except_loopback_when_allowed) {
  BOOST_TEST(FhirServerPolicy::Create({"https://ehr.example/fhir"}, false).has_value());
  BOOST_TEST(!FhirServerPolicy::Create({"http://ehr.example/fhir"}, false).has_value());
  BOOST_TEST(!FhirServerPolicy::Create({"http://ehr.example/fhir"}, true).has_value());
  BOOST_TEST(!FhirServerPolicy::Create({"http://127.0.0.1:9000/fhir"}, false).has_value());
  BOOST_TEST(FhirServerPolicy::Create({"http://127.0.0.1:9000/fhir"}, true).has_value());
  BOOST_TEST(FhirServerPolicy::Create({"http://localhost:9000"}, true).has_value());
  BOOST_TEST(!FhirServerPolicy::Create({"not a url"}, true).has_value());
}

BOOST_AUTO_TEST_CASE(policy_allows_only_configured_bases) {
  auto policy = FhirServerPolicy::Create({"https://ehr.example/fhir/R4/"}, false);
  BOOST_TEST_REQUIRE(policy.has_value());
  BOOST_TEST(policy->AllowsServer("https://ehr.example/fhir/R4"));
  BOOST_TEST(policy->AllowsServer("https://EHR.example:443/fhir/R4/"));
  BOOST_TEST(!policy->AllowsServer("https://ehr.example/fhir"));
  BOOST_TEST(!policy->AllowsServer("https://ehr.example/fhir/R4/x"));
  BOOST_TEST(!policy->AllowsServer("http://ehr.example/fhir/R4"));
  BOOST_TEST(!policy->AllowsServer("https://ehr.example.evil/fhir/R4"));
  BOOST_TEST(!policy->AllowsServer("https://ehr.example:8443/fhir/R4"));
  BOOST_TEST(FhirServerPolicy().empty());
  BOOST_TEST(!FhirServerPolicy().AllowsServer("https://ehr.example/fhir/R4"));
}

BOOST_AUTO_TEST_CASE(policy_allows_urls_on_a_configured_origin_only) {
  auto policy = FhirServerPolicy::Create({"https://ehr.example/fhir"}, false);
  BOOST_TEST_REQUIRE(policy.has_value());
  BOOST_TEST(policy->AllowsUrl("https://ehr.example/fhir/Condition?patient=1"));
  BOOST_TEST(policy->AllowsUrl("https://ehr.example:443/other?page=2"));
  BOOST_TEST(!policy->AllowsUrl("http://ehr.example/fhir/Condition"));
  BOOST_TEST(!policy->AllowsUrl("https://evil.example/fhir/Condition"));
  BOOST_TEST(!policy->AllowsUrl("https://ehr.example:444/fhir/Condition"));
  BOOST_TEST(!policy->AllowsUrl("https://user@ehr.example/fhir/Condition"));
}

BOOST_AUTO_TEST_CASE(same_origin) {
  BOOST_TEST(SameOrigin("https://a.example/x", "HTTPS://A.example:443/y?z"));
  BOOST_TEST(!SameOrigin("https://a.example/x", "http://a.example/x"));
  BOOST_TEST(!SameOrigin("http://127.0.0.1:1/x", "http://127.0.0.1:2/x"));
  BOOST_TEST(!SameOrigin("garbage", "garbage"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::fhir
