#pragma once

// The HTTP exchange as plain std values, so that everything behind the adapter
// (service/http/http_adapter.cc, the only file that sees cpprestsdk) can be tested
// without sockets. Both types are plain values; copy or move freely.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cds::service {

struct RequestTrace;

struct HttpRequestView {
  std::string method;  // "GET", "POST", ... (upper case, as sent)
  std::string path;    // percent-encoded path without the query, e.g. "/cds-services/x"
  std::string query;   // raw query string without '?', "" if none
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  // Per-request facts for metrics, audit and logs (service/hooks/request_trace.h);
  // set by the HTTP adapter, may be null (tests). Not part of the request.
  std::shared_ptr<RequestTrace> trace;

  // The header's value, or "" when absent. `name` must be lower case.
  const std::string& Header(const std::string& name) const {
    static const std::string kEmpty;
    const auto it = headers.find(name);
    return it == headers.end() ? kEmpty : it->second;
  }
};

struct HttpResponseView {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
};

}  // namespace cds::service
