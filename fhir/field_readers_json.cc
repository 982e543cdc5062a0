// Defensive readers for FHIR fields (declared in fhir/json_internal.h).

#include <string>

#include "fhir/json_internal.h"

namespace cds::fhir::internal {
namespace {

std::string Joined(std::string_view path, std::string_view what) {
  std::string s(path);
  s += " is not ";
  s += what;
  return s;
}

// A member that is present and not JSON null (null is how some servers say "absent").
const rapidjson::Value* Present(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* v = Find(obj, name);
  return v != nullptr && !v->IsNull() ? v : nullptr;
}

}  // namespace

std::string ReadString(const rapidjson::Value& obj, const char* name, std::string_view path,
                       ReadProblems& problems) {
  const rapidjson::Value* v = Present(obj, name);
  if (v == nullptr) return {};
  if (!v->IsString()) {
    problems.Fail(Joined(path, "a string"));
    return {};
  }
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<bool> ReadBool(const rapidjson::Value& obj, const char* name, std::string_view path,
                             ReadProblems& problems) {
  const rapidjson::Value* v = Present(obj, name);
  if (v == nullptr) return std::nullopt;
  if (!v->IsBool()) {
    problems.Fail(Joined(path, "a boolean"));
    return std::nullopt;
  }
  return v->GetBool();
}

const rapidjson::Value* ReadObject(const rapidjson::Value& obj, const char* name,
                                   std::string_view path, ReadProblems& problems) {
  const rapidjson::Value* v = Present(obj, name);
  if (v == nullptr) return nullptr;
  if (!v->IsObject()) {
    problems.Fail(Joined(path, "an object"));
    return nullptr;
  }
  return v;
}

const rapidjson::Value* ReadArray(const rapidjson::Value& obj, const char* name,
                                  std::string_view path, ReadProblems& problems) {
  const rapidjson::Value* v = Present(obj, name);
  if (v == nullptr) return nullptr;
  if (!v->IsArray()) {
    problems.Fail(Joined(path, "an array"));
    return nullptr;
  }
  return v;
}

const rapidjson::Value* ReadFirstObject(const rapidjson::Value& obj, const char* name,
                                        std::string_view path, ReadProblems& problems) {
  const rapidjson::Value* array = ReadArray(obj, name, path, problems);
  if (array == nullptr || array->Empty()) return nullptr;
  const rapidjson::Value& first = (*array)[0];
  if (!first.IsObject()) {
    problems.Fail(Joined(std::string(path) + "[0]", "an object"));
    return nullptr;
  }
  return &first;
}

std::optional<FhirInstant> ReadDateTime(const rapidjson::Value& obj, const char* name,
                                        std::string_view path, ReadProblems& problems) {
  const rapidjson::Value* v = Present(obj, name);
  if (v == nullptr) return std::nullopt;
  if (!v->IsString()) {
    problems.Fail(Joined(path, "a string"));
    return std::nullopt;
  }
  auto parsed = ParseFhirDateTime(std::string_view(v->GetString(), v->GetStringLength()));
  if (!parsed) problems.notes.push_back(Joined(path, "a valid FHIR dateTime; ignored"));
  return parsed;
}

std::optional<EpochSeconds> ReadDateTimeLatest(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* v = Present(obj, name);
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return ParseFhirDateTimeLatest(std::string_view(v->GetString(), v->GetStringLength()));
}

CodeableConcept ToCodeableConcept(const rapidjson::Value& value, std::string_view path,
                                  ReadProblems& problems) {
  CodeableConcept concept_value;
  if (!value.IsObject()) {
    problems.Fail(Joined(path, "an object"));
    return concept_value;
  }
  // Field paths ("code.coding[2].system") are spelled out only for a problem:
  // building them for every field of every coding cost more than the reading.
  const auto field = [&path](std::string_view name) {
    std::string p(path);
    p += '.';
    p += name;
    return p;
  };
  const auto coding_field = [&path](rapidjson::SizeType i, std::string_view name) {
    std::string p = std::string(path) + ".coding[" + std::to_string(i) + "]";
    if (!name.empty()) {
      p += '.';
      p += name;
    }
    return p;
  };
  const auto read_string = [&problems](const rapidjson::Value& obj, const char* name,
                                       const auto& describe) -> std::string {
    const rapidjson::Value* v = Present(obj, name);
    if (v == nullptr) return {};
    if (!v->IsString()) {
      problems.Fail(Joined(describe(), "a string"));
      return {};
    }
    return std::string(v->GetString(), v->GetStringLength());
  };
  concept_value.text = read_string(value, "text", [&] { return field("text"); });
  const rapidjson::Value* codings = Present(value, "coding");
  if (codings == nullptr) return concept_value;
  if (!codings->IsArray()) {
    problems.Fail(Joined(field("coding"), "an array"));
    return concept_value;
  }
  concept_value.codings.reserve(codings->Size());
  for (rapidjson::SizeType i = 0; i < codings->Size(); ++i) {
    const rapidjson::Value& c = (*codings)[i];
    if (!c.IsObject()) {
      problems.Fail(Joined(coding_field(i, ""), "an object"));
      continue;
    }
    Coding coding;
    coding.system = read_string(c, "system", [&] { return coding_field(i, "system"); });
    coding.code = read_string(c, "code", [&] { return coding_field(i, "code"); });
    coding.display = read_string(c, "display", [&] { return coding_field(i, "display"); });
    concept_value.codings.push_back(std::move(coding));
  }
  return concept_value;
}

CodeableConcept ReadCodeableConcept(const rapidjson::Value& obj, const char* name,
                                    std::string_view path, ReadProblems& problems) {
  const rapidjson::Value* v = Present(obj, name);
  return v == nullptr ? CodeableConcept{} : ToCodeableConcept(*v, path, problems);
}

std::string ConceptName(const CodeableConcept& concept_value) {
  if (!concept_value.text.empty()) return concept_value.text;
  for (const Coding& coding : concept_value.codings) {
    if (!coding.display.empty()) return coding.display;
  }
  return {};
}

std::optional<FhirInstant> Earliest(std::optional<FhirInstant> a, std::optional<FhirInstant> b) {
  if (!a) return b;
  if (!b) return a;
  return b->seconds < a->seconds ? b : a;
}

}  // namespace cds::fhir::internal
