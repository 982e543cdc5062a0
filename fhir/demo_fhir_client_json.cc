#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhir/demo_fhir_client.h"
#include "fhir/json_internal.h"

namespace cds::fhir {
namespace {

using internal::AsValue;
using internal::Find;

std::string Str(const rapidjson::Value* v) {
  return v != nullptr && v->IsString() ? v->GetString() : "";
}

// The value of `name=` in a query string, up to the next '&' (no decoding:
// demo ids are plain).
std::string Param(const std::string& query, const std::string& name) {
  std::size_t pos = 0;
  while (pos < query.size()) {
    std::size_t end = query.find('&', pos);
    if (end == std::string::npos) end = query.size();
    std::string part = query.substr(pos, end - pos);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

}  // namespace

struct DemoFhirClient::Data {
  std::vector<std::shared_ptr<const JsonDocument>> documents;
  // patient id -> resources of that patient's bundle
  std::map<std::string, std::vector<const rapidjson::Value*>> by_patient;
  std::map<std::string, const rapidjson::Value*> medications;  // Medication id -> resource
};

DemoFhirClient::DemoFhirClient(
    const std::vector<std::pair<std::shared_ptr<const JsonDocument>, JsonRef>>& bundles)
    : data_(std::make_unique<Data>()) {
  for (const auto& [document, ref] : bundles) {
    data_->documents.push_back(document);
    const rapidjson::Value* entries = Find(AsValue(ref), "entry");
    if (entries == nullptr || !entries->IsArray()) continue;
    std::string patient;
    std::vector<const rapidjson::Value*> resources;
    for (const auto& entry : entries->GetArray()) {
      const rapidjson::Value* resource = Find(entry, "resource");
      if (resource == nullptr || !resource->IsObject()) continue;
      std::string type = Str(Find(*resource, "resourceType"));
      if (type == "Patient") patient = Str(Find(*resource, "id"));
      if (type == "Medication") data_->medications[Str(Find(*resource, "id"))] = resource;
      resources.push_back(resource);
    }
    if (!patient.empty()) data_->by_patient[patient] = std::move(resources);
  }
}

DemoFhirClient::~DemoFhirClient() = default;

std::vector<std::string> DemoFhirClient::PatientIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, resources] : data_->by_patient) ids.push_back(id);
  return ids;
}

bool DemoFhirClient::HasPatient(const std::string& id) const {
  return data_->by_patient.count(id) != 0;
}

void DemoFhirClient::Get(FhirGet request, Done done) {
  FhirResponse response;
  response.status = 404;
  response.content_type = "application/fhir+json";
  const std::string base = std::string(kDemoFhirBase) + "/";
  if (request.url.rfind(base, 0) != 0) {
    response.status = 0;
    response.error = "not the demo FHIR base";
    done(std::move(response));
    return;
  }
  std::string rest = request.url.substr(base.size());
  std::size_t q = rest.find('?');
  std::string path = rest.substr(0, q);
  std::string query = q == std::string::npos ? "" : rest.substr(q + 1);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  std::size_t slash = path.find('/');
  if (slash != std::string::npos) {  // read: Type/id
    std::string type = path.substr(0, slash), id = path.substr(slash + 1);
    const rapidjson::Value* found = nullptr;
    if (type == "Medication") {
      auto it = data_->medications.find(id);
      if (it != data_->medications.end()) found = it->second;
    } else if (type == "Patient") {
      auto it = data_->by_patient.find(id);
      if (it != data_->by_patient.end()) {
        for (const rapidjson::Value* r : it->second) {
          if (Str(Find(*r, "resourceType")) == "Patient") found = r;
        }
      }
    }
    if (found != nullptr) {
      found->Accept(writer);
      response.status = 200;
      response.body = buffer.GetString();
    }
    done(std::move(response));
    return;
  }
  std::string patient = Param(query, "patient");
  if (patient.empty()) patient = Param(query, "subject");
  if (patient.rfind("Patient/", 0) == 0) patient = patient.substr(8);
  writer.StartObject();
  writer.Key("resourceType");
  writer.String("Bundle");
  writer.Key("type");
  writer.String("searchset");
  writer.Key("entry");
  writer.StartArray();
  if (auto it = data_->by_patient.find(patient); it != data_->by_patient.end()) {
    for (const rapidjson::Value* r : it->second) {
      if (Str(Find(*r, "resourceType")) != path) continue;
      writer.StartObject();
      writer.Key("resource");
      r->Accept(writer);
      writer.EndObject();
    }
  }
  writer.EndArray();
  writer.EndObject();
  response.status = 200;
  response.body = buffer.GetString();
  done(std::move(response));
}

}  // namespace cds::fhir
