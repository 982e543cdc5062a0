#include "service/http/http_status.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

namespace cds::service {
namespace {

struct StatusCase {
  ErrorCode code;
  int status;
  const char* name;
};
std::ostream& operator<<(std::ostream& out, const StatusCase& c) { return out << c.name; }

// Style §4.4: the one table.
const StatusCase kCases[] = {
    {ErrorCode::kInvalidRequest, 400, "invalid_request"},
    {ErrorCode::kUnauthorized, 401, "unauthorized"},
    {ErrorCode::kUnknownService, 404, "unknown_service"},
    {ErrorCode::kMethodNotAllowed, 405, "method_not_allowed"},
    {ErrorCode::kPayloadTooLarge, 413, "payload_too_large"},
    {ErrorCode::kUnsupportedMedia, 415, "unsupported_media_type"},
    {ErrorCode::kPrefetchUnavailable, 412, "prefetch_unavailable"},
    {ErrorCode::kUpstreamFailure, 412, "upstream_failure"},
    {ErrorCode::kUnavailable, 503, "unavailable"},
    {ErrorCode::kRuleConfig, 500, "rule_config"},
    {ErrorCode::kInternal, 500, "internal"},
};

BOOST_AUTO_TEST_SUITE(HttpStatus)

BOOST_DATA_TEST_CASE(each_error_code_has_one_status_and_name, boost::unit_test::data::make(kCases),
                     c) {
  BOOST_TEST(HttpStatusFor(c.code) == c.status);
  BOOST_TEST(std::string(ErrorCodeName(c.code)) == c.name);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
