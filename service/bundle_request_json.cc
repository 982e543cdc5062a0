// Bundle -> CDS Hooks request (service/bundle_request.h).
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhir/json_internal.h"
#include "service/bundle_request.h"
#include "service/hook_request.h"

namespace cds::service {
namespace {

using fhir::internal::AsValue;

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

Result<std::string> BuildBundleRequest(std::string_view bundle_json, const rules::RuleSet& rule_set,
                                       const rules::ServiceDefinition& service) {
  auto document = fhir::JsonDocument::Parse(bundle_json);
  if (!document) return document.error();
  const rapidjson::Value& bundle = AsValue((*document)->root());
  if (!IsType(bundle, "Bundle")) {
    return Error{ErrorCode::kInvalidRequest, "the file must hold a FHIR Bundle (resourceType)"};
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

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("hook");
  w.String(service.hook.c_str(), static_cast<rapidjson::SizeType>(service.hook.size()));
  w.Key("hookInstance");
  w.String("00000000-0000-4000-8000-00000000e7a1");
  w.Key("context");
  w.StartObject();
  w.Key("userId");
  w.String("Practitioner/magcds-cli");
  w.Key("patientId");
  const std::string patient_id = PatientId(patient);
  w.String(patient_id.c_str(), static_cast<rapidjson::SizeType>(patient_id.size()));
  w.EndObject();
  w.Key("prefetch");
  w.StartObject();
  for (const int index : service.prefetch) {
    if (index < 0 || static_cast<std::size_t>(index) >= rule_set.prefetch.size()) continue;
    const fhir::PrefetchSpec& spec = rule_set.prefetch[static_cast<std::size_t>(index)];
    w.Key(spec.key.c_str(), static_cast<rapidjson::SizeType>(spec.key.size()));
    const bool is_read = spec.query.find('?') == std::string::npos;
    if (is_read && spec.resource_type == "Patient") {
      if (patient != nullptr) {
        patient->Accept(w);
      } else {
        w.Null();
      }
    } else {
      bundle.Accept(w);
    }
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace cds::service
