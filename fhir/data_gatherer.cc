#include "fhir/data_gatherer.h"

#include <utility>

#include "fhir/prefetch_value.h"

namespace cds::fhir {
namespace {

// What became of one prefetch key.
enum class KeyOutcome { kComplete, kPartial, kMissing };

struct KeyResult {
  const PrefetchSpec* spec;
  KeyOutcome outcome;
  std::string note;
};

void Aggregate(const std::vector<KeyResult>& keys, GatherResult& result) {
  bool seen[kFactCategoryCount] = {};
  for (auto& state : result.states) state.availability = Availability::kComplete;
  for (const KeyResult& key : keys) {
    auto c = static_cast<std::size_t>(key.spec->category);
    seen[c] = true;
    CategoryState& state = result.states[c];
    if (!key.note.empty()) {
      result.notes.push_back(key.spec->key + ": " + key.note);
      state.note += (state.note.empty() ? "" : "; ") + key.spec->key + ": " + key.note;
    }
    if (key.outcome == KeyOutcome::kMissing && key.spec->required) {
      state.availability = Availability::kNotObtained;
      result.unavailable_required.push_back(key.spec->key);
    } else if (key.outcome != KeyOutcome::kComplete && state.availability == Availability::kComplete) {
      state.availability = Availability::kPartial;
    }
  }
  for (std::size_t c = 0; c < static_cast<std::size_t>(kFactCategoryCount); ++c) {
    if (!seen[c]) result.states[c].availability = Availability::kNotObtained;
  }
}

}  // namespace

void DataGatherer::Gather(GatherInput input, Done done) const {
  GatherResult result;
  if (input.request_document) result.documents.push_back(input.request_document);
  std::vector<KeyResult> keys;
  for (const PrefetchSpec& spec : input.specs) {
    auto it = input.prefetch.find(spec.key);
    PrefetchVerdict verdict;
    if (it == input.prefetch.end()) {
      verdict.reason = "absent from prefetch";
    } else if (it->second.is_null) {
      verdict.use = PrefetchUse::kNoData;
    } else {
      verdict = ClassifyPrefetch(spec, it->second.value);
    }
    switch (verdict.use) {
      case PrefetchUse::kNoData:
        keys.push_back({&spec, KeyOutcome::kComplete, ""});
        break;
      case PrefetchUse::kUsable:
        result.inputs.push_back({spec.category, it->second.value});
        keys.push_back({&spec, KeyOutcome::kComplete, ""});
        break;
      case PrefetchUse::kPaged:
        // TODO(#4): follow `next` against fhirServer; until then the data is partial.
        result.inputs.push_back({spec.category, it->second.value});
        keys.push_back({&spec, KeyOutcome::kPartial, "more pages not fetched"});
        break;
      case PrefetchUse::kNotGiven:
        // TODO(#4): fetch from fhirServer when a client and server are available.
        keys.push_back({&spec, KeyOutcome::kMissing,
                        verdict.reason + (input.fhir_server.empty() ? "; no fhirServer to fetch from"
                                                                    : "; not fetched")});
        break;
    }
  }
  (void)client_;
  Aggregate(keys, result);
  done(std::move(result));
}

}  // namespace cds::fhir
