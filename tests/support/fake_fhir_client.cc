#include "tests/support/fake_fhir_client.h"

#include <utility>

namespace cds::testing {

void FakeFhirClient::ServeJson(const std::string& url, std::string body) {
  Serve(url, 200, std::move(body));
}

void FakeFhirClient::Serve(const std::string& url, int status, std::string body,
                           std::string content_type) {
  fhir::FhirResponse response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = std::move(content_type);
  std::lock_guard<std::mutex> lock(mutex_);
  answers_[url] = std::move(response);
}

void FakeFhirClient::Fail(const std::string& url, std::string error) {
  fhir::FhirResponse response;
  response.error = std::move(error);
  std::lock_guard<std::mutex> lock(mutex_);
  answers_[url] = std::move(response);
}

void FakeFhirClient::TimeOut(const std::string& url) {
  fhir::FhirResponse response;
  response.error = "timed out";
  response.timed_out = true;
  std::lock_guard<std::mutex> lock(mutex_);
  answers_[url] = std::move(response);
}

void FakeFhirClient::Hold(const std::string& url) {
  std::lock_guard<std::mutex> lock(mutex_);
  holding_[url] = true;
}

fhir::FhirResponse FakeFhirClient::AnswerFor(const std::string& url) const {
  if (auto it = answers_.find(url); it != answers_.end()) return it->second;
  fhir::FhirResponse not_found;
  not_found.status = 404;
  not_found.content_type = kFhirJson;
  not_found.body =
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]})";
  return not_found;
}

void FakeFhirClient::Get(fhir::FhirGet request, Done done) {
  fhir::FhirResponse response;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    if (auto it = holding_.find(request.url); it != holding_.end() && it->second) {
      held_.push_back({request.url, std::move(done)});
      return;
    }
    response = AnswerFor(request.url);
  }
  done(std::move(response));
}

std::size_t FakeFhirClient::Release(const std::string& url) {
  std::vector<std::pair<Done, fhir::FhirResponse>> answers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    holding_[url] = false;
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->url == url) {
        answers.emplace_back(std::move(it->done), AnswerFor(url));
        it = held_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Outside the lock: an answer may issue the next Get (a next page).
  for (auto& [done, response] : answers) done(std::move(response));
  return answers.size();
}

std::size_t FakeFhirClient::ReleaseAll() {
  std::vector<std::pair<Done, fhir::FhirResponse>> answers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [url, holding] : holding_) holding = false;
    for (Held& held : held_) answers.emplace_back(std::move(held.done), AnswerFor(held.url));
    held_.clear();
  }
  for (auto& [done, response] : answers) done(std::move(response));
  return answers.size();
}

std::vector<fhir::FhirGet> FakeFhirClient::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

std::size_t FakeFhirClient::CountRequests(const std::string& url) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t count = 0;
  for (const fhir::FhirGet& request : requests_) {
    if (request.url == url) ++count;
  }
  return count;
}

std::size_t FakeFhirClient::held() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return held_.size();
}

}  // namespace cds::testing
