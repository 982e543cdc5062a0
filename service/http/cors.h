#pragma once

// CorsPolicy: Cross-Origin Resource Sharing for browser-based CDS clients
// (checklist S-30, S-31). Preflight (OPTIONS) is answered on every CDS endpoint
// with the methods GET, POST, OPTIONS and the headers Authorization,
// Content-Type; Access-Control-Allow-Origin echoes the request's Origin only
// when it is on the allowlist (exact, case-insensitive match; never "*"), and
// is added to every response — GET, POST, errors — not only to preflights.
// "Vary: Origin" goes on every response so caches keep per-origin answers apart.
// No credentials header is sent: clients authenticate with a bearer JWT.
//
// Immutable after construction; thread-safe.

#include <string>
#include <vector>

#include "service/http/http_types.h"

namespace cds::service {

class CorsPolicy {
 public:
  // `allowed_origins` as validated by the config ("https://host[:port]").
  explicit CorsPolicy(std::vector<std::string> allowed_origins);

  bool Allows(const std::string& origin) const;

  // The answer to an OPTIONS preflight on a CDS endpoint: 204 with the CORS
  // headers when the origin is allowed, 204 with only Allow/Vary otherwise (the
  // browser then blocks the call).
  HttpResponseView Preflight(const HttpRequestView& request) const;

  // Adds Access-Control-Allow-Origin (allowed origins only) and Vary: Origin.
  void Decorate(const HttpRequestView& request, HttpResponseView& response) const;

 private:
  std::vector<std::string> allowed_origins_;  // lower case
};

}  // namespace cds::service
