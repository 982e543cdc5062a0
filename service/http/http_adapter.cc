// HttpServer on Boost.Asio with the strict HttpRequestParser in front of the
// RequestHandler (issue #12; the design and why cpprestsdk's listener is no
// longer on the public socket: README "Security", service/http/http_adapter.h).

#include "service/http/http_adapter.h"

#include <pplx/threadpool.h>

#include <array>
#include <atomic>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "service/hooks/request_trace.h"
#include "service/http/http_request_parser.h"
#include "service/http/http_response_text.h"
#include "service/http/http_tls.h"
#include "service/log/log.h"

namespace cds::service {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;  // NOLINT(readability-identifier-naming): asio's spelling
using Clock = std::chrono::steady_clock;

// The FHIR and JWKS clients (cpprestsdk) run their continuations on the pplx
// pool; its size was set here when the listener was cpprestsdk's, and still is.
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

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void Close() = 0;  // thread-safe: posts to the session's strand
};

}  // namespace

// Shared by the server, its threads and every session (sessions keep it
// alive: a reply that arrives after Stop finds a stopped io_context, not a
// freed one).
struct HttpServer::State {
  State(const RequestHandler& h, ServerOptions o) : handler(h), options(std::move(o)) {
    const std::size_t count = options.threads == 0 ? 1 : options.threads;
    for (std::size_t i = 0; i < count; ++i) {
      ios.push_back(std::make_unique<asio::io_context>(1));  // run by one thread
    }
  }

  const RequestHandler& handler;
  const ServerOptions options;
  // One io_context per I/O thread, run by that thread alone (issue #18): a
  // connection stays on one thread, so its reads, its handler and its writes
  // never wake another. With one io_context shared by all the threads, each
  // completion could move to an idle thread: about one futex wake-up and
  // context switch per 16 KiB read of a big body. New connections are dealt
  // to the threads in turn; the acceptor and its timer are on the first.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  std::size_t next_io = 0;  // touched by the accept loop only
  asio::io_context& first_io() { return *ios.front(); }
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<ssl::context> tls;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool running = false;

  std::mutex sessions_mutex;
  std::map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;
  std::uint64_t next_session = 0;
  std::atomic<std::size_t> connections{0};

  std::unique_ptr<asio::steady_timer> accept_backoff;
  std::chrono::milliseconds backoff{0};

  void Accept(const std::shared_ptr<State>& self);
  void OnAccepted(const std::shared_ptr<State>& self, tcp::socket socket);
  void Register(std::uint64_t id, std::weak_ptr<SessionBase> session) {
    std::lock_guard<std::mutex> lock(sessions_mutex);
    sessions.emplace(id, std::move(session));
  }
  void Unregister(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(sessions_mutex);
    sessions.erase(id);
  }
  std::uint64_t NextId() {
    std::lock_guard<std::mutex> lock(sessions_mutex);
    return ++next_session;
  }
};

namespace {

using ServerState = HttpServer::State;

// One connection: reads requests one at a time through the parser, hands each
// complete one to the handler and writes its answer; pipelined requests are
// answered in order. Every step runs on the connection's strand.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<ServerState> state, Stream stream, std::uint64_t id)
      : state_(std::move(state)),
        stream_(std::move(stream)),
        timer_(stream_.get_executor()),
        parser_(Limits(state_->options)),
        id_(id) {}

  ~Session() override {
    state_->Unregister(id_);
    if (!uncounted_) --state_->connections;
  }

  // Called from the accept handler, which does not run on this connection's
  // strand: the first step moves there, so that a Close() posted by Stop()
  // (the session is registered already) never runs beside it (TSan found
  // the timer armed and cancelled at once on two threads).
  void Start() {
    auto self = this->shared_from_this();
    asio::dispatch(stream_.get_executor(), [self] { self->StartOnStrand(); });
  }

  // A connection with an answer on its way (being written, or still with the
  // handler) closes once that answer is written: shutdown truncates nothing.
  void Close() override {
    auto self = this->shared_from_this();
    asio::post(stream_.get_executor(), [self] {
      if (self->phase_ == Phase::kWriting || self->phase_ == Phase::kHandling) {
        self->keep_alive_ = false;
        return;
      }
      self->CloseNow();
    });
  }

 private:
  void StartOnStrand() {
    if (phase_ == Phase::kClosed) return;  // Stop's Close ran first
    if constexpr (kTls) {
      SetDeadline(state_->options.header_timeout);
      auto self = this->shared_from_this();
      stream_.async_handshake(ssl::stream_base::server,
                              [self](const boost::system::error_code& error) {
                                if (error) return self->CloseNow();
                                self->NextRequest();
                              });
    } else {
      NextRequest();
    }
  }

  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  enum class Phase { kIdle, kHead, kBody, kHandling, kWriting, kLingering, kClosed };
  // After a framing error the client may still be sending the request it
  // began (a 50 MB upload, say). Closing with its bytes unread makes the
  // kernel answer with a reset, which can destroy our error response before
  // the client reads it (seen: curl reporting its "100 Continue" instead of
  // our 413). So the server stops sending, reads and drops what still comes,
  // and closes at the client's end of stream, after this long, or after this
  // many bytes: a "lingering close" (RFC 9112 section 9.6).
  static constexpr std::chrono::milliseconds kLingerTime{2000};
  static constexpr std::size_t kLingerBytes = 64 * 1024 * 1024;

  static HttpParserLimits Limits(const ServerOptions& options) {
    HttpParserLimits limits;
    limits.max_header_bytes = options.max_header_bytes;
    limits.max_headers = options.max_headers;
    limits.max_body_bytes = options.max_body_bytes;
    return limits;
  }

  tcp::socket& Socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void SetDeadline(std::chrono::milliseconds after) {
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_after(after);
    auto self = this->shared_from_this();
    timer_.async_wait([self, generation](const boost::system::error_code& error) {
      if (error || generation != self->timer_generation_) return;
      self->OnTimeout();
    });
  }

  void CancelDeadline() {
    ++timer_generation_;
    timer_.cancel();
  }

  void OnTimeout() {
    if (phase_ == Phase::kHead || phase_ == Phase::kBody) {
      // Slowloris or a stalled upload: say so, then close.
      return SendFraming(408, "the request was not received in time");
    }
    CloseNow();  // idle keep-alive, stalled TLS handshake or a client not reading
  }

  void NextRequest() {
    parser_.Reset();
    sent_continue_ = false;
    phase_ = Phase::kIdle;
    SetDeadline(state_->options.idle_timeout);
    Process();
  }

  // Feeds what has been read to the parser and acts on its state.
  void Process() {
    if (!buffer_.empty()) {
      const bool was_started = parser_.started();
      const bool was_head_complete = parser_.head_complete();
      const std::size_t used = parser_.Feed(buffer_);
      buffer_.erase(0, used);
      if (!was_started && parser_.started()) {
        request_started_ = Clock::now();
        phase_ = Phase::kHead;
        SetDeadline(state_->options.header_timeout);
      }
      if (!was_head_complete && parser_.head_complete()) {
        phase_ = Phase::kBody;
        SetDeadline(state_->options.body_timeout);
      }
    }
    switch (parser_.state()) {
      case HttpRequestParser::State::kError:
        return SendFraming(parser_.error_status(), parser_.error_message());
      case HttpRequestParser::State::kComplete:
        return Dispatch();
      case HttpRequestParser::State::kBody:
        if (parser_.expects_continue() && !sent_continue_) {
          sent_continue_ = true;
          auto self = this->shared_from_this();
          auto bytes = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
          asio::async_write(stream_, asio::buffer(*bytes),
                            [self, bytes](const boost::system::error_code& error, std::size_t) {
                              if (error) return self->CloseNow();
                              self->ReadMore();
                            });
          return;
        }
        return ReadMore();
      case HttpRequestParser::State::kHead:
        return ReadMore();
    }
  }

  void ReadMore() {
    auto self = this->shared_from_this();
    stream_.async_read_some(asio::buffer(read_buffer_),
                            [self](const boost::system::error_code& error, std::size_t n) {
                              if (error) return self->CloseNow();
                              self->buffer_.append(self->read_buffer_.data(), n);
                              self->Process();
                            });
  }

  void Dispatch() {
    phase_ = Phase::kHandling;
    CancelDeadline();
    keep_alive_ = parser_.keep_alive() && !state_->stopping.load();
    HttpRequestView view = parser_.TakeRequest();
    head_request_ = view.method == "HEAD";
    view.trace = std::make_shared<RequestTrace>();
    std::function<void(HttpResponseView&)> decorate;
    if (state_->options.decorate) {
      auto head = std::make_shared<HttpRequestView>();
      head->method = view.method;
      head->path = view.path;
      head->headers = view.headers;
      decorate = [d = state_->options.decorate, head](HttpResponseView& r) { d(*head, r); };
    }
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto self = this->shared_from_this();
    Respond respond = [self, answered](HttpResponseView response) {
      if (answered->exchange(true)) return;
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->SendResponse(std::move(response));
      });
    };
    auto internal_error = [&](const char* what) {
      const std::string correlation = NewCorrelationId();
      LogFields fields = {{"correlationId", correlation}};
      if (what != nullptr) fields.emplace_back("exception", what);
      LogEvent("error", "unhandled_exception", fields);
      HttpResponseView failed = ErrorViewFor(
          Error{ErrorCode::kInternal, "internal error; correlation id " + correlation});
      if (decorate) decorate(failed);
      respond(std::move(failed));
    };
    try {
      state_->handler.Handle(std::move(view), respond);
    } catch (const std::exception& e) {
      internal_error(e.what());
    } catch (...) {
      internal_error(nullptr);
    }
  }

  void SendResponse(const HttpResponseView& response) {
    if (phase_ == Phase::kClosed) return;
    const bool keep = keep_alive_ && !ResponseAsksToClose(response) && !state_->stopping.load();
    Write(SerializeResponse(response, keep, head_request_), keep);
  }

  // An answer about the framing: always closes the connection.
  void SendFraming(int status, const std::string& message) {
    HttpResponseView view = FramingErrorResponse(status, message);
    // Issue #13: refusals of a request whose head was read are counted and
    // logged like answered ones.
    if (state_->options.on_refused && !parser_.request().method.empty()) {
      try {
        state_->options.on_refused(
            parser_.request(), status,
            std::chrono::duration<double>(Clock::now() - request_started_).count());
      } catch (...) {
        // Accounting never stops the answer.
      }
    }
    // Decorated (CORS) when the head was read, e.g. a 413 from Content-Length.
    if (state_->options.decorate && !parser_.request().method.empty() &&
        parser_.error_status() == 413) {
      state_->options.decorate(parser_.request(), view);
    }
    Write(SerializeResponse(view, false, false), false, /*linger=*/true);
  }

  void Write(std::string bytes, bool keep_alive, bool linger = false) {
    phase_ = Phase::kWriting;
    SetDeadline(state_->options.body_timeout);
    auto self = this->shared_from_this();
    auto data = std::make_shared<std::string>(std::move(bytes));
    asio::async_write(
        stream_, asio::buffer(*data),
        [self, data, keep_alive, linger](const boost::system::error_code& error, std::size_t) {
          if (!error && linger) return self->Linger();
          if (error || !keep_alive || !self->keep_alive_) return self->CloseNow();
          self->NextRequest();
        });
  }

  void Linger() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kLingering;
    SetDeadline(kLingerTime);
    boost::system::error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_send, ignored);
    DropInput();
  }

  // Reads from the socket under any TLS layer: the bytes are dropped anyway.
  void DropInput() {
    auto self = this->shared_from_this();
    Socket().async_read_some(
        asio::buffer(read_buffer_), [self](const boost::system::error_code& error, std::size_t n) {
          self->lingered_ += n;
          if (error || self->phase_ != Phase::kLingering || self->lingered_ >= kLingerBytes) {
            return self->CloseNow();
          }
          self->DropInput();
        });
  }

  void CloseNow() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    CancelDeadline();
    if (!uncounted_) {
      // The slot is free now, even while a late handler still holds us.
      uncounted_ = true;
      --state_->connections;
    }
    boost::system::error_code ignored;
    // No TLS close_notify exchange: it would wait on a client that may never
    // answer; the response was written in full before this.
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
  }

  std::shared_ptr<ServerState> state_;
  Stream stream_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  HttpRequestParser parser_;
  const std::uint64_t id_;
  std::string buffer_;  // read, not yet parsed (pipelined requests wait here)
  std::array<char, 16 * 1024> read_buffer_{};
  Phase phase_ = Phase::kIdle;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool sent_continue_ = false;
  bool uncounted_ = false;    // `connections` no longer counts this one
  std::size_t lingered_ = 0;  // bytes dropped after a framing error
  Clock::time_point request_started_ = Clock::now();
};

}  // namespace

void HttpServer::State::Accept(const std::shared_ptr<State>& self) {
  if (stopping.load()) return;
  if (connections.load() >= options.max_connections) {
    // At the cap: leave further connections in the kernel's backlog and look
    // again shortly (a connection closing frees a slot).
    accept_backoff->expires_after(std::chrono::milliseconds(20));
    accept_backoff->async_wait([self](const boost::system::error_code& error) {
      if (!error) self->Accept(self);
    });
    return;
  }
  asio::io_context& io = *ios[next_io++ % ios.size()];
  acceptor->async_accept(asio::make_strand(io), [self](const boost::system::error_code& error,
                                                       tcp::socket socket) {
    if (self->stopping.load()) return;
    if (error) {
      if (error == asio::error::operation_aborted) return;
      // EMFILE/ENFILE and the like: do not spin; back off up to 1 s.
      self->backoff = std::min(std::chrono::milliseconds(1000),
                               std::max(std::chrono::milliseconds(10), self->backoff * 2));
      LogEvent("warn", "accept_failed",
               {{"error", error.message()}, {"retryMs", std::to_string(self->backoff.count())}});
      self->accept_backoff->expires_after(self->backoff);
      self->accept_backoff->async_wait([self](const boost::system::error_code& e) {
        if (!e) self->Accept(self);
      });
      return;
    }
    self->backoff = std::chrono::milliseconds(0);
    self->OnAccepted(self, std::move(socket));
    self->Accept(self);
  });
}

void HttpServer::State::OnAccepted(const std::shared_ptr<State>& self, tcp::socket socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  ++connections;
  const std::uint64_t id = NextId();
  try {
    if (tls) {
      auto session = std::make_shared<Session<ssl::stream<tcp::socket>>>(
          self, ssl::stream<tcp::socket>(std::move(socket), *tls), id);
      Register(id, session);
      session->Start();
    } else {
      auto session = std::make_shared<Session<tcp::socket>>(self, std::move(socket), id);
      Register(id, session);
      session->Start();
    }
  } catch (const std::exception& e) {
    LogEvent("error", "connection_setup_failed", {{"error", e.what()}});
  }
}

HttpServer::HttpServer(const RequestHandler& handler, ServerOptions options)
    : state_(std::make_shared<State>(handler, std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::Url() const {
  const bool tls = !state_->options.tls_cert_file.empty();
  return (tls ? "https://" : "http://") + state_->options.host + ":" +
         std::to_string(state_->options.port) + "/";
}

Status HttpServer::Start() {
  if (state_->running) return OkStatus();
  InitializeThreadPool(state_->options.threads);
  try {
    if (!state_->options.tls_cert_file.empty()) {
      Result<TlsMaterial> material =
          LoadTlsMaterial(state_->options.tls_cert_file, state_->options.tls_key_file);
      if (!material) return material.error();
      state_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
      ConfigureTls(*state_->tls, *material);
    }
    tcp::resolver resolver(state_->first_io());
    const auto endpoints =
        resolver.resolve(state_->options.host, std::to_string(state_->options.port),
                         tcp::resolver::passive | tcp::resolver::numeric_service);
    if (endpoints.empty()) {
      return Error{ErrorCode::kInternal, "cannot listen on " + Url() + ": no address"};
    }
    const tcp::endpoint endpoint = *endpoints.begin();
    auto acceptor = std::make_unique<tcp::acceptor>(state_->first_io());
    acceptor->open(endpoint.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen(asio::socket_base::max_listen_connections);
    state_->acceptor = std::move(acceptor);
  } catch (const std::exception& e) {
    return Error{ErrorCode::kInternal, "cannot listen on " + Url() + ": " + e.what()};
  }
  state_->accept_backoff = std::make_unique<asio::steady_timer>(state_->first_io());
  state_->running = true;
  state_->Accept(state_);
  for (const auto& io : state_->ios) {
    // A thread whose io_context has no connection yet keeps waiting for one.
    state_->keep_running.push_back(asio::make_work_guard(*io));
  }
  for (std::size_t i = 0; i < state_->ios.size(); ++i) {
    state_->threads.emplace_back([state = state_, &io = *state_->ios[i]] {
      for (;;) {
        try {
          io.run();
          return;
        } catch (const std::exception& e) {
          // A handler threw past its own catch: log and keep serving.
          LogEvent("error", "io_thread_exception", {{"exception", e.what()}});
        } catch (...) {
          LogEvent("error", "io_thread_exception", {});
        }
      }
    });
  }
  return OkStatus();
}

bool HttpServer::Stop() {
  if (!state_->running) return true;
  state_->running = false;
  state_->stopping.store(true);
  auto state = state_;
  asio::post(state->first_io(), [state] {
    boost::system::error_code ignored;
    if (state->acceptor) state->acceptor->close(ignored);
    if (state->accept_backoff) state->accept_backoff->cancel();
  });
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard<std::mutex> lock(state->sessions_mutex);
    for (auto& [id, weak] : state->sessions) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
  }
  for (const auto& session : open) session->Close();
  open.clear();
  // The threads end once the sessions are gone; stop the loop if they do not
  // within the timeout (a reply still waiting on its handler).
  const auto deadline = Clock::now() + state->options.stop_timeout;
  while (state->connections.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  state->keep_running.clear();
  for (const auto& io : state->ios) io->stop();
  for (std::thread& thread : state->threads) {
    if (thread.joinable()) thread.join();
  }
  state->threads.clear();
  // Run what the closed sockets completed with, so the connections' handlers
  // (which hold the sessions, which hold this state) are released.
  for (const auto& io : state->ios) {
    try {
      io->restart();
      io->poll();
    } catch (...) {
      // Nothing more to release.
    }
  }
  return true;
}

}  // namespace cds::service
