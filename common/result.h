#pragma once

// The project's one error vocabulary (style §4.4). It sits at the bottom of the
// dependency graph so every folder can use it. Result<T> follows the shape of
// std::expected so it can become an alias once the project moves to C++23.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace cds {

// What went wrong, in the project's terms. Errors only the HTTP exchange can
// have (405, 413, 415, ...) are not here: they are service/http/http_status.h's
// HttpErrorCode. The status each code answers with is decided there too.
enum class ErrorCode {
  kInvalidRequest,       // 400: malformed JSON, missing field, wrong hook
  kUnauthorized,         // 401: JWT missing or invalid (never say why in the body)
  kUnknownService,       // 404
  kPrefetchUnavailable,  // 412: required data neither prefetched nor fetchable
  kUpstreamFailure,      // 412: the FHIR server failed us
  kUnavailable,          // 503: a dependency of ours (e.g. the feedback store) is down; retry later
  kRuleConfig,           // a rule file is invalid (startup / reload error, never per request)
  kInternal,             // 500
};

struct [[nodiscard]] Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace cds
