// Observation -> ObservationFact: what the resource says, generic part of §5.1.
// Analyte-specific checks (codes, units, plausibility) are in lab_results.cc.

#include <string>
#include <string_view>

#include "fhir/json_internal.h"
#include "fhir/number_format.h"

namespace cds::fhir::internal {
namespace {

std::string Trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

// The number as the sender wrote it where RapidJSON keeps that exactly
// (integers), else the shortest text that round-trips ("1.1", not "1.1000000000000001").
std::string NumberText(const rapidjson::Value& v) {
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  return FormatShortest(v.GetDouble());
}

void ReadValue(const rapidjson::Value& resource, const std::string& path, ObservationFact& out,
               ReadProblems& problems) {
  if (const rapidjson::Value* s = Find(resource, "valueString"); s != nullptr && s->IsString()) {
    out.value_string = std::string(s->GetString(), s->GetStringLength());
  }
  if (const rapidjson::Value* quantity =
          ReadObject(resource, "valueQuantity", path + "valueQuantity", problems)) {
    // A value that is not a JSON number (e.g. the string "1.1") is "no numeric
    // value" for lab_results, not a malformed resource.
    if (const rapidjson::Value* v = Find(*quantity, "value"); v != nullptr && v->IsNumber()) {
      out.value = v->GetDouble();
      out.value_text = NumberText(*v);
    }
    out.comparator = ReadString(*quantity, "comparator", "valueQuantity.comparator", problems);
    const std::string code = Trimmed(ReadString(*quantity, "code", "valueQuantity.code", problems));
    const std::string unit = Trimmed(ReadString(*quantity, "unit", "valueQuantity.unit", problems));
    // §5.1: the UCUM code first, then the human-readable unit.
    out.unit = code.empty() ? unit : code;
  }
}

}  // namespace

void ReadObservationComponents(const rapidjson::Value& resource, const ObservationFact& parent,
                               ReadProblems& problems, std::vector<ObservationFact>& out) {
  const rapidjson::Value* components = Find(resource, "component");
  if (components == nullptr || !components->IsArray()) return;
  for (rapidjson::SizeType i = 0; i < components->Size(); ++i) {
    const rapidjson::Value& c = (*components)[i];
    if (!c.IsObject()) continue;
    const std::string path = "component[" + std::to_string(i) + "].";
    ReadProblems local;
    ObservationFact fact;
    fact.code = ReadCodeableConcept(c, "code", path + "code", local);
    ReadValue(c, path, fact, local);
    if (local.failed() || fact.code.codings.empty() || (!fact.value && fact.value_string.empty())) {
      continue;
    }
    fact.ref = parent.ref + " component[" + std::to_string(i) + "]";
    fact.component_of = parent.ref;
    fact.status = parent.status;
    fact.effective = parent.effective;
    fact.issued = parent.issued;
    fact.excluded_reason = parent.excluded_reason;
    out.push_back(std::move(fact));
  }
  (void)problems;
}

bool ReadObservation(const rapidjson::Value& resource, const std::string& ref, ObservationFact& out,
                     ReadProblems& problems) {
  out.ref = ref;
  out.status = ReadString(resource, "status", "status", problems);
  out.code = ReadCodeableConcept(resource, "code", "code", problems);
  ReadValue(resource, "", out, problems);
  out.issued = ReadDateTime(resource, "issued", "issued", problems);
  const auto at = ReadDateTime(resource, "effectiveDateTime", "effectiveDateTime", problems);
  const auto instant = ReadDateTime(resource, "effectiveInstant", "effectiveInstant", problems);
  std::optional<FhirInstant> period_end;
  if (const rapidjson::Value* period =
          ReadObject(resource, "effectivePeriod", "effectivePeriod", problems)) {
    period_end = ReadDateTime(*period, "end", "effectivePeriod.end", problems);
  }
  if (problems.failed()) return false;
  out.effective = at ? at : period_end ? period_end : instant ? instant : out.issued;
  return true;
}

}  // namespace cds::fhir::internal
