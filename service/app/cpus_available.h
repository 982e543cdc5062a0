#pragma once

// How many CPUs the process may run on: the default number of HTTP event
// loops (service/app/config.h, `threads`).

#include <cstddef>

namespace cds::service {

// The CPUs in the process's affinity mask (at least 1). A container's CPU
// quota is not seen here: set `threads` to the container's CPU limit.
std::size_t CpusAvailable();

}  // namespace cds::service
