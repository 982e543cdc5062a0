#include "service/http/endpoint.h"

#include <array>
#include <cassert>
#include <cctype>

namespace cds::service {
namespace {

constexpr std::string_view kServices = "/cds-services";

// One row per Endpoint, in enum order (checked in SpecOf).
constexpr std::array<EndpointSpec, 7> kTable = {{
    {Endpoint::kDiscovery, "discovery", "GET", EndpointGroup::kCds, /*authenticated=*/true,
     /*audited=*/false, /*no_store=*/false},
    {Endpoint::kServiceCall, "service", "POST", EndpointGroup::kCds, true, true, true},
    {Endpoint::kFeedback, "feedback", "POST", EndpointGroup::kCds, true, false, true},
    {Endpoint::kHealthz, "healthz", "GET", EndpointGroup::kOperational, false, false, false},
    {Endpoint::kReadyz, "readyz", "GET", EndpointGroup::kOperational, false, false, false},
    {Endpoint::kMetrics, "metrics", "GET", EndpointGroup::kOperational, false, false, false},
    {Endpoint::kUnknown, "other", "", EndpointGroup::kNone, false, false, false},
}};

}  // namespace

std::span<const EndpointSpec> EndpointTable() { return kTable; }

const EndpointSpec& SpecOf(Endpoint endpoint) {
  const auto index = static_cast<std::size_t>(endpoint);
  assert(index < kTable.size() && kTable[index].endpoint == endpoint);
  return kTable[index];
}

Route RouteOf(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  Route route;
  route.path = path;
  if (path == kServices) {
    route.endpoint = Endpoint::kDiscovery;
    return route;
  }
  for (const Endpoint ops : {Endpoint::kHealthz, Endpoint::kReadyz, Endpoint::kMetrics}) {
    const std::string_view label = SpecOf(ops).label;
    if (path.size() == label.size() + 1 && path.front() == '/' && path.substr(1) == label) {
      route.endpoint = ops;
      return route;
    }
  }
  if (path.size() <= kServices.size() + 1 || path.rfind(kServices, 0) != 0 ||
      path[kServices.size()] != '/') {
    return route;
  }
  const std::string_view rest = path.substr(kServices.size() + 1);
  const std::size_t slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  if (id.empty()) return route;
  if (slash == std::string_view::npos) {
    route.endpoint = Endpoint::kServiceCall;
  } else if (rest.substr(slash) == "/feedback") {
    route.endpoint = Endpoint::kFeedback;
  } else {
    return route;
  }
  route.service_id = id;
  return route;
}

std::string ServiceCallPath(std::string_view service_id) {
  return std::string(kServices) + "/" + std::string(service_id);
}

std::string_view EndpointLabel(std::string_view method, const Route& route) {
  const EndpointSpec& spec = SpecOf(route.endpoint);
  return spec.group == EndpointGroup::kCds && method == "OPTIONS" ? "preflight" : spec.label;
}

std::string PrintableServiceId(const Route& route) {
  const std::string_view id = route.service_id;
  if (id.empty() || id.size() > 64) return "";
  for (const char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) {
      return "";
    }
  }
  return std::string(id);
}

}  // namespace cds::service
