#include "tests/support/fake_fhir_client.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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

void FakeFhirClient::ServeBatches(const std::string& base) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_base_ = base;
}

void FakeFhirClient::AnswerPosts(fhir::FhirResponse response) {
  std::lock_guard<std::mutex> lock(mutex_);
  post_answer_ = std::move(response);
}

fhir::FhirResponse FakeFhirClient::BatchAnswerFor(const std::string& body) const {
  fhir::FhirResponse response;
  response.content_type = kFhirJson;
  rapidjson::Document request;
  request.Parse(body.c_str(), body.size());
  if (request.HasParseError() || !request.IsObject() || !request.HasMember("entry") ||
      !request["entry"].IsArray()) {
    response.status = 400;
    return response;
  }
  rapidjson::Document answer(rapidjson::kObjectType);
  auto& allocator = answer.GetAllocator();
  answer.AddMember("resourceType", "Bundle", allocator);
  answer.AddMember("type", "batch-response", allocator);
  rapidjson::Value entries(rapidjson::kArrayType);
  for (const auto& entry : request["entry"].GetArray()) {
    // What a server checks: each entry a GET with a relative url.
    if (!entry.IsObject() || !entry.HasMember("request") || !entry["request"].IsObject() ||
        !entry["request"].HasMember("url") || !entry["request"]["url"].IsString() ||
        !entry["request"].HasMember("method") || entry["request"]["method"] != "GET") {
      response.status = 400;
      return response;
    }
    const std::string url = entry["request"]["url"].GetString();
    const fhir::FhirResponse one = AnswerFor(batch_base_ + "/" + url);
    // An entry the server could not answer in time is a server error in a batch.
    const int status = one.status == 0 ? 500 : one.status;
    rapidjson::Value item(rapidjson::kObjectType);
    rapidjson::Document resource(&allocator);
    resource.Parse(one.body.c_str(), one.body.size());
    if (status == 200 && !resource.HasParseError()) {
      item.AddMember("resource", rapidjson::Value(resource, allocator), allocator);
    }
    rapidjson::Value outcome(rapidjson::kObjectType);
    const std::string line = std::to_string(status) + (status == 200 ? " OK" : "");
    outcome.AddMember("status", rapidjson::Value(line.c_str(), allocator), allocator);
    item.AddMember("response", outcome, allocator);
    entries.PushBack(item, allocator);
  }
  answer.AddMember("entry", entries, allocator);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  answer.Accept(writer);
  response.status = 200;
  response.body.assign(buffer.GetString(), buffer.GetSize());
  return response;
}

void FakeFhirClient::Post(fhir::FhirPost request, Done done) {
  fhir::FhirResponse response;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    posts_.push_back(request);
    if (post_answer_) {
      response = *post_answer_;
    } else if (!batch_base_.empty() && request.url == batch_base_) {
      response = BatchAnswerFor(request.body);
    } else {
      response.status = 405;
      response.content_type = kFhirJson;
      response.body =
          R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported"}]})";
    }
  }
  done(std::move(response));
}

std::vector<fhir::FhirPost> FakeFhirClient::posts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return posts_;
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
