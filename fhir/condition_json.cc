// Condition -> ConditionFact, per §5.3.

#include <string>

#include "fhir/json_internal.h"

namespace cds::fhir::internal {
namespace {

// The status code of clinicalStatus / verificationStatus ("" if none).
std::string StatusCode(const CodeableConcept& status) {
  for (const Coding& c : status.codings) {
    if (!c.code.empty()) return c.code;
  }
  return {};
}

bool HasAbatement(const rapidjson::Value& resource) {
  for (const char* name : {"abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange",
                           "abatementString"}) {
    const rapidjson::Value* v = Find(resource, name);
    if (v != nullptr && !v->IsNull()) return true;
  }
  return false;
}

}  // namespace

bool ReadCondition(const rapidjson::Value& resource, const std::string& ref, EpochSeconds as_of,
                   ConditionFact& out, ReadProblems& problems) {
  const CodeableConcept clinical =
      ReadCodeableConcept(resource, "clinicalStatus", "clinicalStatus", problems);
  const CodeableConcept verification =
      ReadCodeableConcept(resource, "verificationStatus", "verificationStatus", problems);
  out.code = ReadCodeableConcept(resource, "code", "code", problems);
  bool problem_list_item = false;
  if (const rapidjson::Value* categories = ReadArray(resource, "category", "category", problems)) {
    for (rapidjson::SizeType i = 0; i < categories->Size(); ++i) {
      const CodeableConcept category =
          ToCodeableConcept((*categories)[i], "category[" + std::to_string(i) + "]", problems);
      for (const Coding& c : category.codings) {
        if (c.code == "problem-list-item") problem_list_item = true;
      }
    }
  }
  std::optional<FhirInstant> abated =
      ReadDateTime(resource, "abatementDateTime", "abatementDateTime", problems);
  if (const rapidjson::Value* period =
          ReadObject(resource, "abatementPeriod", "abatementPeriod", problems)) {
    abated = ReadDateTime(*period, "end", "abatementPeriod.end", problems);
  }
  std::optional<FhirInstant> onset =
      ReadDateTime(resource, "onsetDateTime", "onsetDateTime", problems);
  if (const rapidjson::Value* period =
          ReadObject(resource, "onsetPeriod", "onsetPeriod", problems)) {
    onset = ReadDateTime(*period, "start", "onsetPeriod.start", problems);
  }
  const std::optional<FhirInstant> recorded =
      ReadDateTime(resource, "recordedDate", "recordedDate", problems);
  if (problems.failed()) return false;

  out.ref = ref;
  out.recorded = recorded;
  out.name = ConceptName(out.code);
  out.onset = onset;
  const std::string clinical_code = StatusCode(clinical);
  const std::string verification_code = StatusCode(verification);
  out.unconfirmed = verification_code == "unconfirmed" || verification_code == "differential";

  if (verification_code == "refuted" || verification_code == "entered-in-error") {
    out.excluded_reason = verification_code;
  } else if (clinical_code.empty()) {
    // §5.3: without clinicalStatus only an unabated problem-list entry counts.
    if (HasAbatement(resource)) {
      out.excluded_reason = "no clinicalStatus, abatement recorded";
    } else if (!problem_list_item) {
      out.excluded_reason = "no clinicalStatus, not a problem-list-item";
    }
  } else if (clinical_code != "active" && clinical_code != "recurrence" &&
             clinical_code != "relapse") {
    out.excluded_reason = "clinicalStatus " + clinical_code;
  }
  if (out.excluded_reason.empty() && abated && abated->seconds < as_of) {
    out.excluded_reason = "abated " + abated->date_text;
  }
  out.current = out.excluded_reason.empty();
  return true;
}

}  // namespace cds::fhir::internal
