#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <string_view>
#include <utility>

#include "common/json_write_internal.h"
#include "fhir/batch_bundle.h"
#include "fhir/json_internal.h"

namespace cds::fhir {
namespace {

using internal::AsValue;
using internal::Find;

std::string_view StringOf(const rapidjson::Value* value) {
  return value != nullptr && value->IsString()
             ? std::string_view(value->GetString(), value->GetStringLength())
             : std::string_view();
}

// "200", "200 OK", "404 Not Found" -> the number; 0 when it does not start with one.
int LeadingStatus(std::string_view text) {
  int status = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), status);
  if (error != std::errc() || end == text.data() || status < 100 || status > 599) return 0;
  if (end != text.data() + text.size() && *end != ' ') return 0;
  return status;
}

}  // namespace

std::string BatchRequestBody(const std::vector<std::string>& relative_urls) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  json_internal::Field(w, "resourceType", "Bundle");
  json_internal::Field(w, "type", "batch");
  w.Key("entry");
  w.StartArray();
  for (const std::string& url : relative_urls) {
    w.StartObject();
    w.Key("request");
    w.StartObject();
    json_internal::Field(w, "method", "GET");
    json_internal::Field(w, "url", url);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<BatchAnswer> ReadBatchResponse(FhirResponse response, std::size_t expected) {
  auto fail = [](std::string why) { return Error{ErrorCode::kUpstreamFailure, std::move(why)}; };
  if (response.status == 0) {
    return fail(response.timed_out ? "timed out" : "no answer (" + response.error + ")");
  }
  if (response.status != 200) return fail("HTTP " + std::to_string(response.status));
  auto parsed = JsonDocument::ParseOwned(std::move(response.body));
  if (!parsed) return fail("unreadable body (" + parsed.error().message + ")");
  const rapidjson::Value& root = AsValue((*parsed)->root());
  if (!root.IsObject() || StringOf(Find(root, "resourceType")) != "Bundle" ||
      StringOf(Find(root, "type")) != "batch-response") {
    return fail("the answer is not a batch-response Bundle");
  }
  const rapidjson::Value* entries = Find(root, "entry");
  const std::size_t count = entries != nullptr && entries->IsArray() ? entries->Size() : 0;
  if (count != expected) {
    return fail("the batch-response has " + std::to_string(count) + " entries for " +
                std::to_string(expected) + " requests");
  }
  BatchAnswer answer;
  answer.entries.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const rapidjson::Value& entry = (*entries)[static_cast<rapidjson::SizeType>(i)];
    BatchEntryAnswer item;
    if (entry.IsObject()) {
      const rapidjson::Value* status = Find(entry, "response");
      if (status != nullptr && status->IsObject()) {
        item.status = LeadingStatus(StringOf(Find(*status, "status")));
      }
      const rapidjson::Value* resource = Find(entry, "resource");
      if (resource != nullptr && resource->IsObject()) {
        item.resource = internal::MakeRef(*resource);
        item.has_resource = true;
      }
    }
    answer.entries.push_back(item);
  }
  answer.document = std::move(parsed).value();
  return answer;
}

bool CapabilityDeclaresBatch(const FhirResponse& metadata) {
  if (metadata.status != 200) return false;
  auto parsed = JsonDocument::Parse(metadata.body);
  if (!parsed) return false;
  const rapidjson::Value& root = AsValue((*parsed)->root());
  if (!root.IsObject() || StringOf(Find(root, "resourceType")) != "CapabilityStatement") {
    return false;
  }
  const rapidjson::Value* rests = Find(root, "rest");
  if (rests == nullptr || !rests->IsArray()) return false;
  for (const rapidjson::Value& rest : rests->GetArray()) {
    if (!rest.IsObject() || StringOf(Find(rest, "mode")) != "server") continue;
    const rapidjson::Value* interactions = Find(rest, "interaction");
    if (interactions == nullptr || !interactions->IsArray()) continue;
    for (const rapidjson::Value& interaction : interactions->GetArray()) {
      if (interaction.IsObject() && StringOf(Find(interaction, "code")) == "batch") return true;
    }
  }
  return false;
}

}  // namespace cds::fhir
