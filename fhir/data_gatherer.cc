#include "fhir/data_gatherer.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <utility>

#include "fhir/batch_bundle.h"
#include "fhir/batch_capability.h"
#include "fhir/demo_fhir_client.h"
#include "fhir/fetched_page.h"
#include "fhir/fhir_client.h"
#include "fhir/prefetch_template.h"
#include "fhir/prefetch_value.h"

namespace cds::fhir {
namespace {

constexpr std::string_view kMedicationPrefix = "Medication/";

// What became of one prefetch key.
enum class KeyOutcome { kComplete, kPartial, kMissing };

struct KeyResult {
  const PrefetchSpec* spec;
  KeyOutcome outcome;
  std::string note;
  std::string given;        // for a missing key: what prefetch held
  std::string not_fetched;  // for a missing key that was not queried: why
  std::string fetch_error;  // for a missing key whose query failed: why
};

// A category is complete when all its keys are; not obtained when a required
// key, or every one of its keys, is missing; partial otherwise.
void Aggregate(const std::vector<KeyResult>& keys, GatherResult& result) {
  std::vector<FactCategory> seen;
  std::vector<FactCategory> any_had;
  auto contains = [](const std::vector<FactCategory>& list, FactCategory c) {
    return std::find(list.begin(), list.end(), c) != list.end();
  };
  for (const KeyResult& key : keys) {
    const FactCategory c = key.spec->category;
    CategoryState& state = result.states[c];
    if (!contains(seen, c)) {
      seen.push_back(c);
      state.availability = Availability::kComplete;
    }
    if (key.outcome != KeyOutcome::kMissing && !contains(any_had, c)) any_had.push_back(c);
    if (!key.note.empty()) {
      result.notes.push_back(key.spec->key + ": " + key.note);
      state.note += (state.note.empty() ? "" : "; ") + key.spec->key + ": " + key.note;
    }
    if (key.outcome == KeyOutcome::kMissing && key.spec->required) {
      state.availability = Availability::kNotObtained;
      result.unavailable_required.push_back(key.spec->key);
      result.unavailable_details.push_back(
          {key.spec->key, key.given, key.not_fetched, key.fetch_error});
    } else if (key.outcome != KeyOutcome::kComplete &&
               state.availability == Availability::kComplete) {
      state.availability = Availability::kPartial;
    }
  }
  for (const FactCategory c : seen) {
    if (!contains(any_had, c)) result.states[c].availability = Availability::kNotObtained;
  }
}

bool IsFhirId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
  }
  return id.find_first_not_of('.') != std::string_view::npos;
}

std::string TrimTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// One request's gathering: shared by the FhirClient callbacks. Everything
// mutable is guarded by `mutex`; callbacks and `done` run outside it.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(GatherInput input, FhirClient* client, GatherOptions options, bool can_fetch,
      std::string no_fetch_reason, bool may_batch, DataGatherer::Done done)
      : input_(std::move(input)),
        client_(client),
        batch_(may_batch ? options.batch.get() : nullptr),
        options_(std::move(options)),
        can_fetch_(can_fetch),
        no_fetch_reason_(std::move(no_fetch_reason)),
        base_(TrimTrailingSlashes(input_.fhir_server)),
        deadline_(std::chrono::steady_clock::now() + options_.deadline),
        done_(std::move(done)) {}

  void Start() {
    keys_.resize(input_.specs.size());
    std::vector<KeyedGet> queries;
    for (std::size_t k = 0; k < input_.specs.size(); ++k) {
      const PrefetchSpec& spec = input_.specs[k];
      Key& key = keys_[k];
      auto it = input_.prefetch.find(spec.key);
      PrefetchVerdict verdict;
      if (it == input_.prefetch.end()) {
        verdict.reason = "absent from prefetch";
      } else if (it->second.is_null) {
        verdict.use = PrefetchUse::kNoData;
        key.source = KeySource::kNull;
      } else {
        verdict = ClassifyPrefetch(spec, it->second.value);
      }
      switch (verdict.use) {
        case PrefetchUse::kNoData:
          break;
        case PrefetchUse::kUsable:
          key.inputs.push_back(it->second.value);
          break;
        case PrefetchUse::kPaged:
          key.inputs.push_back(it->second.value);
          key.pages = 1;
          key.entries = CountBundleEntries(it->second.value);
          if (!can_fetch_) {
            // Checklist P-17 (LOCAL): without a way to page, the data is partial.
            key.outcome = KeyOutcome::kPartial;
            key.note = "prefetch has more pages; not fetched (" + no_fetch_reason_ + ")";
          } else if (std::string why = NextLinkProblem(key, verdict.next_url); !why.empty()) {
            Fail(key, why);
          } else {
            queries.emplace_back(k, Query(verdict.next_url, spec.resource_type + " next page"));
          }
          break;
        case PrefetchUse::kNotGiven: {
          key.given =
              it == input_.prefetch.end() ? verdict.reason : "prefetch value is " + verdict.reason;
          key.source = KeySource::kMissing;
          if (!can_fetch_) {
            key.outcome = KeyOutcome::kMissing;
            key.not_fetched = no_fetch_reason_;
            key.note = key.given + "; " + no_fetch_reason_;
            break;
          }
          Result<std::string> rendered = RenderPrefetchTemplate(spec.query, input_.tokens);
          if (!rendered) {
            key.outcome = KeyOutcome::kMissing;
            key.not_fetched = "cannot fetch: " + rendered.error().message;
            key.note = key.given + "; " + key.not_fetched;
            break;
          }
          key.source = KeySource::kFetched;
          key.fetched_because = key.given;
          queries.emplace_back(k, Query(base_ + "/" + *rendered, spec.query));
          break;
        }
      }
    }
    IssueAll(std::move(queries));
  }

 private:
  // A query and what it is for: the index of its key, or kMedicationRead.
  using KeyedGet = std::pair<std::size_t, FhirGet>;
  static constexpr std::size_t kMedicationRead = static_cast<std::size_t>(-1);

  struct Key {
    KeyOutcome outcome = KeyOutcome::kComplete;
    std::string note;
    std::string fetched_because;  // why the key was fetched ("absent from prefetch")
    std::string given;            // for kMissing: what prefetch held
    std::string not_fetched;      // for kMissing without a query: why not
    std::string fetch_error;      // for kMissing after a query: why it failed
    std::vector<JsonRef> inputs;  // prefetched value and/or fetched pages
    std::size_t pages = 0;
    std::size_t entries = 0;
    KeySource source = KeySource::kHit;
  };

  FhirGet Query(std::string url, std::string log_path) const {
    FhirGet get;
    get.url = std::move(url);
    get.bearer_token = input_.access_token;
    get.deadline = deadline_;
    get.log_path = std::move(log_path);
    return get;
  }

  // "" when `next_url` may be followed for `key` now; else why not.
  std::string NextLinkProblem(const Key& key, const std::string& next_url) const {
    if (key.pages >= options_.max_pages) {
      return "page cap (" + std::to_string(options_.max_pages) + ") reached";
    }
    if (key.entries >= options_.max_entries) {
      return "entry cap (" + std::to_string(options_.max_entries) + ") reached";
    }
    if (!SameOrigin(next_url, base_) || !options_.servers.AllowsUrl(next_url)) {
      return "next link points away from fhirServer; not followed";
    }
    return "";
  }

  static void Fail(Key& key, const std::string& why) {
    key.outcome = KeyOutcome::kMissing;
    key.source = KeySource::kFailed;
    key.fetch_error = why;
    key.note = (key.fetched_because.empty() ? std::string() : key.fetched_because + "; ") +
               "fetch failed: " + why;
    key.inputs.clear();
  }

  // Sends `queries` (one phase's: the keys', or the Medication reads'), as
  // one batch where TakeBatch says so and the rest as GETs; the phase ends in
  // Release once every answer is in.
  void IssueAll(std::vector<KeyedGet> queries) {
    std::vector<KeyedGet> batched = TakeBatch(queries);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_ = 1 + queries.size() + (batched.empty() ? 0 : 1);
    }
    if (!batched.empty()) IssueBatch(std::move(batched));
    for (auto& [k, query] : queries) Issue(k, std::move(query));
    Release();
  }

  void Issue(std::size_t k, FhirGet query) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++queries_;
    }
    auto self = shared_from_this();
    client_->Get(std::move(query), [self, k](FhirResponse response) {
      if (k == kMedicationRead) {
        self->AcceptMedication(ReadFetchedPage(MedicationSpec(), std::move(response)));
        self->Release();
      } else {
        self->OnPage(k, std::move(response));
      }
    });
  }

  void OnPage(std::size_t k, FhirResponse response) {
    const bool timed_out = response.status == 0 && response.timed_out;
    FetchedPage page = ReadFetchedPage(input_.specs[k], std::move(response));
    if (timed_out) page.reason = TimeoutReason();
    if (std::optional<FhirGet> next = Accept(k, page)) Issue(k, std::move(*next));
    Release();
  }

  std::string TimeoutReason() const {
    return "timeout after " + std::to_string(options_.deadline.count()) + " ms";
  }

  // Takes one page of key k; returns the query for its next page, if any
  // (counted in pending_ already).
  std::optional<FhirGet> Accept(std::size_t k, const FetchedPage& page) {
    const PrefetchSpec& spec = input_.specs[k];
    std::optional<FhirGet> next;
    std::lock_guard<std::mutex> lock(mutex_);
    Key& key = keys_[k];
    if (page.use == PrefetchUse::kNotGiven) {
      Fail(key, page.reason);
      return next;
    }
    ++key.pages;
    key.entries += page.entries;
    key.inputs.push_back(page.resource);
    documents_.push_back(page.document);
    if (page.use == PrefetchUse::kPaged) {
      if (std::string why = NextLinkProblem(key, page.next_url); !why.empty()) {
        Fail(key, why);
      } else {
        next = Query(page.next_url, spec.resource_type + " next page");
        ++pending_;
      }
    } else if (key.entries > options_.max_entries) {
      Fail(key, "entry cap (" + std::to_string(options_.max_entries) + ") reached");
    }
    return next;
  }

  // Issue #18: the queries that go to the server as one batch (moved out of
  // `queries`), or none: at least two queries under the base, and a server
  // known to take batches (BatchCapability: the first call to a server
  // starts the read of its CapabilityStatement and uses GETs).
  std::vector<KeyedGet> TakeBatch(std::vector<KeyedGet>& queries) {
    std::vector<KeyedGet> batched;
    if (batch_ == nullptr) return batched;
    const std::string prefix = base_ + "/";
    auto under_base = [&](const KeyedGet& item) { return item.second.url.rfind(prefix, 0) == 0; };
    if (std::count_if(queries.begin(), queries.end(), under_base) < 2) return batched;
    if (!batch_->Use(base_)) return batched;
    std::vector<KeyedGet> rest;
    for (KeyedGet& item : queries) (under_base(item) ? batched : rest).push_back(std::move(item));
    queries = std::move(rest);
    return batched;
  }

  // The batched queries in one POST (counted once in pending_). Each entry
  // of the answer is judged as its GET's answer would be; a batch that
  // failed as a whole goes again as GETs (FallBack) or fails every query.
  void IssueBatch(std::vector<KeyedGet> items) {
    std::vector<std::string> urls;
    urls.reserve(items.size());
    for (const auto& item : items) urls.push_back(item.second.url.substr(base_.size() + 1));
    FhirPost post;
    post.url = base_;
    post.body = BatchRequestBody(urls);
    post.bearer_token = input_.access_token;
    post.deadline = deadline_;
    post.log_path = "batch (" + std::to_string(items.size()) + " queries)";
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++queries_;
    }
    auto self = shared_from_this();
    client_->Post(std::move(post), [self, items = std::move(items)](FhirResponse response) {
      self->OnBatch(items, std::move(response));
    });
  }

  void OnBatch(const std::vector<KeyedGet>& items, FhirResponse response) {
    const bool timed_out = response.timed_out;
    const int status = response.status;
    Result<BatchAnswer> answer = ReadBatchResponse(std::move(response), items.size());
    if (!answer && FallBack(timed_out, status, items.size())) {
      for (const auto& [k, query] : items) Issue(k, query);
      Release();
      return;
    }
    std::vector<KeyedGet> next;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::size_t k = items[i].first;
      const PrefetchSpec& spec = k == kMedicationRead ? MedicationSpec() : input_.specs[k];
      FetchedPage page;
      if (answer) {
        page = ReadBatchEntry(spec, *answer, i);
      } else {
        page.reason = timed_out ? TimeoutReason() : "batch failed: " + answer.error().message;
      }
      if (k == kMedicationRead) {
        AcceptMedication(page);
      } else if (std::optional<FhirGet> query = Accept(k, page)) {
        next.emplace_back(k, std::move(*query));
      }
    }
    for (auto& [k, query] : next) Issue(k, std::move(query));
    Release();
  }

  // A batch failed as a whole: the server is not sent batches for a while
  // (one that hangs on a batch, say for one resource type, then loses only
  // that query's key per call, as with GETs) — for an hour, or for a minute
  // when the failure was an overload or outage answer or a dropped connection
  // (BatchCapability::BatchFailed). Unless it ran out of time, this call's
  // queries go again as GETs (then counted in pending_). False: fail them.
  bool FallBack(bool timed_out, int status, std::size_t queries) {
    batch_->BatchFailed(base_, status, timed_out);
    if (timed_out) return false;
    if (std::chrono::steady_clock::now() >= deadline_) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ += queries;
    return true;
  }

  static const PrefetchSpec& MedicationSpec() {
    static const PrefetchSpec kSpec = [] {
      PrefetchSpec s;
      s.query = "Medication/{id}";
      s.resource_type = "Medication";
      s.category = FactCategory::kMedications;
      return s;
    }();
    return kSpec;
  }

  void AcceptMedication(const FetchedPage& page) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (page.use == PrefetchUse::kUsable) {
      medication_inputs_.push_back(page.resource);
      documents_.push_back(page.document);
    } else {
      medication_problems_.push_back("a Medication read failed: " +
                                     (page.reason.empty() ? "no resource" : page.reason));
    }
  }

  void Release() {
    enum { kNothing, kMedications, kFinish } next = kNothing;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ > 0) return;
      if (phase_ == Phase::kKeys) {
        phase_ = Phase::kMedications;
        next = kMedications;
      } else if (phase_ == Phase::kMedications) {
        phase_ = Phase::kDone;
        next = kFinish;
      }
    }
    if (next == kMedications) StartMedications();
    if (next == kFinish) Finish();
  }

  // All keys are settled (no callback can touch keys_ any more).
  void StartMedications() {
    std::vector<KeyedGet> reads;
    if (can_fetch_) {
      std::vector<FhirInput> inputs = Inputs();
      for (const std::string& reference : UnresolvedMedicationReferences(inputs)) {
        std::string id;
        if (reference.rfind(kMedicationPrefix, 0) == 0) {
          id = reference.substr(kMedicationPrefix.size());
        } else if (reference.rfind(base_ + "/" + std::string(kMedicationPrefix), 0) == 0) {
          id = reference.substr(base_.size() + 1 + kMedicationPrefix.size());
        }
        if (const std::size_t history = id.find("/_history/"); history != std::string::npos) {
          id.resize(history);
        }
        if (!IsFhirId(id)) {
          medication_problems_.push_back(
              "a medicationReference points outside fhirServer; not followed");
        } else if (reads.size() >= options_.max_medication_reads) {
          medication_problems_.push_back("Medication read cap (" +
                                         std::to_string(options_.max_medication_reads) +
                                         ") reached");
        } else {
          reads.emplace_back(kMedicationRead,
                             Query(base_ + "/" + std::string(kMedicationPrefix) + PercentEncode(id),
                                   "Medication/{id}"));
        }
      }
    }
    IssueAll(std::move(reads));
  }

  std::vector<FhirInput> Inputs() const {
    std::vector<FhirInput> inputs;
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      for (const JsonRef& value : keys_[k].inputs) {
        inputs.push_back({input_.specs[k].category, value});
      }
    }
    return inputs;
  }

  void Finish() {
    GatherResult result;
    if (input_.request_document) result.documents.push_back(input_.request_document);
    for (auto& document : documents_) result.documents.push_back(std::move(document));
    result.inputs = Inputs();
    for (const JsonRef& value : medication_inputs_) {
      result.inputs.push_back({FactCategory::kMedications, value});
    }
    std::vector<KeyResult> keys;
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      const Key& key = keys_[k];
      keys.push_back(
          {&input_.specs[k], key.outcome, key.note, key.given, key.not_fetched, key.fetch_error});
      result.keys.push_back({input_.specs[k].key, input_.specs[k].required, key.source,
                             key.note.empty() ? key.fetched_because : key.note});
    }
    Aggregate(keys, result);
    if (!medication_problems_.empty()) {
      // §5.2 falls back to the reference's display text; "no such drug" can
      // then no longer be trusted.
      CategoryState& state = result.states[FactCategory::kMedications];
      if (state.availability == Availability::kComplete)
        state.availability = Availability::kPartial;
      for (const std::string& problem : medication_problems_) {
        result.notes.push_back("medications: " + problem);
        state.note += (state.note.empty() ? "" : "; ") + problem;
      }
    }
    result.queries = queries_;
    DataGatherer::Done done = std::move(done_);
    done(std::move(result));
  }

  enum class Phase { kKeys, kMedications, kDone };

  const GatherInput input_;
  FhirClient* const client_;
  BatchCapability* const batch_;  // null: never batch (demo client, not configured)
  const GatherOptions options_;
  const bool can_fetch_;
  const std::string no_fetch_reason_;
  const std::string base_;
  const std::chrono::steady_clock::time_point deadline_;
  DataGatherer::Done done_;

  std::mutex mutex_;
  Phase phase_ = Phase::kKeys;
  std::size_t pending_ = 0;
  std::size_t queries_ = 0;
  std::vector<Key> keys_;
  std::vector<std::shared_ptr<const JsonDocument>> documents_;
  std::vector<JsonRef> medication_inputs_;
  std::vector<std::string> medication_problems_;
};

}  // namespace

const char* KeySourceName(KeySource source) {
  switch (source) {
    case KeySource::kHit:
      return "hit";
    case KeySource::kFetched:
      return "fetched";
    case KeySource::kNull:
      return "null";
    case KeySource::kMissing:
      return "missing";
    case KeySource::kFailed:
      return "failed";
  }
  return "missing";
}

std::string UnavailableMessage(const GatherResult& result) {
  // Keys not queried for the same reason are named together; each failed
  // query gets its own clause.
  std::vector<std::pair<std::string, std::string>> clauses;  // (keys, reason)
  for (const UnavailableKey& key : result.unavailable_details) {
    if (!key.fetch_error.empty()) {
      clauses.emplace_back("", "FHIR query for " + key.key + " failed: " + key.fetch_error);
      continue;
    }
    std::string reason = key.given;
    if (!key.not_fetched.empty()) reason += (reason.empty() ? "" : ", and ") + key.not_fetched;
    auto same = std::find_if(clauses.begin(), clauses.end(),
                             [&](const auto& clause) { return clause.second == reason; });
    if (same != clauses.end() && !same->first.empty()) {
      same->first += ", " + key.key;
    } else {
      clauses.emplace_back(key.key, reason);
    }
  }
  std::string message = "required data could not be obtained: ";
  for (std::size_t i = 0; i < clauses.size(); ++i) {
    if (i > 0) message += "; ";
    if (!clauses[i].first.empty()) message += clauses[i].first + ": ";
    message += clauses[i].second;
  }
  if (clauses.empty()) message += "(no reason recorded)";
  return message;
}

void DataGatherer::Gather(GatherInput input, Done done) const {
  if (!input.fhir_server.empty() && !options_.servers.empty() &&
      !options_.servers.AllowsServer(input.fhir_server)) {
    // Issue #6: only configured FHIR bases are ever contacted; the token is
    // never sent anywhere else. Refused outright (400) so that a misconfigured
    // EHR is caught at once, not only on the day its prefetch fails.
    GatherResult result;
    result.error = Error{ErrorCode::kInvalidRequest,
                         "fhirServer is not a FHIR server this service is configured to use"};
    done(std::move(result));
    return;
  }
  FhirClient* client = client_;
  std::string reason;
  if (input.fhir_server.empty() && options_.demo_client != nullptr) {
    const auto patient = input.tokens.find("context.patientId");
    if (patient != input.tokens.end() && options_.demo_client->HasPatient(patient->second)) {
      input.fhir_server = kDemoFhirBase;  // demo data: no token, no allowlist
      client = options_.demo_client;
    } else {
      // Issue #13: an empty answer here would read as "nothing to say".
      std::string ids;
      for (const std::string& id : options_.demo_client->PatientIds()) {
        ids += (ids.empty() ? "" : ", ") + id;
      }
      reason =
          "no fhirServer in the request, and the patient is not one of the embedded demo "
          "patients (" +
          ids + ")";
    }
  } else if (input.fhir_server.empty()) {
    reason = "no fhirServer in the request";
  } else if (input.access_token.empty()) {
    reason = "fhirServer present but no fhirAuthorization (access token)";  // checklist F-1
  } else if (client_ == nullptr || options_.servers.empty()) {
    reason = "this service is not configured to fetch from FHIR servers";
  }
  const bool can_fetch = reason.empty();
  // Demo data is read in-process: nothing to batch.
  const bool may_batch = can_fetch && client == client_;
  auto run = std::make_shared<Run>(std::move(input), client, options_, can_fetch, std::move(reason),
                                   may_batch, std::move(done));
  run->Start();
}

}  // namespace cds::fhir
