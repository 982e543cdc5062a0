#include "service/http/http_status.h"

#include <set>
#include <string>
#include <variant>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "service/http/http_response_text.h"

namespace cds::service {
namespace {

// Style §4.4: one ErrorCode/HttpErrorCode -> status table
// (service/http/http_status.cc). These tests check what the table must
// satisfy, not its rows again: every code has its own row, statuses fall in
// the right class, and every error answer has the same shape.
using Code = std::variant<ErrorCode, HttpErrorCode>;

// Every code of both enums (each enum is dense from 0; kInternal and
// kHttpVersionNotSupported are their last values).
std::vector<Code> AllCodes() {
  std::vector<Code> codes;
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    codes.emplace_back(static_cast<ErrorCode>(i));
  }
  for (int i = 0; i <= static_cast<int>(HttpErrorCode::kHttpVersionNotSupported); ++i) {
    codes.emplace_back(static_cast<HttpErrorCode>(i));
  }
  return codes;
}

HttpError ErrorOf(const Code& code, const std::string& message) {
  if (const auto* app = std::get_if<ErrorCode>(&code)) return Error{*app, message};
  return HttpError(std::get<HttpErrorCode>(code), message);
}

int StatusOf(const Code& code) {
  return std::visit([](auto c) { return HttpStatusFor(c); }, code);
}
std::string NameOf(const Code& code) {
  return std::visit([](auto c) { return std::string(ErrorCodeName(c)); }, code);
}

// The faults that are the server's, not the request's: a dependency down, a
// bad rule file, a bug, and the HTTP features we do not implement.
bool IsServerSide(const Code& code) {
  return code == Code{ErrorCode::kUnavailable} || code == Code{ErrorCode::kRuleConfig} ||
         code == Code{ErrorCode::kInternal} || code == Code{HttpErrorCode::kNotImplemented} ||
         code == Code{HttpErrorCode::kHttpVersionNotSupported};
}

BOOST_AUTO_TEST_SUITE(HttpStatus)

// A code missing from the table falls back to 500 "internal": so only
// kInternal may be named "internal", and every name is distinct.
BOOST_AUTO_TEST_CASE(every_code_has_its_own_row) {
  std::set<std::string> names;
  for (const Code& code : AllCodes()) {
    const std::string name = NameOf(code);
    BOOST_TEST_CONTEXT("code " << code.index() << ":"
                               << std::visit([](auto c) { return static_cast<int>(c); }, code)) {
      BOOST_TEST(!name.empty());
      BOOST_TEST(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos,
                 name << " is not snake_case");
      BOOST_TEST((name == "internal") == (code == Code{ErrorCode::kInternal}), name);
      BOOST_TEST(names.insert(name).second, name << " names two codes");
    }
  }
}

// The three lookups (a code of either enum, an HttpError) agree.
BOOST_AUTO_TEST_CASE(the_lookups_agree) {
  for (const Code& code : AllCodes()) {
    const HttpError error = ErrorOf(code, "m");
    BOOST_TEST(HttpStatusFor(error) == StatusOf(code), NameOf(code));
    BOOST_TEST(std::string(ErrorCodeName(error)) == NameOf(code));
  }
}

// Clients retry 5xx and fix 4xx: the request's faults are 4xx, ours 5xx.
BOOST_AUTO_TEST_CASE(request_faults_are_4xx_server_faults_5xx) {
  for (const Code& code : AllCodes()) {
    const int status = StatusOf(code);
    if (IsServerSide(code)) {
      BOOST_TEST((status >= 500 && status <= 599), NameOf(code) << " -> " << status);
    } else {
      BOOST_TEST((status >= 400 && status <= 499), NameOf(code) << " -> " << status);
    }
  }
  // The statuses the specifications fix: CDS Hooks 2.0 §Prefetch (412 when
  // required data cannot be obtained), RFC 6750 §3.1 (401 for a bad token).
  BOOST_TEST(HttpStatusFor(ErrorCode::kPrefetchUnavailable) == 412);
  BOOST_TEST(HttpStatusFor(ErrorCode::kUnauthorized) == 401);
}

// The answer every error gets: its status, a body of exactly the code's name
// and the message, JSON, no-store.
BOOST_AUTO_TEST_CASE(every_error_answer_has_one_shape) {
  for (const Code& code : AllCodes()) {
    const HttpResponseView view = ErrorViewFor(ErrorOf(code, "m"));
    BOOST_TEST(view.status == StatusOf(code), NameOf(code));
    BOOST_TEST(view.body == R"({"error":")" + NameOf(code) + R"(","message":"m"})");
    BOOST_TEST(view.content_type == "application/json");
    bool no_store = false;
    for (const auto& [name, value] : view.headers) {
      no_store |= name == "Cache-Control" && value == "no-store";
    }
    BOOST_TEST(no_store, NameOf(code));
  }
}

// The adapter's framing answers (the statuses the request parser and the
// header timeout send) are the table's answers for the code with that status.
BOOST_AUTO_TEST_CASE(framing_answers_use_the_table) {
  for (const int status : {400, 408, 413, 431, 501, 505}) {
    std::vector<Code> with_status;
    for (const Code& code : AllCodes()) {
      if (StatusOf(code) == status) with_status.push_back(code);
    }
    BOOST_TEST_REQUIRE(with_status.size() == 1U, status);
    const HttpResponseView expected = ErrorViewFor(ErrorOf(with_status.front(), "why"));
    const HttpResponseView view = FramingErrorResponse(status, "why");
    BOOST_TEST(view.status == status);
    BOOST_TEST(view.body == expected.body);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
