#pragma once

// The HTTP server's TLS (issue #6): the certificate chain and key, read once
// at start, and the settings every connection gets (TLS 1.2+, forward-secret
// AEAD suites for 1.2). Used by service/http/http_adapter.cc only.

#include <string>

#include "common/result.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace cds::service {

struct TlsMaterial {
  std::string cert_chain_pem;
  std::string key_pem;
};

// Modern TLS only (checklist S-1). Throws boost::system::system_error when
// the material does not load or the key does not match the certificate.
void ConfigureTls(boost::asio::ssl::context& context, const TlsMaterial& material);

// Reads both files and checks them; kRuleConfig when unreadable or unusable.
Result<TlsMaterial> LoadTlsMaterial(const std::string& cert_file, const std::string& key_file);

}  // namespace cds::service
