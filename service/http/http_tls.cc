// TLS material and settings of the HTTP server (service/http/http_tls.h).
#include "service/http/http_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fstream>
#include <sstream>
#include <utility>

#include <boost/asio/ssl.hpp>

namespace cds::service {

namespace ssl = boost::asio::ssl;

// Modern TLS only (checklist S-1): TLS 1.2+ (1.0 and 1.1 refused with a
// protocol-version alert), ECDHE with AES-GCM or ChaCha20 for TLS 1.2.
// Throws boost::system::system_error when the material does not load.
void ConfigureTls(ssl::context& context, const TlsMaterial& material) {
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
  SSL_CTX* native = context.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(native,
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256");
  context.use_certificate_chain(
      boost::asio::buffer(material.cert_chain_pem.data(), material.cert_chain_pem.size()));
  context.use_private_key(boost::asio::buffer(material.key_pem.data(), material.key_pem.size()),
                          ssl::context::pem);
  if (SSL_CTX_check_private_key(native) != 1) {
    throw boost::system::system_error(
        boost::system::error_code(static_cast<int>(ERR_get_error()),
                                  boost::asio::error::get_ssl_category()),
        "the TLS key does not match the certificate");
  }
}

Result<TlsMaterial> LoadTlsMaterial(const std::string& cert_file, const std::string& key_file) {
  TlsMaterial material;
  for (const auto& [path, out] :
       {std::pair<const std::string&, std::string&>(cert_file, material.cert_chain_pem),
        std::pair<const std::string&, std::string&>(key_file, material.key_pem)}) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || text.str().empty()) return Error{ErrorCode::kRuleConfig, "tls: cannot read " + path};
    out = text.str();
  }
  try {
    ssl::context probe(ssl::context::tls_server);
    ConfigureTls(probe, material);
  } catch (const std::exception& e) {
    return Error{ErrorCode::kRuleConfig,
                 "tls: " + cert_file + " / " + key_file + " cannot be used: " + e.what()};
  }
  return material;
}

}  // namespace cds::service
