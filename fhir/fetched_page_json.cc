#include <algorithm>
#include <cctype>
#include <string_view>

#include "fhir/fetched_page.h"
#include "fhir/json_internal.h"

namespace cds::fhir {
namespace {

using internal::Find;

// Bundles in Bundles are followed this deep (as Normalize does).
constexpr int kMaxBundleNesting = 3;

std::string StringOrEmpty(const rapidjson::Value* v) {
  return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                       : std::string();
}

bool IsJsonContentType(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(),
                            [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
             type.end());
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type.empty() || type == "application/json" || type == "application/fhir+json" ||
         type == "application/json+fhir";
}

void CollectResources(const rapidjson::Value& value, const std::string& full_url, int nesting,
                      std::vector<std::pair<const rapidjson::Value*, std::string>>& out) {
  if (!value.IsObject()) return;
  if (StringOrEmpty(Find(value, "resourceType")) != "Bundle") {
    out.emplace_back(&value, full_url);
    return;
  }
  if (nesting >= kMaxBundleNesting) return;
  const rapidjson::Value* entries = Find(value, "entry");
  if (entries == nullptr || !entries->IsArray()) return;
  for (const rapidjson::Value& entry : entries->GetArray()) {
    const rapidjson::Value* resource = Find(entry, "resource");
    if (resource == nullptr) continue;
    CollectResources(*resource, StringOrEmpty(Find(entry, "fullUrl")), nesting + 1, out);
  }
}

// Judges a resource read from an answer (whole body or batch entry).
FetchedPage JudgeResource(const PrefetchSpec& spec, std::shared_ptr<const JsonDocument> document,
                          JsonRef root) {
  FetchedPage page;
  if (!internal::AsValue(root).IsObject() ||
      StringOrEmpty(Find(internal::AsValue(root), "resourceType")).empty()) {
    page.reason = "not a FHIR resource";
    return page;
  }
  PrefetchVerdict verdict = ClassifyPrefetch(spec, root);
  page.use = verdict.use;
  if (verdict.use == PrefetchUse::kNotGiven) {
    // "the client could not prefetch it" is about prefetch, not this answer.
    constexpr std::string_view kPrefetchNote = " (the client could not prefetch it)";
    std::string what = verdict.reason;
    if (const std::size_t at = what.find(kPrefetchNote); at != std::string::npos) {
      what.erase(at, kPrefetchNote.size());
    }
    page.reason = "the answer is " + what;
    return page;
  }
  page.next_url = std::move(verdict.next_url);
  page.entries = CountBundleEntries(root);
  page.document = std::move(document);
  page.resource = root;
  return page;
}

}  // namespace

std::size_t CountBundleEntries(JsonRef ref) {
  const rapidjson::Value& value = internal::AsValue(ref);
  if (StringOrEmpty(Find(value, "resourceType")) != "Bundle") return 0;
  const rapidjson::Value* entries = Find(value, "entry");
  return entries != nullptr && entries->IsArray() ? entries->Size() : 0;
}

FetchedPage ReadFetchedPage(const PrefetchSpec& spec, FhirResponse response) {
  FetchedPage page;
  if (response.status == 0) {
    page.reason = response.timed_out ? "timed out" : "no answer (" + response.error + ")";
    return page;
  }
  if (response.status != 200) {
    page.reason = "HTTP " + std::to_string(response.status);
    return page;
  }
  if (!IsJsonContentType(response.content_type)) {
    page.reason = "not FHIR JSON (Content-Type is not JSON)";
    return page;
  }
  auto parsed = JsonDocument::ParseOwned(std::move(response.body));
  if (!parsed) {
    page.reason = "unreadable body (" + parsed.error().message + ")";
    return page;
  }
  const JsonRef root = (*parsed)->root();
  return JudgeResource(spec, std::move(parsed).value(), root);
}

FetchedPage ReadBatchEntry(const PrefetchSpec& spec, const BatchAnswer& answer, std::size_t i) {
  FetchedPage page;
  const BatchEntryAnswer& entry = answer.entries.at(i);
  if (entry.status == 0) {
    page.reason = "batch entry without a status";
    return page;
  }
  if (entry.status != 200) {
    page.reason = "HTTP " + std::to_string(entry.status);
    return page;
  }
  if (!entry.has_resource) {
    page.reason = "batch entry without a resource";
    return page;
  }
  return JudgeResource(spec, answer.document, entry.resource);
}

std::vector<std::string> UnresolvedMedicationReferences(const std::vector<FhirInput>& inputs) {
  std::vector<std::pair<const rapidjson::Value*, std::string>> resources;
  for (const FhirInput& input : inputs) {
    CollectResources(internal::AsValue(input.value), "", 0, resources);
  }
  internal::MedicationIndex index;
  for (const auto& [resource, full_url] : resources) {
    if (StringOrEmpty(Find(*resource, "resourceType")) == "Medication") {
      index.Add(*resource, full_url);
    }
  }
  std::vector<std::string> unresolved;
  for (const auto& [resource, full_url] : resources) {
    const std::string type = StringOrEmpty(Find(*resource, "resourceType"));
    if (type != "MedicationRequest" && type != "MedicationStatement") continue;
    const rapidjson::Value* reference = Find(*resource, "medicationReference");
    if (reference == nullptr || !reference->IsObject()) continue;
    const std::string target = StringOrEmpty(Find(*reference, "reference"));
    if (target.empty() || target.front() == '#') continue;
    if (index.Resolve(target, *resource) != nullptr) continue;
    if (std::find(unresolved.begin(), unresolved.end(), target) == unresolved.end()) {
      unresolved.push_back(target);
    }
  }
  return unresolved;
}

}  // namespace cds::fhir
