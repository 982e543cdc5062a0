// Normalize: walks the inputs (Bundles or bare resources), indexes Medication
// targets, reads each known resource type into facts and merges medications.

#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json_internal.h"
#include "fhir/medication_internal.h"
#include "fhir/normalize.h"

namespace cds::fhir {
namespace {

using internal::Find;
using internal::ReadProblems;

// Bundles inside bundles (batch-response, transaction-response) are followed
// this deep; FHIR servers do not nest them further.
constexpr int kMaxBundleNesting = 3;

// A string member as a view into the document ("" when absent or not a
// string). The views below never outlive Normalize: the inputs' documents
// outlive the call, and every fact copies what it keeps.
std::string_view StringView(const rapidjson::Value* v) {
  return v != nullptr && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength())
                                       : std::string_view();
}

// One resource found in the inputs, with where it came from. Big records hold
// thousands of resources, most of which carry no facts (Claim, Encounter, ...),
// so nothing here allocates: the place is spelled out only for a warning.
struct Located {
  const rapidjson::Value* resource = nullptr;
  std::string_view full_url;
  std::string_view type;      // resourceType ("" when absent or not a string)
  const std::string* within;  // "input[0]" or "Bundle/b1" (owned by the Collector)
  long entry = -1;            // index in that Bundle's entry array, -1 for a bare input
  FactCategory category = FactCategory::kMedications;  // of the input it came in
};

// "input[0]" or "Bundle/b1 entry[3]", for warnings about a resource without an id.
std::string Where(const Located& located) {
  if (located.entry < 0) return *located.within;
  return *located.within + " entry[" + std::to_string(located.entry) + "]";
}

// Flattens the inputs (Bundles or bare resources) into the resources they hold.
class Collector {
 public:
  Collector(std::vector<Located>& out, std::vector<std::string>& warnings)
      : out_(out), warnings_(warnings) {}

  void Collect(const rapidjson::Value& value, std::string_view full_url, const std::string* within,
               long entry, int nesting, FactCategory category) {
    const Located here{&value, full_url, StringView(Find(value, "resourceType")),
                       within, entry,    category};
    if (!value.IsObject()) {
      warnings_.push_back(Where(here) + ": not a JSON object");
      return;
    }
    if (here.type != "Bundle") {
      out_.push_back(here);
      return;
    }
    const std::string_view id = StringView(Find(value, "id"));
    const std::string& bundle =
        labels_.emplace_back(id.empty() ? Where(here) + " Bundle" : "Bundle/" + std::string(id));
    if (nesting >= kMaxBundleNesting) {
      warnings_.push_back(bundle + ": Bundle nested too deeply; skipped");
      return;
    }
    const rapidjson::Value* entries = Find(value, "entry");
    if (entries == nullptr || entries->IsNull()) return;  // an empty searchset
    if (!entries->IsArray()) {
      warnings_.push_back(bundle + ": entry is not an array");
      return;
    }
    for (rapidjson::SizeType i = 0; i < entries->Size(); ++i) {
      const rapidjson::Value& item = (*entries)[i];
      if (!item.IsObject()) {
        warnings_.push_back(bundle + " entry[" + std::to_string(i) + "]: not an object");
        continue;
      }
      const rapidjson::Value* resource = Find(item, "resource");
      // History and batch-response entries may carry only request/response.
      if (resource == nullptr || resource->IsNull()) continue;
      Collect(*resource, StringView(Find(item, "fullUrl")), &bundle, static_cast<long>(i),
              nesting + 1, category);
    }
  }

  // Labels of the top-level inputs ("input[0]", ...), kept with the Bundles'.
  const std::string* InputLabel(std::size_t i) {
    return &labels_.emplace_back("input[" + std::to_string(i) + "]");
  }

 private:
  std::vector<Located>& out_;
  std::vector<std::string>& warnings_;
  std::deque<std::string> labels_;  // a deque: Located points at its elements
};

class Normalizer {
 public:
  Normalizer(EpochSeconds as_of, const NormalizeOptions& options, PatientFacts& facts)
      : as_of_(as_of), options_(options), facts_(facts) {}

  void Run(const std::vector<FhirInput>& inputs) {
    std::vector<Located> resources;
    Collector collector(resources, facts_.warnings);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      collector.Collect(internal::AsValue(inputs[i].value), {}, collector.InputLabel(i), -1, 0,
                        inputs[i].category);
    }
    // Bundle-local references ("urn:uuid:...") to a Patient resolve to its id.
    for (const Located& r : resources) {
      if (!r.full_url.empty() && r.type == "Patient") {
        patient_urls_[std::string(r.full_url)] = std::string(StringView(Find(*r.resource, "id")));
      }
    }
    // Medications may be referenced from any input, so index them all first.
    for (const Located& r : resources) {
      if (r.type == "Medication") medications_.Add(*r.resource, r.full_url);
    }
    for (const Located& r : resources) Read(r);
    NoteForeignResources();
    facts_.medications = internal::MergeCurrentMedications(std::move(facts_.medications));
    internal::ExtendThroughCompletedChains(facts_.medications, options_.chain_gap_days);
    // A current medication that cannot be identified at all (a reference that
    // resolves to nothing and has no display) could be any drug: "not on X"
    // can no longer be trusted, so the category is only partial.
    for (const MedicationFact& m : facts_.medications) {
      if (!m.current || !m.code.codings.empty() || !m.code.text.empty() || !m.ingredients.empty())
        continue;
      CategoryState& state = facts_.state(FactCategory::kMedications);
      if (state.availability == Availability::kComplete) {
        state.availability = Availability::kPartial;
        state.note +=
            std::string(state.note.empty() ? "" : "; ") + m.ref + ": medication not identifiable";
      }
    }
  }

 private:
  void Read(const Located& located) {
    const rapidjson::Value& resource = *located.resource;
    const rapidjson::Value* type_value = Find(resource, "resourceType");
    if (type_value == nullptr || !type_value->IsString()) {
      facts_.warnings.push_back(
          Where(located) + ": " +
          (type_value == nullptr ? "missing resourceType" : "resourceType is not a string"));
      return;
    }
    const std::string_view type = located.type;
    // Other types (Medication, OperationOutcome, Encounter, ...) carry no facts.
    if (type != "MedicationRequest" && type != "MedicationStatement" && type != "Condition" &&
        type != "Observation" && type != "Patient") {
      return;
    }
    ReadProblems problems;
    const std::string id = internal::ReadString(resource, "id", "id", problems);
    const std::string ref = std::string(type) + "/" + (id.empty() ? "(no id)" : id);
    if (type != "Patient" && IsForeign(resource)) {
      // Issue #12: a server (or prefetch) that answers with another patient's
      // records must never put them on this patient's cards.
      facts_.foreign_resources.push_back(ref);
      foreign_categories_.insert(located.category);
      return;
    }
    // The same resource can arrive twice (an _include in one query and a
    // search hit in another); read it once.
    if (!id.empty() && !seen_.insert(ref).second) return;
    if (!problems.failed()) ReadKnown(type, resource, ref, problems);
    if (problems.failed()) facts_.warnings.push_back(ref + ": " + problems.fatal + "; skipped");
    for (const std::string& note : problems.notes) facts_.warnings.push_back(ref + ": " + note);
  }

  void ReadKnown(std::string_view type, const rapidjson::Value& resource, const std::string& ref,
                 ReadProblems& problems) {
    if (type == "MedicationRequest" || type == "MedicationStatement") {
      MedicationFact fact;
      const bool ok = type == "MedicationRequest"
                          ? internal::ReadMedicationRequest(resource, ref, medications_, as_of_,
                                                            options_, fact, problems)
                          : internal::ReadMedicationStatement(resource, ref, medications_, as_of_,
                                                              options_, fact, problems);
      if (ok) facts_.medications.push_back(std::move(fact));
    } else if (type == "Condition") {
      ConditionFact fact;
      if (internal::ReadCondition(resource, ref, as_of_, fact, problems)) {
        facts_.conditions.push_back(std::move(fact));
      }
    } else if (type == "Observation") {
      ObservationFact fact;
      if (internal::ReadObservation(resource, ref, fact, problems)) {
        facts_.observations.push_back(std::move(fact));
        // R5: coded components with their own value are results in their own right.
        internal::ReadObservationComponents(resource, facts_.observations.back(), problems,
                                            facts_.observations);
      }
    } else if (type == "Patient") {
      ReadPatient(resource, problems);
    }
  }

  void ReadPatient(const rapidjson::Value& resource, ReadProblems& problems) {
    const std::string id = internal::ReadString(resource, "id", "id", problems);
    const auto birth = internal::ReadDateTime(resource, "birthDate", "birthDate", problems);
    const std::string gender = internal::ReadString(resource, "gender", "gender", problems);
    const std::optional<bool> deceased_flag =
        internal::ReadBool(resource, "deceasedBoolean", "deceasedBoolean", problems);
    const auto deceased_at =
        internal::ReadDateTime(resource, "deceasedDateTime", "deceasedDateTime", problems);
    if (problems.failed()) return;
    if (patient_read_ || (!facts_.patient_id.empty() && facts_.patient_id != id)) {
      problems.notes.push_back("not the context patient or a second Patient; ignored");
      return;
    }
    patient_read_ = true;
    facts_.patient_id = id;
    facts_.birth_date = birth;
    if (birth) facts_.birth_date_latest = internal::ReadDateTimeLatest(resource, "birthDate");
    facts_.gender = gender;
    // R7: a deceasedDateTime says the patient died, whatever the date.
    facts_.deceased = deceased_flag.value_or(false) || deceased_at.has_value();
  }

  // True when the resource's subject names a patient other than the context
  // patient (or a non-Patient subject such as a Group). A resource without a
  // subject reference, or with a Bundle-local reference that resolves to no
  // Patient here, cannot be attributed and is kept.
  bool IsForeign(const rapidjson::Value& resource) const {
    if (facts_.patient_id.empty()) return false;  // no context patient to compare with
    const rapidjson::Value* subject = Find(resource, "subject");
    if (subject == nullptr || !subject->IsObject()) return false;
    std::string reference(StringView(Find(*subject, "reference")));
    if (reference.empty()) return false;
    if (reference.rfind("urn:", 0) == 0) {
      const auto it = patient_urls_.find(reference);
      return it != patient_urls_.end() && it->second != facts_.patient_id;
    }
    if (const std::size_t history = reference.find("/_history/"); history != std::string::npos) {
      reference.resize(history);
    }
    // "Patient/<id>" or an absolute URL ending in it.
    const std::string expected = "Patient/" + facts_.patient_id;
    if (reference == expected) return false;
    const std::size_t n = expected.size();
    if (reference.size() > n && reference.compare(reference.size() - n, n, expected) == 0 &&
        reference[reference.size() - n - 1] == '/' && reference.find("://") != std::string::npos) {
      return false;
    }
    return true;
  }

  // Dropped records may have stood for this patient's own: the categories
  // they came in are no longer complete ("no such record" is not trusted).
  void NoteForeignResources() {
    if (facts_.foreign_resources.empty()) return;
    facts_.warnings.push_back(std::to_string(facts_.foreign_resources.size()) +
                              " resource(s) for another patient dropped");
    for (const FactCategory category : foreign_categories_) {
      CategoryState& state = facts_.state(category);
      if (state.availability == Availability::kComplete) {
        state.availability = Availability::kPartial;
      }
      state.note += std::string(state.note.empty() ? "" : "; ") +
                    "resources for another patient were returned and dropped";
    }
  }

  EpochSeconds as_of_;
  const NormalizeOptions& options_;
  PatientFacts& facts_;
  internal::MedicationIndex medications_;
  std::set<std::string> seen_;
  std::map<std::string, std::string> patient_urls_;  // fullUrl -> Patient id
  std::set<FactCategory> foreign_categories_;
  bool patient_read_ = false;
};

}  // namespace

void Normalize(const std::vector<FhirInput>& inputs, EpochSeconds as_of,
               const NormalizeOptions& options, PatientFacts& facts) {
  Normalizer(as_of, options, facts).Run(inputs);
}

}  // namespace cds::fhir
