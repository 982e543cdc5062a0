#pragma once

// The defensive FHIR readers shared by fhir/'s *_json.cc files (style §4.3:
// only *_json.cc files include it; the JsonDocument <-> RapidJSON bridge is
// common/json_internal.h): every reader checks the JSON type before touching a value,
// because FHIR input is untrusted and Normalize must never crash or throw.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/json_document.h"
#include "common/json_internal.h"
#include "fhir/fhir_time.h"
#include "fhir/normalize.h"
#include "fhir/patient_facts.h"

namespace cds::fhir {

namespace internal {

using json_internal::AsValue;
using json_internal::Find;
using json_internal::MakeRef;
using json_internal::NullValue;

// Collects what is wrong with one resource while it is read. `fatal` problems
// (a field of the wrong JSON type) make the resource unusable; `notes` (a date
// that does not parse) drop just that field. Texts name fields, never values.
struct ReadProblems {
  std::string fatal;
  std::vector<std::string> notes;

  bool failed() const { return !fatal.empty(); }
  void Fail(std::string what) {
    if (fatal.empty()) fatal = std::move(what);
  }
};

// Typed readers. Absent (or JSON null) -> empty/nullopt/nullptr; present with
// the wrong type -> problems.Fail("<path> is not a <type>"). `path` is the
// field's name as shown in warnings, e.g. "dispenseRequest.validityPeriod".
std::string ReadString(const rapidjson::Value& obj, const char* name, std::string_view path,
                       ReadProblems& problems);
std::optional<bool> ReadBool(const rapidjson::Value& obj, const char* name, std::string_view path,
                             ReadProblems& problems);
const rapidjson::Value* ReadObject(const rapidjson::Value& obj, const char* name,
                                   std::string_view path, ReadProblems& problems);
const rapidjson::Value* ReadArray(const rapidjson::Value& obj, const char* name,
                                  std::string_view path, ReadProblems& problems);
// First element of an array member, if it is an object (else Fail / nullptr).
const rapidjson::Value* ReadFirstObject(const rapidjson::Value& obj, const char* name,
                                        std::string_view path, ReadProblems& problems);
// A date/dateTime/instant string; unparseable text adds a note and yields nullopt.
std::optional<FhirInstant> ReadDateTime(const rapidjson::Value& obj, const char* name,
                                        std::string_view path, ReadProblems& problems);
// The latest second a date member can mean (period ends); nullopt when absent
// or not a valid date (ReadDateTime on the same member reports that).
std::optional<EpochSeconds> ReadDateTimeLatest(const rapidjson::Value& obj, const char* name);
// A CodeableConcept member (absent -> empty concept).
CodeableConcept ReadCodeableConcept(const rapidjson::Value& obj, const char* name,
                                    std::string_view path, ReadProblems& problems);
// A CodeableConcept given as a value (already known to be present).
CodeableConcept ToCodeableConcept(const rapidjson::Value& value, std::string_view path,
                                  ReadProblems& problems);

// concept.text, else the first coding display, else "".
std::string ConceptName(const CodeableConcept& concept_value);

// Earliest of two optional instants.
std::optional<FhirInstant> Earliest(std::optional<FhirInstant> a, std::optional<FhirInstant> b);

// Medication resources that medicationReference may point to, by every key a
// reference can use: "Medication/<id>" and the entry's fullUrl.
class MedicationIndex {
 public:
  void Add(const rapidjson::Value& medication, std::string_view full_url);
  // Resolves a reference string; contained "#id" is looked up in `container`.
  const rapidjson::Value* Resolve(std::string_view reference,
                                  const rapidjson::Value& container) const;

 private:
  std::unordered_map<std::string, const rapidjson::Value*> by_key_;
};

// R13: (numberOfRepeatsAllowed + 1) x expectedSupplyDuration of a
// dispenseRequest, added to `start`; nullopt when absent or not in d/wk/mo.
std::optional<EpochSeconds> SupplyEndFrom(const rapidjson::Value& dispense, EpochSeconds start);

// Per-resource readers. Each returns false (and sets problems.fatal) when the
// resource is malformed; the caller turns that into a warning and skips it.
bool ReadMedicationRequest(const rapidjson::Value& resource, const std::string& ref,
                           const MedicationIndex& index, EpochSeconds as_of,
                           const NormalizeOptions& options, MedicationFact& out,
                           ReadProblems& problems);
bool ReadMedicationStatement(const rapidjson::Value& resource, const std::string& ref,
                             const MedicationIndex& index, EpochSeconds as_of,
                             const NormalizeOptions& options, MedicationFact& out,
                             ReadProblems& problems);
bool ReadCondition(const rapidjson::Value& resource, const std::string& ref, EpochSeconds as_of,
                   ConditionFact& out, ReadProblems& problems);
// Appends one ObservationFact per `component` that has a code and a value
// (status, dates and subject come from `parent`).
void ReadObservationComponents(const rapidjson::Value& resource, const ObservationFact& parent,
                               ReadProblems& problems, std::vector<ObservationFact>& out);
bool ReadObservation(const rapidjson::Value& resource, const std::string& ref, ObservationFact& out,
                     ReadProblems& problems);

}  // namespace internal
}  // namespace cds::fhir
