#pragma once

// DataGatherer: turns a hook request's prefetch (and, where a key is missing,
// the EHR's FHIR server) into FHIR inputs plus a state per fact category.
// CDS Hooks 2.0 §Prefetch: a key that is absent, an OperationOutcome, a Bundle
// holding one, or a value of the wrong type is "not provided" and is fetched
// from fhirServer when a client and a token are available; `null` and an empty
// searchset Bundle mean "no data" and are never re-queried.
//
// Fetching (issue #4; checklist P-14…P-17, F-1):
// - only when the request carries both fhirServer and an access token, a
//   FhirClient is configured, and fhirServer is one of GatherOptions::servers;
// - every missing key's template is rendered (fhir/prefetch_template.h) and all
//   queries run in parallel under one total deadline (GatherOptions::deadline,
//   counted from the call to Gather);
// - Bundle `next` links are followed, also for prefetched Bundles, but only to
//   fhirServer's own origin, up to max_pages pages and max_entries entries per
//   key. Reaching either cap fails the key (its data would be incomplete);
// - afterwards, medicationReference targets that are neither contained nor in
//   any Bundle are read as Medication/<id> from fhirServer (same deadline); one
//   that cannot be had leaves the medications category partial;
// - any failure of a key's query (no answer, timeout, non-200, non-FHIR or
//   malformed body, OperationOutcome, wrong type, cap reached, next link to
//   another origin) makes that key not obtained: a required key is named in
//   unavailable_required, with the reason in unavailable_details (the
//   handler's 412, UnavailableMessage), an optional one leaves its
//   category partial. Pages already read for a failed key are not used.
//
// A fhirServer that is not on the allowlist (while one is configured) is a bad
// request: `error` is kInvalidRequest (400) and no connection is made, whether
// or not the prefetch is complete. Without an allowlist the service is
// prefetch-only and ignores fhirServer.
//
// Gather never blocks: it completes through `done`, possibly on another thread
// (FHIR I/O), and always exactly once, by the deadline at the latest (the
// FhirClient contract bounds every query by the same deadline).
// Thread-safety: a DataGatherer is immutable; Gather may run concurrently.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/json_document.h"
#include "common/result.h"
#include "fhir/fhir_url.h"
#include "fhir/normalize.h"
#include "fhir/patient_facts.h"
#include "fhir/prefetch_spec.h"

namespace cds::fhir {

class FhirClient;       // fhir/fhir_client.h (FHIR fetching; may be null: prefetch only)
class DemoFhirClient;   // fhir/demo_fhir_client.h (embedded-defaults demo)
class BatchCapability;  // fhir/batch_capability.h (which servers take batches)

struct PrefetchValue {
  bool is_null = false;  // the key was present with JSON null
  JsonRef value;         // the value, when not null
};

struct GatherInput {
  std::vector<PrefetchSpec> specs;                       // the called service's keys
  std::map<std::string, PrefetchValue> prefetch;         // keys present in the request
  std::shared_ptr<const JsonDocument> request_document;  // owns `prefetch` values
  // Prefetch token values: "context.patientId" -> "123", "userPractitionerId" -> "abc".
  std::map<std::string, std::string> tokens;
  std::string fhir_server;   // "" if the request named none
  std::string access_token;  // "" if the request carried no fhirAuthorization
};

struct GatherOptions {
  FhirServerPolicy servers;                 // FHIR bases we may contact; empty: none
  std::chrono::milliseconds deadline{300};  // for all queries of one request together
  std::size_t max_pages = 10;               // per key, the first page included
  std::size_t max_entries = 5000;           // per key, all pages together
  std::size_t max_medication_reads = 50;    // Medication/<id> reads per request
  // Issue #18: when set, two or more queries of one request under fhirServer
  // go as one FHIR batch (fhir/batch_bundle.h) to a server whose
  // CapabilityStatement declares batch; a batch that fails as a whole is
  // retried as GETs (deadline permitting; a timed-out one fails its keys) and
  // the server gets GETs for a while. Entry by entry, a batch answer is judged exactly as the GET's
  // answer would be. Null: GETs only. Shared by all requests.
  std::shared_ptr<BatchCapability> batch;
  // Embedded-defaults demo only (fhir/demo_fhir_client.h): when a request names
  // no fhirServer, its missing keys are read from this client instead, for
  // its demo patients only (any other patient's keys are not obtained, so a
  // required one gives 412, never an empty "nothing to say"). Null in any
  // configured deployment.
  DemoFhirClient* demo_client = nullptr;
};

// A required prefetch key that could not be had, and why (no PHI, no token).
struct UnavailableKey {
  std::string key;          // "medications"
  std::string given;        // what prefetch held: "absent from prefetch", "prefetch value is ..."
  std::string not_fetched;  // why no FHIR query was made, e.g. "no fhirServer in the request"
  std::string fetch_error;  // why the FHIR query failed, e.g. "timeout after 300 ms", "HTTP 503"
};

// What became of one prefetch key of the called service, for the call record
// (service/hooks/service_call.h): taken from the request's prefetch (kHit), fetched
// from fhirServer (kFetched), sent as JSON null = no data (kNull), not given
// and not fetchable (kMissing), or its fetch failed (kFailed). `reason` says
// why it was fetched, missing or failed, or what was noted about a hit (e.g.
// "prefetch has more pages; not fetched"); no PHI.
enum class KeySource { kHit, kFetched, kNull, kMissing, kFailed };
const char* KeySourceName(KeySource source);  // "hit", "fetched", "null", "missing", "failed"

struct KeyReport {
  std::string key;
  bool required = false;
  KeySource source = KeySource::kMissing;
  std::string reason;
};

struct GatherResult {
  // Set when the request is refused as it stands (kInvalidRequest: fhirServer
  // off the allowlist); nothing else is filled in then.
  std::optional<Error> error;
  CategoryStates states;          // the categories of the specs; others not obtained
  std::vector<FhirInput> inputs;  // what to normalise
  std::vector<std::shared_ptr<const JsonDocument>> documents;  // keeps inputs alive
  std::vector<std::string> unavailable_required;    // required keys that could not be had
  std::vector<UnavailableKey> unavailable_details;  // the same keys, with why
  std::vector<std::string> notes;                   // per key: why not used (no PHI)
  std::size_t queries = 0;                          // FHIR requests issued (a batch counts once)
  std::vector<KeyReport> keys;                      // one per spec, in spec order

  const CategoryState& state(FactCategory c) const { return states[c]; }
};

// The 412 message for `result.unavailable_details` (CDS Hooks 2.0 §Prefetch),
// one clause per cause, e.g.
//   "required data could not be obtained: conditions, observations: absent
//    from prefetch, and no fhirServer in the request"
//   "required data could not be obtained: FHIR query for medications failed:
//    timeout after 300 ms"
// Keys, reasons and HTTP statuses only: never a patient id, URL query or token.
std::string UnavailableMessage(const GatherResult& result);

class DataGatherer {
 public:
  using Done = std::function<void(GatherResult)>;
  explicit DataGatherer(FhirClient* client = nullptr, GatherOptions options = {})
      : client_(client), options_(std::move(options)) {}
  void Gather(GatherInput input, Done done) const;

 private:
  FhirClient* client_;
  GatherOptions options_;
};

}  // namespace cds::fhir
