#include "service/http_adapter.h"

#include <atomic>
#include <cctype>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include "service/http_status.h"
#include "service/log.h"
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
  HttpResponseView view = ErrorView(Error{
      ErrorCode::kPayloadTooLarge, "request body is larger than " + std::to_string(limit) + " bytes"});
  view.headers.emplace_back("Connection", "close");
  return view;
}

// Replies once, however many times it is asked (handler callback vs. the
// exception path).
class OneReply {
 public:
  explicit OneReply(http::http_request request) : request_(std::move(request)) {}
  void Send(const HttpResponseView& view) {
    if (sent_.exchange(true)) return;
    SendReply(request_, view);
  }
  void SendInternalError(const char* what) {
    const std::string correlation = NewCorrelationId();
    LogFields fields = {{"correlationId", correlation}};
    if (what != nullptr) fields.emplace_back("exception", what);
    LogEvent("error", "unhandled_exception", fields);
    Send(ErrorView(Error{ErrorCode::kInternal, "internal error; correlation id " + correlation}));
  }

 private:
  http::http_request request_;
  std::atomic<bool> sent_{false};
};

}  // namespace

struct HttpServer::State {
  const HookHandler& handler;
  ServerOptions options;
  std::unique_ptr<http::experimental::listener::http_listener> listener;

  void Serve(http::http_request request) const;
};

void HttpServer::State::Serve(http::http_request request) const {
  auto reply = std::make_shared<OneReply>(request);
  try {
    HttpRequestView view;
    view.method = request.method();
    const web::uri& uri = request.request_uri();
    view.path = uri.path();
    view.query = uri.query();
    for (const auto& [name, value] : request.headers()) view.headers[Lower(name)] = value;

    // TODO(#6): cpprestsdk reads the whole body into memory before it sends
    // this reply (connection::do_response waits for content_ready); a hard
    // memory bound needs nginx in front or a listener that can stop reading.
    const auto length = view.headers.find("content-length");
    if (length != view.headers.end() && ContentLengthOver(length->second, options.max_body_bytes)) {
      reply->Send(TooLarge(options.max_body_bytes));
      return;
    }

    const std::size_t limit = options.max_body_bytes;
    const HookHandler& hook_handler = handler;
    // Raw bytes, no charset conversion: the JSON parser validates UTF-8.
    request.extract_vector().then(
        [reply, limit, &hook_handler, view = std::move(view)](
            const pplx::task<std::vector<unsigned char>>& read) mutable {
          try {
            std::vector<unsigned char> body;
            try {
              body = read.get();  // already complete: a task-based continuation never blocks
            } catch (const std::exception&) {
              reply->Send(ErrorView(
                  Error{ErrorCode::kInvalidRequest, "the request body could not be read"}));
              return;
            }
            if (body.size() > limit) {
              // TODO(#6): count chunked bodies while reading and stop at the limit.
              reply->Send(TooLarge(limit));
              return;
            }
            view.body.assign(body.begin(), body.end());
            hook_handler.Handle(view, [reply](HttpResponseView response) { reply->Send(response); });
          } catch (const std::exception& e) {
            reply->SendInternalError(e.what());
          } catch (...) {
            reply->SendInternalError(nullptr);
          }
        });
  } catch (const std::exception& e) {
    reply->SendInternalError(e.what());
  } catch (...) {
    reply->SendInternalError(nullptr);
  }
}

HttpServer::HttpServer(const HookHandler& handler, ServerOptions options)
    : state_(std::make_unique<State>(State{handler, std::move(options), nullptr})) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Url() const {
  return "http://" + state_->options.host + ":" + std::to_string(state_->options.port) + "/";
}

Status HttpServer::Start() {
  if (state_->listener) return OkStatus();
  InitializeThreadPool(state_->options.threads);
  try {
    http::experimental::listener::http_listener_config config;
    auto listener =
        std::make_unique<http::experimental::listener::http_listener>(web::uri(Url()), config);
    State* state = state_.get();
    listener->support([state](http::http_request request) { state->Serve(std::move(request)); });
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
