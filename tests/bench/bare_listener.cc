// Reference (b) of the HTTP benchmark (issue #7): the stack's ceiling. A bare
// cpprestsdk http_listener that reads the body asynchronously, parses it with
// RapidJSON (with UTF-8 validation, like magcds) and answers a fixed response
// (a copy of magcds's real answer for the benchmark patient). No routing, no
// validation, no rules: everything magcds does on top of this is its cost.
//
//   bare_listener HOST:PORT RESPONSE_FILE [THREADS]
//
// THREADS is the cpprestsdk pool size (default 4, as magcds's `threads`).
// Handlers use .then() continuations only (stack notes §2: blocking on a pool
// thread deadlocks the listener). Stops on SIGINT/SIGTERM.

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>
#include <pthread.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace http = web::http;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bare_listener HOST:PORT RESPONSE_FILE [THREADS]\n";
    return 2;
  }
  const std::string listen = argv[1];
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) {
    std::cerr << "bare_listener: cannot read " << argv[2] << "\n";
    return 2;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string response_body = text.str();
  const std::size_t threads = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 4;

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  crossplat::threadpool::initialize_with_threads(threads == 0 ? 1 : threads);
  http::experimental::listener::http_listener listener(web::uri("http://" + listen + "/"));
  listener.support([&response_body](http::http_request request) {
    request.extract_vector().then(
        [request, &response_body](const pplx::task<std::vector<unsigned char>>& read) {
          http::status_code status = http::status_codes::OK;
          try {
            std::vector<unsigned char> body = read.get();  // complete: never blocks here
            rapidjson::Document doc;
            doc.Parse<rapidjson::kParseValidateEncodingFlag>(
                reinterpret_cast<const char*>(body.data()), body.size());
            if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("hook")) {
              status = http::status_codes::BadRequest;
            }
          } catch (const std::exception&) {
            status = http::status_codes::BadRequest;
          }
          http::http_response response(status);
          response.headers().add("Cache-Control", "no-store");
          response.set_body(
              status == http::status_codes::OK ? response_body : std::string("{\"error\":\"bad\"}"),
              "application/json");
          request.reply(response).then([](const pplx::task<void>& sent) {
            try {
              sent.get();
            } catch (const std::exception&) {
            }
          });
        });
  });
  listener.open().wait();
  std::printf("{\"event\":\"listening\",\"listen\":\"%s\",\"threads\":%zu}\n", listen.c_str(),
              threads);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  // close() may hang in some builds (cpprestsdk #1485): do not wait for it.
  std::fflush(stdout);
  std::_Exit(0);
}
