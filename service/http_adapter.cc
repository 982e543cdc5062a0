#include "service/http_adapter.h"

#include <cpprest/http_listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pplx/threadpool.h>

#include <atomic>
#include <cctype>
#include <exception>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "service/http_status.h"
#include "service/log.h"
#include "service/request_trace.h"
#include "service/response_json.h"

namespace cds::service {
namespace {

namespace http = web::http;

void InitializeThreadPool(std::size_t threads) {
  static std::once_flag once;
  std::call_once(once, [threads] {
    try {
      crossplat::threadpool::initialize_with_threads(threads == 0 ? 1 : threads);
    } catch (const std::exception&) {
      // Already initialised by an earlier user of cpprestsdk: keep that pool.
    }
  });
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A Content-Length value over `limit`? Non-numeric values are left to the body
// read (the body is then empty or partial and fails JSON parsing with 400).
bool ContentLengthOver(const std::string& value, std::size_t limit) {
  std::size_t begin = 0;
  while (begin < value.size() && value[begin] == ' ') ++begin;
  if (begin == value.size()) return false;
  unsigned long long length = 0;
  for (std::size_t i = begin; i < value.size(); ++i) {
    const char c = value[i];
    if (c == ' ') break;
    if (c < '0' || c > '9') return false;
    if (length > (~0ULL - 9) / 10) return true;  // absurdly large
    length = length * 10 + static_cast<unsigned long long>(c - '0');
  }
  return length > limit;
}

void SendReply(const http::http_request& request, const HttpResponseView& view) {
  http::http_response response(static_cast<http::status_code>(view.status));
  for (const auto& [name, value] : view.headers) response.headers().add(name, value);
  // Bytes, not the std::string overload: that one reinterprets a streambuf<char>
  // as streambuf<unsigned char> inside cpprestsdk (UBSan flags it). set_body
  // keeps a Content-Type that is already set.
  response.headers().set_content_type(view.content_type);
  response.set_body(std::vector<unsigned char>(view.body.begin(), view.body.end()));
  // Observe the reply's outcome: an unobserved pplx exception raises SIGTRAP.
  request.reply(response).then([](const pplx::task<void>& sent) {
    try {
      sent.get();  // already complete here: a task-based continuation never blocks
    } catch (const std::exception&) {
      // The client went away; nothing to do.
    }
  });
}

HttpResponseView ErrorView(const Error& error) {
  HttpResponseView view;
  view.status = HttpStatusFor(error.code);
  view.body = WriteErrorBody(error);
  view.headers.emplace_back("Cache-Control", "no-store");
  return view;
}

// 413: also end the connection, whatever the client sent after the head.
HttpResponseView TooLarge(std::size_t limit) {
  HttpResponseView view =
      ErrorView(Error{ErrorCode::kPayloadTooLarge,
                      "request body is larger than " + std::to_string(limit) + " bytes"});
  view.headers.emplace_back("Connection", "close");
  return view;
}

// Replies once, however many times it is asked (handler callback vs. the
// exception path).
class OneReply {
 public:
  explicit OneReply(const http::http_request& request) : request_(request) {}
  void Send(const HttpResponseView& view) {
    if (sent_.exchange(true)) return;
    SendReply(request_, view);
  }
  // A response the adapter makes itself (413, 400, 500): decorated like the
  // handler's (CORS headers, issue #6) when a decorator is set.
  void SendOwn(HttpResponseView view) {
    if (decorate_) decorate_(view);
    Send(view);
  }
  void SendInternalError(const char* what) {
    const std::string correlation = NewCorrelationId();
    LogFields fields = {{"correlationId", correlation}};
    if (what != nullptr) fields.emplace_back("exception", what);
    LogEvent("error", "unhandled_exception", fields);
    SendOwn(
        ErrorView(Error{ErrorCode::kInternal, "internal error; correlation id " + correlation}));
  }
  void SetDecorator(std::function<void(HttpResponseView&)> decorate) {
    decorate_ = std::move(decorate);
  }

 private:
  http::http_request request_;
  std::atomic<bool> sent_{false};
  std::function<void(HttpResponseView&)> decorate_;
};

// Issue #6. cpprestsdk's listener reads the body into the request's buffer as
// it arrives and sends no response before the body is complete
// (asio_server_connection::do_response waits for content_ready). Closing that
// buffer for writing, with an error, makes its next write of received bytes
// fail: the connection then completes the request with the error, stops
// reading, sends our reply and, as the reply says Connection: close, closes the
// socket. So at most about one read chunk (64 KiB) of an oversized body is
// taken in. A single chunk of a chunked body is still read whole before it
// reaches this buffer: see deploy/nginx (the production front) for that.
void StopReadingBody(const http::http_request& request) {
  try {
    request.body()
        .streambuf()
        .close(std::ios_base::out,
               std::make_exception_ptr(std::length_error("request body over the limit")))
        .then([](const pplx::task<void>& closed) {
          try {
            closed.get();
          } catch (const std::exception&) {
            // Already closed or failed: the listener stops reading either way.
          }
        });
  } catch (const std::exception&) {
    // No body stream (nothing left to read).
  }
}

enum class BodyRead { kComplete, kTooLarge, kFailed };

// Reads the request body in chunks, counting, and stops at `limit`: chunked
// bodies (no Content-Length) are cut off as soon as they pass it (issue #6).
// Continuations only; never blocks a pool thread.
struct BodyReader : std::enable_shared_from_this<BodyReader> {
  static constexpr std::size_t kChunk = 64 * 1024;

  http::http_request request;
  std::size_t limit = 0;
  std::string body;
  std::vector<unsigned char> chunk = std::vector<unsigned char>(kChunk);
  std::function<void(BodyRead, std::string)> done;

  void Next() {
    auto self = shared_from_this();
    request.body()
        .streambuf()
        .getn(chunk.data(), chunk.size())
        .then([self](const pplx::task<std::size_t>& read) {
          std::size_t n = 0;
          try {
            n = read.get();  // already complete: a task-based continuation never blocks
          } catch (const std::exception&) {
            return self->done(BodyRead::kFailed, std::string());
          }
          if (n == 0) return self->done(BodyRead::kComplete, std::move(self->body));
          if (n > self->limit - self->body.size()) {
            StopReadingBody(self->request);
            return self->done(BodyRead::kTooLarge, std::string());
          }
          self->body.append(reinterpret_cast<const char*>(self->chunk.data()), n);
          self->Next();
        });
  }
};

// Issue #6: the listener's certificate and key, read once.
struct TlsMaterial {
  std::string cert_chain_pem;
  std::string key_pem;
};

// Modern TLS only (checklist S-1): TLS 1.2+ (1.0 and 1.1 refused with a
// protocol-version alert), ECDHE with AES-GCM or ChaCha20 for TLS 1.2.
// Throws boost::system::system_error when the material does not load.
void ConfigureTls(boost::asio::ssl::context& context, const TlsMaterial& material) {
  namespace ssl = boost::asio::ssl;
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
    boost::asio::ssl::context probe(boost::asio::ssl::context::tls_server);
    ConfigureTls(probe, material);
  } catch (const std::exception& e) {
    return Error{ErrorCode::kRuleConfig,
                 "tls: " + cert_file + " / " + key_file + " cannot be used: " + e.what()};
  }
  return material;
}

}  // namespace

struct HttpServer::State {
  const RequestHandler& handler;
  ServerOptions options;
  std::unique_ptr<http::experimental::listener::http_listener> listener;

  void Serve(http::http_request request) const;
};

void HttpServer::State::Serve(http::http_request request) const {
  const auto arrived = std::chrono::steady_clock::now();
  auto reply = std::make_shared<OneReply>(request);
  try {
    HttpRequestView view;
    view.trace = std::make_shared<RequestTrace>();
    view.method = request.method();
    const web::uri& uri = request.request_uri();
    view.path = uri.path();
    view.query = uri.query();
    for (const auto& [name, value] : request.headers()) view.headers[Lower(name)] = value;
    auto head = std::make_shared<HttpRequestView>();
    head->method = view.method;
    head->path = view.path;
    head->headers = view.headers;
    if (options.decorate) {
      reply->SetDecorator([decorate = options.decorate, head](HttpResponseView& response) {
        decorate(*head, response);
      });
    }
    // Issue #13: the adapter's own refusals are counted and logged too.
    auto refuse = [on_refused = options.on_refused, head, reply,
                   arrived](HttpResponseView response) {
      const int status = response.status;
      reply->SendOwn(std::move(response));
      if (on_refused) {
        on_refused(
            *head, status,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - arrived).count());
      }
    };

    // 413 without reading the body (issue #6; see StopReadingBody).
    const auto length = view.headers.find("content-length");
    if (length != view.headers.end() && ContentLengthOver(length->second, options.max_body_bytes)) {
      StopReadingBody(request);
      refuse(TooLarge(options.max_body_bytes));
      return;
    }

    const std::size_t limit = options.max_body_bytes;
    const RequestHandler& hook_handler = handler;
    // Raw bytes, no charset conversion: the JSON parser validates UTF-8.
    auto reader = std::make_shared<BodyReader>();
    reader->request = request;
    reader->limit = limit;
    reader->done = [reply, refuse, limit, &hook_handler, view = std::move(view)](
                       BodyRead outcome, std::string body) mutable {
      try {
        if (outcome == BodyRead::kFailed) {
          refuse(
              ErrorView(Error{ErrorCode::kInvalidRequest, "the request body could not be read"}));
          return;
        }
        if (outcome == BodyRead::kTooLarge) {
          refuse(TooLarge(limit));
          return;
        }
        view.body = std::move(body);
        hook_handler.Handle(view,
                            [reply](const HttpResponseView& response) { reply->Send(response); });
      } catch (const std::exception& e) {
        reply->SendInternalError(e.what());
      } catch (...) {
        reply->SendInternalError(nullptr);
      }
    };
    reader->Next();
  } catch (const std::exception& e) {
    reply->SendInternalError(e.what());
  } catch (...) {
    reply->SendInternalError(nullptr);
  }
}

HttpServer::HttpServer(const RequestHandler& handler, ServerOptions options)
    : state_(std::make_unique<State>(State{handler, std::move(options), nullptr})) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Url() const {
  const bool tls = !state_->options.tls_cert_file.empty();
  return (tls ? "https://" : "http://") + state_->options.host + ":" +
         std::to_string(state_->options.port) + "/";
}

Status HttpServer::Start() {
  if (state_->listener) return OkStatus();
  InitializeThreadPool(state_->options.threads);
  try {
    http::experimental::listener::http_listener_config config;
    if (!state_->options.tls_cert_file.empty()) {
      Result<TlsMaterial> tls =
          LoadTlsMaterial(state_->options.tls_cert_file, state_->options.tls_key_file);
      if (!tls) return tls.error();
      // cpprestsdk calls this for every accepted connection: the PEM text is
      // read from disk once, here.
      config.set_ssl_context_callback([material = *tls](boost::asio::ssl::context& context) {
        ConfigureTls(context, material);
      });
    }
    auto listener =
        std::make_unique<http::experimental::listener::http_listener>(web::uri(Url()), config);
    State* state = state_.get();
    listener->support([state](const http::http_request& request) { state->Serve(request); });
    // cpprestsdk answers OPTIONS (200 + Allow) and TRACE (an echo of the
    // request) itself unless told otherwise: the handler decides (CORS
    // preflight, issue #6; TRACE is 405/404 like any other method).
    for (const http::method& method : {http::methods::OPTIONS, http::methods::TRCE}) {
      listener->support(method,
                        [state](const http::http_request& request) { state->Serve(request); });
    }
    // Called from the controlling thread, never from a pool thread.
    listener->open().wait();
    state_->listener = std::move(listener);
  } catch (const std::exception& e) {
    return Error{ErrorCode::kInternal, "cannot listen on " + Url() + ": " + e.what()};
  }
  return OkStatus();
}

bool HttpServer::Stop() {
  if (!state_->listener) return true;
  auto* listener = state_->listener.get();
  auto closed = std::make_shared<std::promise<void>>();
  std::future<void> done = closed->get_future();
  std::thread([listener, closed] {
    try {
      listener->close().wait();
    } catch (...) {
      // Closing failed; the listener is abandoned either way.
    }
    closed->set_value();
  }).detach();
  if (done.wait_for(state_->options.stop_timeout) == std::future_status::ready) {
    state_->listener.reset();
    return true;
  }
  LogEvent("warn", "listener_close_timeout",
           {{"timeoutMs", std::to_string(state_->options.stop_timeout.count())}});
  static_cast<void>(state_->listener.release());  // still in use by the closing thread
  return false;
}

}  // namespace cds::service
