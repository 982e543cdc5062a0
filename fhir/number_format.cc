#include "fhir/number_format.h"

#include <charconv>
#include <cmath>

namespace cds::fhir::internal {

std::string FormatShortest(double value) {
  if (!std::isfinite(value)) return "nan";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

std::string FormatSignificant(double value, int digits) {
  if (!std::isfinite(value)) return "nan";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, digits);
  return std::string(buf, r.ptr);
}

}  // namespace cds::fhir::internal
