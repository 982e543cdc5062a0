// CORS for the CDS endpoints: see service/http/cors.h.
#include "service/http/cors.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace cds::service {
namespace {

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins) {
  for (std::string& origin : allowed_origins) allowed_origins_.push_back(Lower(std::move(origin)));
}

bool CorsPolicy::Allows(const std::string& origin) const {
  if (origin.empty()) return false;
  const std::string lower = Lower(origin);
  return std::find(allowed_origins_.begin(), allowed_origins_.end(), lower) !=
         allowed_origins_.end();
}

HttpResponseView CorsPolicy::Preflight(const HttpRequestView& request) const {
  HttpResponseView response;
  response.status = 204;
  response.headers.emplace_back("Allow", "GET, POST, OPTIONS");
  if (Allows(request.Header("origin"))) {
    response.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    response.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
    response.headers.emplace_back("Access-Control-Max-Age", "600");
  }
  Decorate(request, response);
  return response;
}

void CorsPolicy::Decorate(const HttpRequestView& request, HttpResponseView& response) const {
  for (const auto& [name, value] : response.headers) {
    if (name == "Vary" && value == "Origin") return;  // already decorated
  }
  const std::string& origin = request.Header("origin");
  if (Allows(origin)) response.headers.emplace_back("Access-Control-Allow-Origin", origin);
  response.headers.emplace_back("Vary", "Origin");
}

}  // namespace cds::service
