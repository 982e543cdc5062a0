#include "service/http/endpoint.h"

#include <set>
#include <string>

#include <boost/test/unit_test.hpp>

namespace cds::service {
namespace {

BOOST_AUTO_TEST_SUITE(EndpointTable)

// The table has one row per endpoint, in enum order, with distinct labels:
// SpecOf indexes it and metrics label by it.
BOOST_AUTO_TEST_CASE(one_row_per_endpoint_in_enum_order) {
  std::set<std::string> labels;
  std::size_t i = 0;
  for (const EndpointSpec& spec : cds::service::EndpointTable()) {
    BOOST_TEST(static_cast<std::size_t>(spec.endpoint) == i++);
    BOOST_TEST(labels.insert(std::string(spec.label)).second);
    BOOST_TEST(&SpecOf(spec.endpoint) == &spec);
  }
  BOOST_TEST(i == static_cast<std::size_t>(Endpoint::kUnknown) + 1);
}

// What each endpoint requires. A wrong row here opens an endpoint without a
// JWT, audits the wrong calls or caches PHI: each is checked.
BOOST_AUTO_TEST_CASE(requirements_per_endpoint) {
  const auto& discovery = SpecOf(Endpoint::kDiscovery);
  BOOST_TEST(discovery.method == "GET");
  BOOST_TEST((discovery.group == EndpointGroup::kCds));
  BOOST_TEST(discovery.authenticated);
  BOOST_TEST(!discovery.audited);

  const auto& call = SpecOf(Endpoint::kServiceCall);
  BOOST_TEST(call.label == "service");
  BOOST_TEST(call.method == "POST");
  BOOST_TEST((call.group == EndpointGroup::kCds));
  BOOST_TEST(call.authenticated);
  BOOST_TEST(call.audited);
  BOOST_TEST(call.no_store);

  const auto& feedback = SpecOf(Endpoint::kFeedback);
  BOOST_TEST(feedback.method == "POST");
  BOOST_TEST(feedback.authenticated);
  BOOST_TEST(!feedback.audited);
  BOOST_TEST(feedback.no_store);

  for (const Endpoint ops : {Endpoint::kHealthz, Endpoint::kReadyz, Endpoint::kMetrics}) {
    BOOST_TEST(SpecOf(ops).method == "GET");
    BOOST_TEST((SpecOf(ops).group == EndpointGroup::kOperational));
    BOOST_TEST(!SpecOf(ops).authenticated);  // probes carry no JWT
    BOOST_TEST(!SpecOf(ops).audited);
  }
  BOOST_TEST((SpecOf(Endpoint::kUnknown).group == EndpointGroup::kNone));
  BOOST_TEST(SpecOf(Endpoint::kUnknown).label == "other");
}

BOOST_AUTO_TEST_CASE(routes) {
  const auto endpoint = [](std::string_view path) { return RouteOf(path).endpoint; };
  BOOST_TEST((endpoint("/cds-services") == Endpoint::kDiscovery));
  BOOST_TEST((endpoint("/cds-services/") == Endpoint::kDiscovery));
  BOOST_TEST((endpoint("/cds-services/x") == Endpoint::kServiceCall));
  BOOST_TEST((endpoint("/cds-services/x/") == Endpoint::kServiceCall));
  BOOST_TEST((endpoint("/cds-services/x/feedback") == Endpoint::kFeedback));
  BOOST_TEST((endpoint("/cds-services/x/feedback/") == Endpoint::kFeedback));
  BOOST_TEST((endpoint("/healthz") == Endpoint::kHealthz));
  BOOST_TEST((endpoint("/readyz") == Endpoint::kReadyz));
  BOOST_TEST((endpoint("/metrics") == Endpoint::kMetrics));
  BOOST_TEST((endpoint("/metrics/") == Endpoint::kMetrics));
  for (const char* other :
       {"/", "", "/cds-services/x/y", "/cds-services//feedback", "/cds-servicesx",
        "/cds-services/x/feedback/y", "/healthzz", "/secret/../x", "healthz", "//healthz"}) {
    BOOST_TEST_INFO(other);
    BOOST_TEST((endpoint(other) == Endpoint::kUnknown));
  }
}

BOOST_AUTO_TEST_CASE(route_names_the_service_and_the_canonical_path) {
  const Route call = RouteOf("/cds-services/magnesium-advisor/");
  BOOST_TEST(call.service_id == "magnesium-advisor");
  BOOST_TEST(call.path == "/cds-services/magnesium-advisor");
  const Route feedback = RouteOf("/cds-services/magnesium-advisor/feedback");
  BOOST_TEST(feedback.service_id == "magnesium-advisor");
  BOOST_TEST(feedback.path == "/cds-services/magnesium-advisor/feedback");
  BOOST_TEST(ServiceCallPath(feedback.service_id) == "/cds-services/magnesium-advisor");
  BOOST_TEST((RouteOf(ServiceCallPath("x")).endpoint == Endpoint::kServiceCall));
  BOOST_TEST(RouteOf("/cds-services").service_id.empty());
  BOOST_TEST(RouteOf("/healthz").service_id.empty());
}

// CORS preflights are counted apart from calls (issue #13).
BOOST_AUTO_TEST_CASE(labels_and_preflight) {
  BOOST_TEST(EndpointLabel("OPTIONS", RouteOf("/cds-services/x")) == "preflight");
  BOOST_TEST(EndpointLabel("OPTIONS", RouteOf("/cds-services")) == "preflight");
  BOOST_TEST(EndpointLabel("OPTIONS", RouteOf("/cds-services/x/feedback")) == "preflight");
  BOOST_TEST(EndpointLabel("OPTIONS", RouteOf("/healthz")) == "healthz");
  BOOST_TEST(EndpointLabel("POST", RouteOf("/cds-services/x")) == "service");
  BOOST_TEST(EndpointLabel("GET", RouteOf("/cds-services/")) == "discovery");
  BOOST_TEST(EndpointLabel("POST", RouteOf("/cds-services/x/feedback")) == "feedback");
  BOOST_TEST(EndpointLabel("GET", RouteOf("/nope")) == "other");
}

// Refused calls can still name the service their path asks for, but only an
// id that is safe to log.
BOOST_AUTO_TEST_CASE(printable_service_id) {
  BOOST_TEST(PrintableServiceId(RouteOf("/cds-services/magnesium-advisor")) == "magnesium-advisor");
  BOOST_TEST(PrintableServiceId(RouteOf("/cds-services/magnesium-advisor/feedback")) ==
             "magnesium-advisor");
  BOOST_TEST(PrintableServiceId(RouteOf("/cds-services/a%20b")) == "");
  BOOST_TEST(PrintableServiceId(RouteOf("/cds-services/" + std::string(65, 'x'))) == "");
  BOOST_TEST(PrintableServiceId(RouteOf("/cds-services/" + std::string(64, 'x'))).size() == 64u);
  BOOST_TEST(PrintableServiceId(RouteOf("/cds-services")) == "");
  BOOST_TEST(PrintableServiceId(RouteOf("/healthz")) == "");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
