// Small JSON reading helpers of the loader (loader_json_internal.h).

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "rules/loader_json_internal.h"

namespace cds::rules::internal {

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string Index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const Value* Member(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// Reads a required/optional string member.
bool GetString(const Value& object, const char* name, const std::string& path, Reporter& r,
               std::string& out, bool required) {
  const Value* v = Member(object, name);
  if (v == nullptr) {
    if (required) r.Fail(Join(path, name), "missing; expected a non-empty string");
    return !required;
  }
  if (!v->IsString() || v->GetStringLength() == 0) {
    r.Fail(Join(path, name), "expected a non-empty string");
    return false;
  }
  out.assign(v->GetString(), v->GetStringLength());
  return true;
}

bool IsSemVer(const std::string& s) {
  int parts = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i;
    if (i == start) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 3) return parts == 3 && (s[i] == '-' || s[i] == '+');
    ++i;
  }
  return parts == 3;
}

bool IsDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0UL, 1UL, 2UL, 3UL, 5UL, 6UL, 8UL, 9UL}) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) return false;
  }
  return true;
}

bool IsId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

std::string CompactJson(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool ParseRoute(const std::string& name, fhir::Route& out) {
  static const std::map<std::string, fhir::Route> kRoutes = {
      {"unknown", fhir::Route::kUnknown},
      {"oral", fhir::Route::kOral},
      {"intravenous", fhir::Route::kIntravenous},
      {"intramuscular", fhir::Route::kIntramuscular},
      {"subcutaneous", fhir::Route::kSubcutaneous},
      {"topical", fhir::Route::kTopical},
      {"rectal", fhir::Route::kRectal},
      {"inhalation", fhir::Route::kInhalation},
      {"other", fhir::Route::kOther}};
  auto it = kRoutes.find(name);
  if (it == kRoutes.end()) return false;
  out = it->second;
  return true;
}

bool IndicatorFromName(const std::string& name, Indicator& out) {
  if (name == "info")
    out = Indicator::kInfo;
  else if (name == "warning")
    out = Indicator::kWarning;
  else if (name == "critical")
    out = Indicator::kCritical;
  else
    return false;
  return true;
}

}  // namespace cds::rules::internal
