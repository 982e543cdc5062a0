#include "service/http/http_status.h"

#include <utility>
#include <variant>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "service/http/http_response_text.h"

namespace cds::service {
namespace {

struct StatusCase {
  std::variant<ErrorCode, HttpErrorCode> code;
  int status;
  const char* name;
};
std::ostream& operator<<(std::ostream& out, const StatusCase& c) { return out << c.name; }

// Style §4.4: the one table, every code of both enums.
const StatusCase kCases[] = {
    {ErrorCode::kInvalidRequest, 400, "invalid_request"},
    {ErrorCode::kUnauthorized, 401, "unauthorized"},
    {ErrorCode::kUnknownService, 404, "unknown_service"},
    {HttpErrorCode::kMethodNotAllowed, 405, "method_not_allowed"},
    {HttpErrorCode::kRequestTimeout, 408, "request_timeout"},
    {HttpErrorCode::kPayloadTooLarge, 413, "payload_too_large"},
    {HttpErrorCode::kUnsupportedMedia, 415, "unsupported_media_type"},
    {HttpErrorCode::kHeaderFieldsTooLarge, 431, "request_header_fields_too_large"},
    {HttpErrorCode::kNotImplemented, 501, "not_implemented"},
    {HttpErrorCode::kHttpVersionNotSupported, 505, "http_version_not_supported"},
    {ErrorCode::kPrefetchUnavailable, 412, "prefetch_unavailable"},
    {ErrorCode::kUpstreamFailure, 412, "upstream_failure"},
    {ErrorCode::kUnavailable, 503, "unavailable"},
    {ErrorCode::kRuleConfig, 500, "rule_config"},
    {ErrorCode::kInternal, 500, "internal"},
};

BOOST_AUTO_TEST_SUITE(HttpStatus)

HttpError ErrorOf(const StatusCase& c) {
  if (const auto* code = std::get_if<ErrorCode>(&c.code)) return Error{*code, "m"};
  return HttpError(std::get<HttpErrorCode>(c.code), "m");
}

BOOST_DATA_TEST_CASE(each_error_code_has_one_status_and_name, boost::unit_test::data::make(kCases),
                     c) {
  const HttpError error = ErrorOf(c);
  BOOST_TEST(HttpStatusFor(error) == c.status);
  BOOST_TEST(std::string(ErrorCodeName(error)) == c.name);
  std::visit(
      [&c](auto code) {
        BOOST_TEST(HttpStatusFor(code) == c.status);
        BOOST_TEST(std::string(ErrorCodeName(code)) == c.name);
      },
      c.code);
}

// The answer every error gets: status and body from the table, no-store.
BOOST_DATA_TEST_CASE(error_view_uses_the_table, boost::unit_test::data::make(kCases), c) {
  const HttpResponseView view = ErrorViewFor(ErrorOf(c));
  BOOST_TEST(view.status == c.status);
  BOOST_TEST(view.body == std::string("{\"error\":\"") + c.name + "\",\"message\":\"m\"}");
  BOOST_TEST(view.content_type == "application/json");
  bool no_store = false;
  for (const auto& [name, value] : view.headers)
    no_store |= name == "Cache-Control" && value == "no-store";
  BOOST_TEST(no_store);
}

// The adapter's framing answers come from the same table.
BOOST_AUTO_TEST_CASE(framing_answers_use_the_table) {
  const std::pair<int, const char*> cases[] = {
      {400, "invalid_request"},   {408, "request_timeout"},
      {413, "payload_too_large"}, {431, "request_header_fields_too_large"},
      {501, "not_implemented"},   {505, "http_version_not_supported"},
  };
  for (const auto& [status, name] : cases) {
    const HttpResponseView view = FramingErrorResponse(status, "why");
    BOOST_TEST(view.status == status);
    BOOST_TEST(view.body == std::string("{\"error\":\"") + name + "\",\"message\":\"why\"}");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
