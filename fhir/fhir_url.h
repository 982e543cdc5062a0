#pragma once

// FHIR server URLs: parsing just enough of an absolute http(s) URL to compare
// origins, and the allowlist that decides which FHIR bases magcds may contact
// (issue #6: the service must never be turned into a tool against other
// servers; CDS Hooks 2.0 §fhirServer: https in production).
//
// Pure functions and an immutable policy object; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cds::fhir {

struct HttpUrl {
  std::string scheme;      // "http" or "https" (lower case)
  std::string host;        // lower case; IPv6 literals keep their brackets: "[::1]"
  std::uint16_t port = 0;  // explicit or the scheme's default
  std::string path;        // "/fhir/R4" ("" when the URL has none); no query
  std::string query;       // after '?', without it; "" when none

  std::string Origin() const;  // "https://ehr.example:443"
};

// Parses "scheme://host[:port][/path][?query]" for http and https only. No
// userinfo ("user@host"), no fragment, no whitespace or control characters,
// port 1..65535. nullopt for anything else.
std::optional<HttpUrl> ParseHttpUrl(std::string_view url);

// True for "localhost", 127.0.0.0/8 dotted quads and "[::1]".
bool IsLoopbackHost(std::string_view host);

// A base URL in canonical form for comparison: lower-case scheme and host,
// default port dropped, trailing slashes removed. nullopt if not an http(s) URL
// or it has a query.
std::optional<std::string> CanonicalBaseUrl(std::string_view url);

// The FHIR bases this deployment may contact.
class FhirServerPolicy {
 public:
  FhirServerPolicy() = default;  // empty: never contact any FHIR server

  // kRuleConfig naming the entry when one is not an absolute http(s) base URL,
  // or is http:// without `allow_http_loopback` and a loopback host.
  static Result<FhirServerPolicy> Create(const std::vector<std::string>& allowed_servers,
                                         bool allow_http_loopback);

  bool empty() const { return bases_.empty(); }
  bool allow_http_loopback() const { return allow_http_loopback_; }

  // True when `fhir_server` (a request's fhirServer) is one of the configured
  // bases, compared in canonical form.
  bool AllowsServer(std::string_view fhir_server) const;

  // True when `url` may be contacted at all: its origin is the origin of a
  // configured base, and it is https (or http on loopback when allowed).
  bool AllowsUrl(std::string_view url) const;

 private:
  std::vector<std::string> bases_;    // canonical
  std::vector<std::string> origins_;  // of bases_
  bool allow_http_loopback_ = false;
};

// Transport rule on its own: https, or http to a loopback host when allowed.
bool TransportAllowed(const HttpUrl& url, bool allow_http_loopback);

// True when both parse and have the same scheme, host and port.
bool SameOrigin(std::string_view a, std::string_view b);

// True for an RFC 6750 §2.1 b64token, what may follow "Bearer " in an
// Authorization header without changing its meaning (no CR/LF, spaces or
// commas): 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
bool IsB64Token(std::string_view text);

}  // namespace cds::fhir
