// libFuzzer target: the CDS Hooks request parser (service/hooks/hook_request.h) and
// the feedback parser, on arbitrary bytes. Any crash, leak, UB or exception
// escaping is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "service/hooks/feedback_request.h"
#include "service/hooks/hook_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto request = cds::service::ParseHookRequest(text);
  if (request) static_cast<void>(request->hook.size());
  static_cast<void>(cds::service::ParseFeedbackRequest(text));
  return 0;
}
