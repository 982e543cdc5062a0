// MedicationRequest / MedicationStatement -> MedicationFact, per §5.2.

#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "fhir/json_internal.h"
#include "fhir/medication_internal.h"

namespace cds::fhir::internal {
namespace {

constexpr std::string_view kMedicationPrefix = "Medication/";

// §5.2: intents that make a MedicationRequest part of the regimen.
constexpr std::array<std::string_view, 6> kOrderIntents{
    "order", "original-order", "reflex-order", "filler-order", "instance-order", "plan"};

template <class Set>
bool IsOneOf(std::string_view value, const Set& set) {
  return std::find(std::begin(set), std::end(set), value) != std::end(set);
}
bool IsOneOf(std::string_view value, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

std::string StringOrEmpty(const rapidjson::Value* v) {
  return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                       : std::string();
}

// "http://x/fhir/Medication/5/_history/2" -> "http://x/fhir/Medication/5".
std::string_view WithoutHistory(std::string_view reference) {
  const auto pos = reference.find("/_history/");
  return pos == std::string_view::npos ? reference : reference.substr(0, pos);
}

const rapidjson::Value* FindContained(const rapidjson::Value& container, std::string_view id) {
  const rapidjson::Value* contained = Find(container, "contained");
  if (contained == nullptr || !contained->IsArray()) return nullptr;
  for (const rapidjson::Value& r : contained->GetArray()) {
    if (StringOrEmpty(Find(r, "resourceType")) == "Medication" &&
        StringOrEmpty(Find(r, "id")) == id) {
      return &r;
    }
  }
  return nullptr;
}

// What medication[x] says, after resolving a reference.
struct MedicationCode {
  CodeableConcept code;
  std::vector<CodeableConcept> ingredients;
  std::string reference_display;
};

// Reads Medication.code and Medication.ingredient[].itemCodeableConcept.
bool ReadMedicationResource(const rapidjson::Value& medication, MedicationCode& out,
                            ReadProblems& problems) {
  out.code = ReadCodeableConcept(medication, "code", "code", problems);
  if (const rapidjson::Value* items = ReadArray(medication, "ingredient", "ingredient", problems)) {
    for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
      const std::string path = "ingredient[" + std::to_string(i) + "]";
      const rapidjson::Value& item = (*items)[i];
      if (!item.IsObject()) {
        problems.Fail(path + " is not an object");
        continue;
      }
      // itemReference (Substance/Medication) is not followed: the code is enough.
      if (const rapidjson::Value* c = Find(item, "itemCodeableConcept");
          c != nullptr && !c->IsNull()) {
        out.ingredients.push_back(ToCodeableConcept(*c, path + ".itemCodeableConcept", problems));
      }
    }
  }
  return !problems.failed();
}

bool ReadMedicationCode(const rapidjson::Value& resource, const MedicationIndex& index,
                        MedicationCode& out, ReadProblems& problems) {
  const rapidjson::Value* concept_value =
      ReadObject(resource, "medicationCodeableConcept", "medicationCodeableConcept", problems);
  const rapidjson::Value* reference =
      ReadObject(resource, "medicationReference", "medicationReference", problems);
  if (problems.failed()) return false;
  if (concept_value != nullptr) {
    out.code = ToCodeableConcept(*concept_value, "medicationCodeableConcept", problems);
    return !problems.failed();
  }
  if (reference == nullptr) {
    problems.Fail("medication[x] is missing");
    return false;
  }
  const std::string target_ref =
      ReadString(*reference, "reference", "medicationReference.reference", problems);
  out.reference_display =
      ReadString(*reference, "display", "medicationReference.display", problems);
  if (problems.failed()) return false;

  if (const rapidjson::Value* target = index.Resolve(target_ref, resource)) {
    MedicationCode resolved;
    ReadProblems target_problems;
    if (ReadMedicationResource(*target, resolved, target_problems)) {
      out.code = std::move(resolved.code);
      out.ingredients = std::move(resolved.ingredients);
      if (out.code.codings.empty() && out.code.text.empty()) out.code.text = out.reference_display;
      return true;
    }
    problems.notes.push_back("medicationReference target is malformed (" + target_problems.fatal +
                             "); using its display");
  } else if (out.reference_display.empty()) {
    problems.notes.push_back("medicationReference could not be resolved and has no display");
  }
  // §5.2: an unresolvable reference falls back to its display text.
  out.code.text = out.reference_display;
  return true;
}

void FillCommon(const std::string& ref, MedicationCode&& med, const CodeableConcept& route,
                MedicationFact& out) {
  out.ref = ref;
  out.code = std::move(med.code);
  out.ingredients = std::move(med.ingredients);
  out.name = ConceptName(out.code);
  for (std::size_t i = 0; out.name.empty() && i < out.ingredients.size(); ++i) {
    out.name = ConceptName(out.ingredients[i]);
  }
  if (out.name.empty()) out.name = med.reference_display;

  out.route = RouteFromConcept(route);
  if (out.route != Route::kUnknown) return;
  // §5.2: no coded route -> infer from the drug's name (RxNorm SCD dose form).
  std::vector<std::string_view> texts{out.name, out.code.text};
  for (const Coding& c : out.code.codings) texts.push_back(c.display);
  for (std::string_view t : texts) {
    out.route = RouteFromName(t);
    if (out.route != Route::kUnknown) return;
  }
}

// R13: without a validity end, a request covers (numberOfRepeatsAllowed + 1) x
// expectedSupplyDuration from its start. nullopt when the duration is absent or
// not in days, weeks or months.
std::optional<EpochSeconds> SupplyEnd(const rapidjson::Value& dispense, EpochSeconds start) {
  const rapidjson::Value* duration = Find(dispense, "expectedSupplyDuration");
  if (duration == nullptr || !duration->IsObject()) return std::nullopt;
  const rapidjson::Value* value = Find(*duration, "value");
  if (value == nullptr || !value->IsNumber()) return std::nullopt;
  std::string unit = StringOrEmpty(Find(*duration, "code"));
  if (unit.empty()) unit = StringOrEmpty(Find(*duration, "unit"));
  double days_per_unit = 0;
  if (unit == "d" || unit == "day" || unit == "days")
    days_per_unit = 1;
  else if (unit == "wk" || unit == "week" || unit == "weeks")
    days_per_unit = 7;
  else if (unit == "mo" || unit == "month" || unit == "months")
    days_per_unit = 30;
  if (days_per_unit == 0) return std::nullopt;
  double repeats = 0;
  if (const rapidjson::Value* r = Find(dispense, "numberOfRepeatsAllowed");
      r != nullptr && r->IsNumber()) {
    repeats = r->GetDouble();
  }
  const double days = (repeats + 1) * value->GetDouble() * days_per_unit;
  // A supply longer than 100 years is a data error, not a course.
  if (!(days >= 0 && days <= 36525)) return std::nullopt;
  return start + static_cast<EpochSeconds>(days * static_cast<double>(kSecondsPerDay));
}

// R13: true when there is at least one dosage and every one is "as needed".
bool AllAsNeeded(const rapidjson::Value& resource, const char* member) {
  const rapidjson::Value* dosages = Find(resource, member);
  if (dosages == nullptr || !dosages->IsArray() || dosages->Empty()) return false;
  for (const rapidjson::Value& d : dosages->GetArray()) {
    if (!d.IsObject()) return false;
    const rapidjson::Value* flag = Find(d, "asNeededBoolean");
    if (flag != nullptr && flag->IsBool() && flag->GetBool()) continue;
    if (const rapidjson::Value* concept_value = Find(d, "asNeededCodeableConcept");
        concept_value != nullptr && concept_value->IsObject()) {
      continue;
    }
    std::string text = StringOrEmpty(Find(d, "text"));
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string padded = " " + text + " ";
    if (padded.find(" prn ") != std::string::npos || padded.find("as needed") != std::string::npos)
      continue;
    return false;
  }
  return true;
}

// An explicit end before as_of makes the record not current.
bool EndedBefore(const rapidjson::Value& period, const std::string& path, EpochSeconds as_of,
                 ReadProblems& problems, std::string& reason) {
  const auto end = ReadDateTime(period, "end", path + ".end", problems);
  const auto latest = ReadDateTimeLatest(period, "end");
  if (!end || !latest || *latest >= as_of) return false;
  reason = "ended " + end->date_text;
  return true;
}

}  // namespace

std::optional<EpochSeconds> SupplyEndFrom(const rapidjson::Value& dispense, EpochSeconds start) {
  return SupplyEnd(dispense, start);
}

void MedicationIndex::Add(const rapidjson::Value& medication, std::string_view full_url) {
  const std::string id = StringOrEmpty(Find(medication, "id"));
  if (!id.empty()) by_key_.emplace(std::string(kMedicationPrefix) + id, &medication);
  if (!full_url.empty()) by_key_.emplace(std::string(WithoutHistory(full_url)), &medication);
}

const rapidjson::Value* MedicationIndex::Resolve(std::string_view reference,
                                                 const rapidjson::Value& container) const {
  if (reference.empty()) return nullptr;
  if (reference.front() == '#') return FindContained(container, reference.substr(1));
  reference = WithoutHistory(reference);
  if (auto it = by_key_.find(std::string(reference)); it != by_key_.end()) return it->second;
  // An absolute URL ".../Medication/<id>" matches the relative "Medication/<id>".
  const auto pos = reference.rfind(kMedicationPrefix);
  if (pos == std::string_view::npos || (pos > 0 && reference[pos - 1] != '/')) return nullptr;
  const std::string_view tail = reference.substr(pos);
  if (tail.find('/', kMedicationPrefix.size()) != std::string_view::npos) return nullptr;
  const auto it = by_key_.find(std::string(tail));
  return it == by_key_.end() ? nullptr : it->second;
}

bool ReadMedicationRequest(const rapidjson::Value& resource, const std::string& ref,
                           const MedicationIndex& index, EpochSeconds as_of,
                           const NormalizeOptions& options, MedicationFact& out,
                           ReadProblems& problems) {
  const std::string status = ReadString(resource, "status", "status", problems);
  const std::string intent = ReadString(resource, "intent", "intent", problems);
  const std::optional<bool> do_not_perform =
      ReadBool(resource, "doNotPerform", "doNotPerform", problems);
  const auto authored = ReadDateTime(resource, "authoredOn", "authoredOn", problems);
  const rapidjson::Value* dispense =
      ReadObject(resource, "dispenseRequest", "dispenseRequest", problems);
  const rapidjson::Value* validity =
      dispense == nullptr
          ? nullptr
          : ReadObject(*dispense, "validityPeriod", "dispenseRequest.validityPeriod", problems);
  const rapidjson::Value* dosage =
      ReadFirstObject(resource, "dosageInstruction", "dosageInstruction", problems);
  const CodeableConcept route =
      dosage == nullptr
          ? CodeableConcept{}
          : ReadCodeableConcept(*dosage, "route", "dosageInstruction[0].route", problems);
  std::optional<FhirInstant> validity_start;
  std::string ended;
  bool is_ended = false;
  if (validity != nullptr) {
    validity_start =
        ReadDateTime(*validity, "start", "dispenseRequest.validityPeriod.start", problems);
    is_ended = EndedBefore(*validity, "dispenseRequest.validityPeriod", as_of, problems, ended);
  }
  MedicationCode med;
  if (!ReadMedicationCode(resource, index, med, problems) || problems.failed()) return false;

  FillCommon(ref, std::move(med), route, out);
  out.as_needed = AllAsNeeded(resource, "dosageInstruction");
  // §2.2: exposure starts at the earliest of authoredOn and the validity start.
  out.start = Earliest(authored, validity_start);
  out.status = status;
  if (validity != nullptr) out.end = ReadDateTimeLatest(*validity, "end");
  if (!out.end && out.start && dispense != nullptr)
    out.end = SupplyEnd(*dispense, out.start->seconds);
  if (const rapidjson::Value* prior =
          ReadObject(resource, "priorPrescription", "priorPrescription", problems)) {
    std::string prior_ref =
        ReadString(*prior, "reference", "priorPrescription.reference", problems);
    if (!prior_ref.empty()) out.prior_refs.push_back(std::move(prior_ref));
  }

  if (status.empty()) {
    out.excluded_reason = "no status";
  } else if (status == "entered-in-error") {
    out.excluded_reason = "entered-in-error";
  } else if (!IsOneOf(status, {"active", "on-hold"})) {
    out.excluded_reason = "status " + status;
  } else if (intent.empty()) {
    out.excluded_reason = "no intent";
  } else if (!IsOneOf(intent, kOrderIntents) &&
             !(intent == "proposal" && options.count_proposal_intent)) {
    out.excluded_reason = "intent " + intent;
  } else if (do_not_perform.value_or(false)) {
    out.excluded_reason = "doNotPerform";
  } else if (is_ended) {
    out.excluded_reason = ended;
  }
  out.current = out.excluded_reason.empty();
  return true;
}

bool ReadMedicationStatement(const rapidjson::Value& resource, const std::string& ref,
                             const MedicationIndex& index, EpochSeconds as_of,
                             const NormalizeOptions& options, MedicationFact& out,
                             ReadProblems& problems) {
  const std::string status = ReadString(resource, "status", "status", problems);
  const auto effective_at =
      ReadDateTime(resource, "effectiveDateTime", "effectiveDateTime", problems);
  const rapidjson::Value* period =
      ReadObject(resource, "effectivePeriod", "effectivePeriod", problems);
  const rapidjson::Value* dosage = ReadFirstObject(resource, "dosage", "dosage", problems);
  const CodeableConcept route =
      dosage == nullptr ? CodeableConcept{}
                        : ReadCodeableConcept(*dosage, "route", "dosage[0].route", problems);
  std::string ended;
  bool is_ended = false;
  std::optional<FhirInstant> period_start;
  if (period != nullptr) {
    period_start = ReadDateTime(*period, "start", "effectivePeriod.start", problems);
    is_ended = EndedBefore(*period, "effectivePeriod", as_of, problems, ended);
  }
  MedicationCode med;
  if (!ReadMedicationCode(resource, index, med, problems) || problems.failed()) return false;

  FillCommon(ref, std::move(med), route, out);
  out.as_needed = AllAsNeeded(resource, "dosage");
  // dateAsserted is when it was recorded, not when the patient started.
  out.start = period_start ? period_start : effective_at;
  out.status = status;
  if (period != nullptr) out.end = ReadDateTimeLatest(*period, "end");

  const bool counts = status == "active" ||
                      (status == "intended" && options.count_intended_statements) ||
                      (status == "on-hold" && options.count_on_hold_statements);
  if (status.empty()) {
    out.excluded_reason = "no status";
  } else if (status == "entered-in-error") {
    out.excluded_reason = "entered-in-error";
  } else if (!counts) {
    out.excluded_reason = "status " + status;
  } else if (is_ended) {
    // §5.2: an end in the past wins even over status "active".
    out.excluded_reason = ended;
  }
  out.current = out.excluded_reason.empty();
  return true;
}

}  // namespace cds::fhir::internal
