#pragma once

// FakeFhirClient: a FhirClient (fhir/fhir_client.h) that answers from canned
// responses keyed by exact URL, in memory, without sockets or threads — the
// leveldb `memenv` of the FHIR seam (style §4.3). Lets the DataGatherer's
// policy be unit-tested in milliseconds; the Node FHIR servers
// (tests/fhir_server/) stay for the integration tests of RestFhirClient.
//
// - Serve*/Fail/TimeOut register the answer for one URL. Every Get for that
//   URL gets it (a URL can be asked for more than once).
// - A URL with no registered answer gets 404 with an OperationOutcome, as a
//   real server would; requests() shows what was asked for.
// - Hold(url) makes Gets for that URL wait instead of answering: the test
//   answers them later, in the order it chooses, with Release/ReleaseAll. This
//   is how "slow" servers and answer ordering are simulated: no clock, no
//   sleeps. A held request that is never released never calls back, which
//   breaks the FhirClient contract (the real client answers by the deadline):
//   use that only to show that nothing completes while a query is in flight.
// - Otherwise Get answers synchronously, before it returns (the contract
//   allows it).
// - Post (issue #18, FHIR batch): with ServeBatches(base), a batch Bundle
//   POSTed to `base` is answered as a FHIR server would, with a
//   batch-response whose entries are the answers registered for
//   base + "/" + each entry's url (the status, and the resource when 200);
//   AnswerPosts makes every POST get one fixed answer instead (a batch
//   failing as a whole). Otherwise a POST gets 405. posts() shows them.
//
// Thread-safety: Get may be called from any thread; answers run outside the
// fake's lock.

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fhir/fhir_client.h"

namespace cds::testing {

inline constexpr const char* kFhirJson = "application/fhir+json";

class FakeFhirClient : public fhir::FhirClient {
 public:
  // HTTP 200 with `body` as FHIR JSON.
  void ServeJson(const std::string& url, std::string body);
  // Any HTTP answer (status != 0).
  void Serve(const std::string& url, int status, std::string body,
             std::string content_type = kFhirJson);
  // No HTTP answer: connection refused, reset, body over the cap...
  void Fail(const std::string& url, std::string error);
  // No HTTP answer because the request's deadline passed (what RestFhirClient
  // reports when the server is too slow).
  void TimeOut(const std::string& url);
  // Gets for `url` wait for Release (see above).
  void Hold(const std::string& url);

  // Answers the held requests for `url` (all of them, in arrival order) with
  // its registered answer and stops holding it. Returns how many it answered.
  std::size_t Release(const std::string& url);
  // Answers every held request, in arrival order.
  std::size_t ReleaseAll();

  void ServeBatches(const std::string& base);
  void AnswerPosts(fhir::FhirResponse response);

  void Get(fhir::FhirGet request, Done done) override;
  void Post(fhir::FhirPost request, Done done) override;

  // Every POST received so far, in arrival order.
  std::vector<fhir::FhirPost> posts() const;

  // Every request received so far, in arrival order.
  std::vector<fhir::FhirGet> requests() const;
  // How many requests were for `url`.
  std::size_t CountRequests(const std::string& url) const;
  // Requests currently held.
  std::size_t held() const;

 private:
  struct Held {
    std::string url;
    Done done;
  };
  fhir::FhirResponse AnswerFor(const std::string& url) const;        // mutex_ held
  fhir::FhirResponse BatchAnswerFor(const std::string& body) const;  // mutex_ held

  mutable std::mutex mutex_;
  std::map<std::string, fhir::FhirResponse> answers_;
  std::map<std::string, bool> holding_;
  std::vector<Held> held_;
  std::vector<fhir::FhirGet> requests_;
  std::string batch_base_;
  std::optional<fhir::FhirResponse> post_answer_;
  std::vector<fhir::FhirPost> posts_;
};

}  // namespace cds::testing
