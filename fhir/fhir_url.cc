#include "fhir/fhir_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace cds::fhir {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string HttpUrl::Origin() const { return scheme + "://" + host + ":" + std::to_string(port); }

std::optional<HttpUrl> ParseHttpUrl(std::string_view url) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
  }
  HttpUrl out;
  const std::size_t colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  out.scheme = Lower(url.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(colon + 3);
  if (rest.find('#') != std::string_view::npos) return std::nullopt;
  const std::size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
    for (const char c : host.substr(1, host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return std::nullopt;
    }
    if (host.size() < 3) return std::nullopt;
  } else {
    const std::size_t port_colon = authority.find(':');
    if (port_colon != std::string_view::npos) {
      host = authority.substr(0, port_colon);
      port = authority.substr(port_colon + 1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) return std::nullopt;
  }
  out.host = Lower(host);
  if (!port.empty() || authority.back() == ':') {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || error != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  } else {
    out.port = out.scheme == "https" ? 443 : 80;
  }
  const std::size_t question = rest.find('?');
  out.path = std::string(rest.substr(0, question));
  if (question != std::string_view::npos) out.query = std::string(rest.substr(question + 1));
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8 as a dotted quad of decimal octets.
  int parts = 0;
  std::size_t pos = 0;
  while (pos <= host.size()) {
    const std::size_t dot = std::min(host.find('.', pos), host.size());
    const std::string_view part = host.substr(pos, dot - pos);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || part.size() > 3 || error != std::errc() ||
        end != part.data() + part.size() || value > 255) {
      return false;
    }
    if (parts == 0 && value != 127) return false;
    ++parts;
    pos = dot + 1;
  }
  return parts == 4;
}

std::optional<std::string> CanonicalBaseUrl(std::string_view url) {
  std::optional<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed || !parsed->query.empty() || url.find('?') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string path = parsed->path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  const bool default_port = (parsed->scheme == "https" && parsed->port == 443) ||
                            (parsed->scheme == "http" && parsed->port == 80);
  // Appended piecewise: GCC 12 at -O3 reports a false -Wrestrict for
  // `"literal" + std::string&&`.
  std::string base = parsed->scheme;
  base += "://";
  base += parsed->host;
  if (!default_port) {
    base += ':';
    base += std::to_string(parsed->port);
  }
  base += path;
  return base;
}

bool TransportAllowed(const HttpUrl& url, bool allow_http_loopback) {
  return url.scheme == "https" || (allow_http_loopback && IsLoopbackHost(url.host));
}

Result<FhirServerPolicy> FhirServerPolicy::Create(const std::vector<std::string>& allowed_servers,
                                                  bool allow_http_loopback) {
  FhirServerPolicy policy;
  policy.allow_http_loopback_ = allow_http_loopback;
  for (const std::string& server : allowed_servers) {
    const std::optional<HttpUrl> parsed = ParseHttpUrl(server);
    const std::optional<std::string> canonical = CanonicalBaseUrl(server);
    if (!parsed || !canonical) {
      return Error{ErrorCode::kRuleConfig,
                   "FHIR server '" + server + "' is not an absolute http(s) base URL"};
    }
    if (!TransportAllowed(*parsed, allow_http_loopback)) {
      return Error{ErrorCode::kRuleConfig,
                   "FHIR server '" + server +
                       "' must use https (http only on a loopback host with allowHttpLoopback)"};
    }
    policy.bases_.push_back(*canonical);
    policy.origins_.push_back(parsed->Origin());
  }
  return policy;
}

bool FhirServerPolicy::AllowsServer(std::string_view fhir_server) const {
  const std::optional<std::string> canonical = CanonicalBaseUrl(fhir_server);
  return canonical && std::find(bases_.begin(), bases_.end(), *canonical) != bases_.end();
}

bool FhirServerPolicy::AllowsUrl(std::string_view url) const {
  const std::optional<HttpUrl> parsed = ParseHttpUrl(url);
  return parsed && TransportAllowed(*parsed, allow_http_loopback_) &&
         std::find(origins_.begin(), origins_.end(), parsed->Origin()) != origins_.end();
}

bool SameOrigin(std::string_view a, std::string_view b) {
  const std::optional<HttpUrl> x = ParseHttpUrl(a);
  const std::optional<HttpUrl> y = ParseHttpUrl(b);
  return x && y && x->Origin() == y->Origin();
}

bool IsB64Token(std::string_view text) {
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) break;
  }
  if (i == 0) return false;
  return text.find_first_not_of('=', i) == std::string_view::npos;
}

}  // namespace cds::fhir
