// libFuzzer target: the JWT side of client authentication (service/auth/jwt.h,
// service/auth/jwt_key.h, service/auth/auth.h) on arbitrary bytes: the compact JWS
// parser, the JWK Set parser, base64url, and the whole Authenticator check of
// "Authorization: Bearer <input>" against an issuer with a fixed P-384 key.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "service/auth/auth.h"
#include "service/auth/jwt.h"
#include "service/auth/jwt_key.h"

namespace {

// A fixed public P-384 key (test data only; its private half is not kept).
constexpr const char* kJwks =
    R"({"keys":[{"kty":"EC","crv":"P-384","kid":"k1","use":"sig",)"
    R"("x":"nFHZC_8rTlK3t-HwYbkDZw7uDIq2hpNDbe8sCjxfYFsafIr4kt9F2ASWBjGU9gA9",)"
    R"("y":"l1H1CSCQujVYFXtERKapZq0dxIJBqm95h2SLGcpKONz1aF1bP0JriICgvfCjNoXD"}]})";

std::unique_ptr<cds::service::Authenticator> MakeAuthenticator() {
  const std::string path = "/tmp/magcds-fuzz-jwks-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << kJwks;
  cds::service::AuthenticatorOptions options;
  options.config.required = true;
  cds::service::AuthIssuerConfig issuer;
  issuer.iss = "https://ehr.example";
  issuer.jwks_file = path;
  issuer.algorithms = {"ES384", "RS384", "ES256", "RS256"};
  options.config.issuers.push_back(issuer);
  options.config.jti_cache_size = 1000;
  options.public_base_url = "https://cds.example.org";
  options.clock = [] { return std::int64_t{1800000000}; };
  options.log_rejections = false;
  auto created = cds::service::Authenticator::Create(std::move(options));
  std::remove(path.c_str());
  if (!created) std::abort();
  return std::move(created).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::unique_ptr<cds::service::Authenticator> authenticator = MakeAuthenticator();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static_cast<void>(cds::service::ParseJwt(text));
  static_cast<void>(cds::service::ParseJwkSet(text));
  if (auto decoded = cds::service::Base64UrlDecode(text)) {
    if (cds::service::Base64UrlEncode(*decoded) != text) std::abort();  // round trip
  }
  bool answered = false;
  authenticator->Authenticate("/cds-services/magnesium-advisor", "Bearer " + std::string(text),
                              [&answered](const cds::service::AuthOutcome&) { answered = true; });
  if (!answered) std::abort();  // no fetcher: every answer is synchronous
  return 0;
}
