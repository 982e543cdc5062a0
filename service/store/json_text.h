#pragma once

// The small JSON text the store writes into its own columns (the accepted
// suggestion ids as a JSON array), without pulling a JSON library into the
// store.

#include <string>
#include <vector>

namespace cds::service::store::internal {

// ["a","b"] with JSON string escaping.
std::string JsonStringArray(const std::vector<std::string>& items);

}  // namespace cds::service::store::internal
