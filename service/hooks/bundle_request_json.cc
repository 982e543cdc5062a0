// Bundle -> CDS Hooks request (service/hooks/bundle_request.h).
#include <set>
#include <string>

#include "common/json_internal.h"
#include "service/hooks/bundle_request.h"
#include "service/hooks/hook_request.h"

namespace cds::service {
namespace {

using json_internal::AsValue;

bool IsType(const rapidjson::Value& value, const char* type) {
  if (!value.IsObject()) return false;
  const auto it = value.FindMember("resourceType");
  return it != value.MemberEnd() && it->value.IsString() && it->value == type;
}

const rapidjson::Value* FindPatient(const rapidjson::Value& bundle) {
  const auto entries = bundle.FindMember("entry");
  if (entries == bundle.MemberEnd() || !entries->value.IsArray()) return nullptr;
  for (const rapidjson::Value& entry : entries->value.GetArray()) {
    if (!entry.IsObject()) continue;
    const auto resource = entry.FindMember("resource");
    if (resource != entry.MemberEnd() && IsType(resource->value, "Patient")) {
      return &resource->value;
    }
  }
  return nullptr;
}

// Patient resources with different ids (one without an id counts on its own).
std::size_t DistinctPatients(const rapidjson::Value& bundle) {
  const auto entries = bundle.FindMember("entry");
  if (entries == bundle.MemberEnd() || !entries->value.IsArray()) return 0;
  std::set<std::string> ids;
  std::size_t without_id = 0;
  for (const rapidjson::Value& entry : entries->value.GetArray()) {
    if (!entry.IsObject()) continue;
    const auto resource = entry.FindMember("resource");
    if (resource == entry.MemberEnd() || !IsType(resource->value, "Patient")) continue;
    const auto id = resource->value.FindMember("id");
    if (id != resource->value.MemberEnd() && id->value.IsString()) {
      ids.insert(std::string(id->value.GetString(), id->value.GetStringLength()));
    } else {
      ++without_id;
    }
  }
  return ids.size() + without_id;
}

std::string PatientId(const rapidjson::Value* patient) {
  if (patient != nullptr) {
    const auto id = patient->FindMember("id");
    if (id != patient->MemberEnd() && id->value.IsString()) {
      std::string text(id->value.GetString(), id->value.GetStringLength());
      if (IsFhirId(text)) return text;
    }
  }
  return "";
}

}  // namespace

Result<HookRequest> BuildBundleRequest(std::shared_ptr<const JsonDocument> bundle_document,
                                       const rules::RuleSet& rule_set,
                                       const rules::ServiceDefinition& service,
                                       const std::string& user_id) {
  const rapidjson::Value& bundle = AsValue(bundle_document->root());
  if (!IsType(bundle, "Bundle")) {
    return Error{ErrorCode::kInvalidRequest, "the file must hold a FHIR Bundle (resourceType)"};
  }
  if (const std::size_t patients = DistinctPatients(bundle); patients > 1) {
    // Never mix two patients' records into one evaluation.
    return Error{ErrorCode::kInvalidRequest,
                 "the Bundle holds " + std::to_string(patients) +
                     " different Patient resources; give one patient per Bundle"};
  }
  const rapidjson::Value* patient = FindPatient(bundle);
  // Issue #13: a record without its Patient belongs to no one; evaluating it
  // under a made-up id would look like a real answer.
  if (patient == nullptr) {
    return Error{ErrorCode::kInvalidRequest,
                 "the Bundle holds no Patient resource (an entry whose resource has "
                 "resourceType \"Patient\"); add the patient's Patient to the Bundle"};
  }
  if (PatientId(patient).empty()) {
    return Error{ErrorCode::kInvalidRequest,
                 "the Bundle's Patient has no usable id (a FHIR id: letters, digits, '-' and "
                 "'.', at most 64 characters)"};
  }

  HookRequest request;
  request.hook = service.hook;
  request.hook_instance = "00000000-0000-4000-8000-00000000e7a1";
  request.user_id = user_id;
  request.patient_id = PatientId(patient);
  request.tokens["context.patientId"] = request.patient_id;
  request.tokens["context.userId"] = request.user_id;
  if (user_id.rfind("Practitioner/", 0) == 0) {
    request.tokens["userPractitionerId"] = user_id.substr(std::string_view("Practitioner/").size());
  }
  for (const int index : service.prefetch) {
    if (index < 0 || static_cast<std::size_t>(index) >= rule_set.prefetch.size()) continue;
    const fhir::PrefetchSpec& spec = rule_set.prefetch[static_cast<std::size_t>(index)];
    fhir::PrefetchValue value;
    const bool is_read = spec.query.find('?') == std::string::npos;
    if (is_read && spec.resource_type == "Patient") {
      if (patient != nullptr) {
        value.value = JsonRef(patient);
      } else {
        value.is_null = true;
      }
    } else {
      value.value = bundle_document->root();
    }
    request.prefetch[spec.key] = value;
  }
  request.document = std::move(bundle_document);
  return request;
}

std::optional<fhir::EpochSeconds> LatestRecordedTime(const JsonDocument& document) {
  const rapidjson::Value& bundle = AsValue(document.root());
  if (!bundle.IsObject()) return std::nullopt;
  const auto entries = bundle.FindMember("entry");
  if (entries == bundle.MemberEnd() || !entries->value.IsArray()) return std::nullopt;
  std::optional<fhir::EpochSeconds> latest;
  const auto consider = [&latest](const rapidjson::Value& value) {
    if (!value.IsString()) return;
    const auto t =
        fhir::ParseFhirDateTimeLatest(std::string_view(value.GetString(), value.GetStringLength()));
    if (t && (!latest || *t > *latest)) latest = *t;
  };
  static const char* const kInstants[] = {"effectiveDateTime", "issued",        "authoredOn",
                                          "recordedDate",      "onsetDateTime", "performedDateTime",
                                          "occurrenceDateTime"};
  static const char* const kPeriods[] = {"period", "effectivePeriod", "performedPeriod"};
  for (const rapidjson::Value& entry : entries->value.GetArray()) {
    if (!entry.IsObject()) continue;
    const auto resource = entry.FindMember("resource");
    if (resource == entry.MemberEnd() || !resource->value.IsObject()) continue;
    const rapidjson::Value& r = resource->value;
    for (const char* name : kInstants) {
      const auto it = r.FindMember(name);
      if (it != r.MemberEnd()) consider(it->value);
    }
    for (const char* name : kPeriods) {
      const auto it = r.FindMember(name);
      if (it == r.MemberEnd() || !it->value.IsObject()) continue;
      for (const char* end : {"start", "end"}) {
        const auto bound = it->value.FindMember(end);
        if (bound != it->value.MemberEnd()) consider(bound->value);
      }
    }
  }
  return latest;
}

}  // namespace cds::service
