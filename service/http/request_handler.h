#pragma once

// RequestHandler: what the HTTP adapter (service/http/http_adapter.h) serves. The
// CDS Hooks endpoints (HookHandler), the operational endpoints (OpsHandler)
// and the instrumenting front that routes between them (InstrumentedHandler)
// all implement it, so one adapter can serve any of them on its own port.
//
// The request is passed by value: each handler moves it on to the next, and
// the one that ends the chain may take what it needs (the hook handler parses
// the body in place) instead of copying it (issue #18: a 3 MB body was
// copied once more for the parse, and the whole request again when auth was
// on).
//
// Contract of Handle: `respond` is called exactly once per request, either
// before Handle returns or later on another thread; it must not block for
// long. Handle itself never blocks on I/O (stack notes §2).
//
// Thread-safety: Handle may be called from many threads at once.

#include <functional>

#include "service/http/http_types.h"

namespace cds::service {

using Respond = std::function<void(HttpResponseView)>;

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual void Handle(HttpRequestView request, Respond respond) const = 0;
};

}  // namespace cds::service
