// RestFhirClient on cpprestsdk's http_client: see rest_fhir_client.h.
// Every cpprestsdk call is chained with .then(); nothing here ever waits on a
// pplx task (stack notes §2: a blocked pool thread can starve the listener).

#include "fhir/rest_fhir_client.h"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/json_document.h"

namespace cds::fhir {
namespace {

using SteadyClock = std::chrono::steady_clock;
namespace http = web::http;
namespace http_client = web::http::client;

constexpr std::size_t kReadChunk = 64 * 1024;
// A retry is only worth starting with at least this much time left.
constexpr std::chrono::milliseconds kMinRetryBudget{20};

long long MsSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

// A failure that a fresh connection may not have: the server closed an idle
// keep-alive connection just as the request went out on it.
bool IsStaleConnection(const http::http_exception& e) {
  const int code = e.error_code().value();
  if (code == ECONNRESET || code == EPIPE || code == ECONNABORTED) return true;
  const std::string what = e.what();
  return what.find("end of file") != std::string::npos ||
         what.find("End of file") != std::string::npos ||
         what.find("reset by peer") != std::string::npos ||
         what.find("Broken pipe") != std::string::npos;
}

// A request target without control characters, spaces or non-ASCII bytes:
// CR/LF or a space would split or rewrite the request line.
bool IsSafeRequestTarget(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

}  // namespace

// One Get in flight.
struct Call {
  FhirClient::Done done;
  std::atomic<bool> finished{false};
  std::atomic<bool> expired{false};  // the deadline passed (set before cancelling)
  pplx::cancellation_token_source cancel;
  SteadyClock::time_point start = SteadyClock::now();
  SteadyClock::time_point deadline;
  std::string log_path;
  std::string origin;
  std::string path_and_query;
  std::string bearer_token;
  bool post = false;         // POST `body` instead of GET
  std::string body;          // for a POST
  std::string content_type;  // for a POST
  std::atomic<int> attempts{0};
};

struct RestFhirClient::State : std::enable_shared_from_this<RestFhirClient::State> {
  explicit State(RestFhirClientOptions opts) : options(std::move(opts)) {}

  RestFhirClientOptions options;

  std::mutex clients_mutex;
  std::map<std::string, std::shared_ptr<http_client::http_client>> clients;  // by origin

  // The deadline timer: one thread for all requests.
  std::mutex timer_mutex;
  std::condition_variable timer_wakeup;
  std::multimap<SteadyClock::time_point, std::weak_ptr<Call>> timers;
  bool stopping = false;
  std::thread timer_thread;

  // Shutdown (issue #12): `shutting` makes new Gets fail at once; `closed`
  // drops every later answer; Shutdown waits for running callbacks to end.
  std::atomic<bool> shutting{false};
  std::mutex callbacks_mutex;
  std::condition_variable callbacks_idle;
  int active_callbacks = 0;
  bool closed = false;

  std::shared_ptr<http_client::http_client> ClientFor(const HttpUrl& url) {
    const std::string origin = url.Origin();
    std::lock_guard<std::mutex> lock(clients_mutex);
    auto it = clients.find(origin);
    if (it != clients.end()) return it->second;
    http_client::http_client_config config;
    config.set_timeout(options.phase_timeout);
    config.set_validate_certificates(true);
    config.set_proxy(web::web_proxy(web::web_proxy::disabled));
    // Issue #12: cpprestsdk follows up to 10 redirects by default, to any
    // origin and with our Authorization header: a FHIR server (or an
    // allowlisted jku) could send the token, or fetch keys, past the
    // allowlist. Redirects are never followed; a 3xx is a failed fetch.
    config.set_max_redirects(0);
    if (url.scheme == "https") {
      const std::string ca_file = options.ca_file;
      config.set_ssl_context_callback([ca_file](boost::asio::ssl::context& context) {
        context.set_options(
            boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
            boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
        if (!ca_file.empty()) context.load_verify_file(ca_file);
      });
    }
    const std::string base = url.scheme + "://" + url.host + ":" + std::to_string(url.port);
    auto client = std::make_shared<http_client::http_client>(base, config);
    clients.emplace(origin, client);
    return client;
  }

  // Answers the call once; later answers are dropped, and so is every answer
  // once Shutdown has finished (issue #12: what the callback touches may be
  // gone by then). Never throws: it runs inside pplx tasks, where an escaping
  // exception aborts the process.
  void Complete(const std::shared_ptr<Call>& call, FhirResponse response) noexcept {
    if (call->finished.exchange(true)) return;
    {
      std::lock_guard<std::mutex> lock(callbacks_mutex);
      if (closed) return;
      ++active_callbacks;
    }
    try {
      if (options.log) {
        FhirGetLog entry;
        entry.log_path = call->log_path;
        entry.origin = call->origin;
        entry.status = response.status;
        entry.elapsed_ms = MsSince(call->start);
        entry.attempts = call->attempts.load();
        entry.timed_out = response.timed_out;
        entry.error = response.error;
        options.log(entry);
      }
    } catch (...) {
      // Logging must never break the one-answer guarantee.
    }
    try {
      FhirClient::Done done = std::move(call->done);
      done(std::move(response));
    } catch (...) {
      // The caller's continuation failed; the call is answered either way.
    }
    {
      std::lock_guard<std::mutex> lock(callbacks_mutex);
      --active_callbacks;
    }
    callbacks_idle.notify_all();
  }

  static FhirResponse Failure(std::string error, bool timed_out = false) {
    FhirResponse response;
    response.error = std::move(error);
    response.timed_out = timed_out;
    return response;
  }

  void Expire(const std::shared_ptr<Call>& call) {
    // Any failure cpprestsdk reports from now on is our cancellation: a timeout.
    call->expired.store(true);
    if (call->finished.load()) return;
    // Answer, then cancel (which runs cpprestsdk's cancellation callbacks), on
    // a pool thread: the timer thread never waits on cpprestsdk or on the
    // caller's continuation (normalise, evaluate, reply), so one request can
    // never delay another's deadline.
    auto self = shared_from_this();
    pplx::create_task([self, call] {
      self->Complete(call, Failure("deadline reached before the FHIR server answered", true));
      try {
        call->cancel.cancel();
      } catch (...) {
        // Nothing left to cancel.
      }
    });
  }

  void TimerLoop() {
    std::unique_lock<std::mutex> lock(timer_mutex);
    while (!stopping) {
      if (timers.empty()) {
        timer_wakeup.wait(lock);
        continue;
      }
      const auto next = timers.begin()->first;
      if (SteadyClock::now() < next) {
        timer_wakeup.wait_until(lock, next);
        continue;
      }
      std::vector<std::shared_ptr<Call>> due;
      while (!timers.empty() && timers.begin()->first <= SteadyClock::now()) {
        if (auto call = timers.begin()->second.lock()) due.push_back(std::move(call));
        timers.erase(timers.begin());
      }
      lock.unlock();
      for (const auto& call : due) Expire(call);
      lock.lock();
    }
  }

  void Arm(const std::shared_ptr<Call>& call) {
    bool earliest = false;
    {
      std::lock_guard<std::mutex> lock(timer_mutex);
      const auto entry = timers.emplace(call->deadline, call);
      earliest = entry == timers.begin();  // after the emplace (operands are unsequenced)
    }
    // The timer thread sleeps until the earliest deadline: only a new earliest
    // one needs to wake it (issue #18: a wake-up per query was a thread switch each).
    if (earliest) timer_wakeup.notify_one();
  }

  void Send(const std::shared_ptr<Call>& call,
            const std::shared_ptr<http_client::http_client>& client) {
    ++call->attempts;
    http::http_request request(call->post ? http::methods::POST : http::methods::GET);
    request.set_request_uri(web::uri(call->path_and_query));
    request.headers().add("Accept", "application/fhir+json");
    if (call->post) request.set_body(call->body, call->content_type);
    if (!call->bearer_token.empty()) {
      request.headers().add("Authorization", "Bearer " + call->bearer_token);
    }
    auto self = shared_from_this();
    client
        ->request(request, call->cancel.get_token())
        // pplx recognises a task-based continuation by its by-value task parameter.
        // NOLINTNEXTLINE(performance-unnecessary-value-param)
        .then([self, call, client](pplx::task<http::http_response> task) {
          try {
            self->OnResponse(call, client, task);
          } catch (...) {
            self->Complete(call, Failure("request failed"));
          }
        });
  }

  void OnResponse(const std::shared_ptr<Call>& call,
                  const std::shared_ptr<http_client::http_client>& client,
                  const pplx::task<http::http_response>& task) {
    http::http_response response;
    try {
      response = task.get();  // the task is done: get() does not wait
    } catch (const http::http_exception& e) {
      if (call->finished.load()) return;
      if (call->expired.load()) {
        Complete(call, Failure("deadline reached before the FHIR server answered", true));
        return;
      }
      if (call->attempts == 1 && IsStaleConnection(e) &&
          call->deadline - SteadyClock::now() > kMinRetryBudget) {
        Send(call, client);
        return;
      }
      Complete(call, Failure(std::string("connection failed: ") + e.what()));
      return;
    } catch (const pplx::task_canceled&) {
      Complete(call, Failure("deadline reached before the FHIR server answered", true));
      return;
    } catch (const std::exception&) {
      Complete(call, Failure("request failed"));
      return;
    }
    if (call->finished.load()) return;
    const http::status_code status = response.status_code();
    if (status >= 300 && status < 400) {
      // Issue #12: redirects are never followed (max_redirects 0 above): a
      // redirect may point at another origin, past the allowlist, and would
      // carry the bearer token there. The key is then not obtained. The body
      // is not read; the connection is dropped.
      Complete(call, Failure("HTTP " + std::to_string(status) + " redirect not followed"));
      call->cancel.cancel();
      return;
    }
    const std::size_t declared = response.headers().content_length();
    if (declared > options.max_body_bytes) {
      Complete(call, Failure("response body over the size limit"));
      call->cancel.cancel();  // drops the connection
      return;
    }
    auto buffer =
        std::make_shared<concurrency::streams::container_buffer<std::vector<std::uint8_t>>>();
    // container_buffer grows by the size asked for: ask for what the server
    // declared (most FHIR answers are a few KB), not a fixed 64 KiB.
    const std::size_t chunk = declared > 0 ? std::min(declared, kReadChunk) : kReadChunk;
    ReadBody(call, response, buffer, 0, chunk);
  }

  void ReadBody(
      const std::shared_ptr<Call>& call, const http::http_response& response,
      const std::shared_ptr<concurrency::streams::container_buffer<std::vector<std::uint8_t>>>&
          buffer,
      std::size_t total, std::size_t chunk) {
    auto self = shared_from_this();
    // container_buffer grows by whole chunks; `total` counts the bytes read.
    response.body()
        .read(*buffer, chunk)
        // pplx recognises a task-based continuation by its by-value task parameter.
        // NOLINTNEXTLINE(performance-unnecessary-value-param)
        .then([self, call, response, buffer, total, chunk](pplx::task<std::size_t> task) {
          try {
            self->OnBodyChunk(call, response, buffer, total, chunk, task);
          } catch (...) {
            self->Complete(call, Failure("reading the body failed"));
          }
        });
  }

  void OnBodyChunk(
      const std::shared_ptr<Call>& call, const http::http_response& response,
      const std::shared_ptr<concurrency::streams::container_buffer<std::vector<std::uint8_t>>>&
          buffer,
      std::size_t total, std::size_t chunk, const pplx::task<std::size_t>& task) {
    auto self = shared_from_this();
    std::size_t n = 0;
    try {
      n = task.get();
    } catch (const pplx::task_canceled&) {
      self->Complete(call, Failure("deadline reached while reading the body", true));
      return;
    } catch (const std::exception& e) {
      self->Complete(call, call->expired.load()
                               ? Failure("deadline reached while reading the body", true)
                               : Failure(std::string("reading the body failed: ") + e.what()));
      return;
    }
    if (call->finished.load()) return;
    const std::size_t read = total + n;
    if (read > self->options.max_body_bytes) {
      self->Complete(call, Failure("response body over the size limit"));
      call->cancel.cancel();  // drops the connection
      return;
    }
    if (n == 0) {
      FhirResponse answer;
      answer.status = response.status_code();
      const std::vector<std::uint8_t>& bytes = buffer->collection();
      // Room for the padding an in-place parse appends (no second copy).
      answer.body.reserve(std::min(read, bytes.size()) + JsonDocument::kInsituPadding);
      answer.body.assign(bytes.begin(),
                         bytes.begin() + static_cast<std::ptrdiff_t>(std::min(read, bytes.size())));
      const auto type = response.headers().find("Content-Type");
      if (type != response.headers().end()) answer.content_type = type->second;
      self->Complete(call, std::move(answer));
      return;
    }
    self->ReadBody(call, response, buffer, read, chunk);
  }

  // Checks the call's URL, token and deadline, then sends it (Get and Post).
  void Start(const std::shared_ptr<Call>& call, const std::string& target) {
    if (shutting.load()) {
      Complete(call, Failure("FHIR client shut down"));
      return;
    }
    const std::optional<HttpUrl> url = ParseHttpUrl(target);
    if (!url || !options.policy.AllowsUrl(target)) {
      // No connection is ever made to a URL the policy does not allow.
      Complete(call, Failure("URL not allowed by the FHIR server policy"));
      return;
    }
    call->origin = url->Origin();
    call->path_and_query = (url->path.empty() ? "/" : url->path) +
                           (url->query.empty() ? std::string() : "?" + url->query);
    // Issue #12: a value that would change the meaning of the request line or
    // the Authorization header is never sent (request splitting).
    if (!IsSafeRequestTarget(call->path_and_query)) {
      Complete(call, Failure("URL holds characters that may not be sent"));
      return;
    }
    if (!call->bearer_token.empty() && !IsB64Token(call->bearer_token)) {
      Complete(call, Failure("access token is not an RFC 6750 b64token; not sent"));
      return;
    }
    if (SteadyClock::now() >= call->deadline) {
      Complete(call, Failure("deadline reached before the request was sent", true));
      return;
    }
    try {
      std::shared_ptr<http_client::http_client> client = ClientFor(*url);
      Arm(call);
      Send(call, client);
    } catch (...) {
      // Not e.what(): cpprestsdk's uri errors quote the URL, query values included.
      call->cancel.cancel();
      Complete(call, Failure("request not sent (invalid URL or client error)"));
    }
  }

  // Answers every call still in flight with an error, then drops all later
  // answers; returns once no callback is running (bounded wait).
  void Shutdown() {
    if (shutting.exchange(true)) return;
    std::vector<std::shared_ptr<Call>> in_flight;
    {
      std::lock_guard<std::mutex> lock(timer_mutex);
      stopping = true;
      for (auto& [when, weak] : timers) {
        if (auto call = weak.lock()) in_flight.push_back(std::move(call));
      }
      timers.clear();
    }
    timer_wakeup.notify_one();
    if (timer_thread.joinable()) timer_thread.join();
    for (const auto& call : in_flight) {
      Complete(call, Failure("FHIR client shut down"));
      try {
        call->cancel.cancel();
      } catch (...) {
        // Nothing left to cancel.
      }
    }
    std::unique_lock<std::mutex> lock(callbacks_mutex);
    closed = true;
    callbacks_idle.wait_for(lock, std::chrono::seconds(5),
                            [this] { return active_callbacks == 0; });
  }
};

Result<std::unique_ptr<RestFhirClient>> RestFhirClient::Create(RestFhirClientOptions options) {
  if (!options.ca_file.empty()) {
    try {
      boost::asio::ssl::context probe(boost::asio::ssl::context::tls_client);
      probe.load_verify_file(options.ca_file);
    } catch (const std::exception& e) {
      return Error{ErrorCode::kRuleConfig,
                   "cannot load the FHIR CA file '" + options.ca_file + "': " + e.what()};
    }
  }
  auto state = std::make_shared<State>(std::move(options));
  state->timer_thread = std::thread([raw = state.get()] { raw->TimerLoop(); });
  return std::unique_ptr<RestFhirClient>(new RestFhirClient(std::move(state)));
}

RestFhirClient::RestFhirClient(std::shared_ptr<State> state) : state_(std::move(state)) {}

RestFhirClient::~RestFhirClient() { state_->Shutdown(); }

void RestFhirClient::Shutdown() { state_->Shutdown(); }

namespace {

std::shared_ptr<Call> NewCall(FhirClient::Done done, SteadyClock::time_point deadline,
                              std::string log_path, std::string bearer_token) {
  auto call = std::make_shared<Call>();
  call->done = std::move(done);
  call->deadline = deadline;
  call->log_path = std::move(log_path);
  call->bearer_token = std::move(bearer_token);
  return call;
}

}  // namespace

void RestFhirClient::Get(FhirGet request, Done done) {
  state_->Start(NewCall(std::move(done), request.deadline, std::move(request.log_path),
                        std::move(request.bearer_token)),
                request.url);
}

void RestFhirClient::Post(FhirPost request, Done done) {
  auto call = NewCall(std::move(done), request.deadline, std::move(request.log_path),
                      std::move(request.bearer_token));
  call->post = true;
  call->body = std::move(request.body);
  call->content_type = std::move(request.content_type);
  state_->Start(call, request.url);
}

}  // namespace cds::fhir
