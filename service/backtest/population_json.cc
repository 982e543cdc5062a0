// Population reading and NDJSON indexing (service/backtest/population.h).
#include <fcntl.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "service/backtest/population.h"

namespace cds::service {
namespace {

namespace fs = std::filesystem;

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Resource types outside the Patient compartment: shared by many patients,
// so a missing patient reference is expected, not an error.
bool IsSharedType(std::string_view type) {
  static const std::set<std::string_view> kShared = {
      "Organization", "Practitioner", "PractitionerRole",  "Location",
      "Medication",   "Substance",    "HealthcareService", "Endpoint",
      "Group",        "Device",       "Questionnaire",     "ValueSet",
      "CodeSystem",   "ConceptMap",   "Library",           "StructureDefinition"};
  return kShared.count(type) > 0;
}

// The patient id a reference names, or "" if it names no patient.
std::string PatientIdOf(std::string_view reference) {
  if (reference.rfind("urn:uuid:", 0) == 0) return std::string(reference.substr(9));
  std::size_t at = std::string_view::npos;
  if (reference.rfind("Patient/", 0) == 0) {
    at = 8;
  } else if (const std::size_t p = reference.rfind("/Patient/"); p != std::string_view::npos) {
    at = p + 9;
  }
  if (at == std::string_view::npos) return "";
  std::string_view id = reference.substr(at);
  id = id.substr(0, id.find('/'));  // ".../_history/2"
  return std::string(id);
}

// SAX handler that picks resourceType, id and the first subject / patient /
// beneficiary reference of one resource, while the reader checks the whole line.
class ReferenceHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ReferenceHandler> {
 public:
  std::string resource_type;
  std::string id;
  std::string reference;
  bool root_is_object = false;

  bool StartObject() {
    if (depth_ == 0) root_is_object = true;
    ++depth_;
    if (depth_ == 2)
      in_reference_ = key1_ == "subject" || key1_ == "patient" || key1_ == "beneficiary";
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    if (depth_ == 2) in_reference_ = false;
    --depth_;
    return true;
  }
  bool StartArray() {
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    if (depth_ == 1) key1_.assign(text, length);
    if (depth_ == 2) key2_.assign(text, length);
    return true;
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    if (depth_ == 1 && key1_ == "resourceType") resource_type.assign(text, length);
    if (depth_ == 1 && key1_ == "id") id.assign(text, length);
    if (depth_ == 2 && in_reference_ && key2_ == "reference" && reference.empty()) {
      reference.assign(text, length);
    }
    return true;
  }
  bool Default() { return true; }

 private:
  int depth_ = 0;
  bool in_reference_ = false;
  std::string key1_;
  std::string key2_;
};

struct FileIndex {
  std::unordered_map<std::string, std::vector<Population::LineRef>> patient_lines;  // Patient
  std::unordered_map<std::string, std::vector<Population::LineRef>> lines;          // others
  std::set<std::string> tainted;  // patients named by a broken line
  std::map<std::string, std::size_t> unjoined;
  std::vector<InputProblem> problems;
  std::uint64_t bytes = 0;
  std::optional<Error> error;
};

void IndexLine(const std::string& file, std::uint32_t file_index, std::string_view line,
               std::uint64_t offset, std::size_t line_number, FileIndex& index) {
  std::size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return;  // blank lines are allowed
  if (line.size() > UINT32_MAX) {
    index.problems.push_back({file, line_number, "line longer than 4 GiB; skipped"});
    return;
  }
  ReferenceHandler handler;
  rapidjson::MemoryStream stream(line.data(), line.size());
  rapidjson::Reader reader;
  const rapidjson::ParseResult ok =
      reader.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(stream,
                                                                                           handler);
  std::string patient =
      handler.resource_type == "Patient" ? handler.id : PatientIdOf(handler.reference);
  if (!ok) {
    std::string message = std::string("not valid JSON at column ") +
                          std::to_string(ok.Offset() + 1) + ": " +
                          rapidjson::GetParseError_En(ok.Code()) + " (truncated line?); skipped";
    if (!patient.empty()) {
      index.tainted.insert(patient);
      message += ", and the patient it refers to is left out (their data would be incomplete)";
    }
    index.problems.push_back({file, line_number, message});
    return;
  }
  if (!handler.root_is_object || handler.resource_type.empty()) {
    index.problems.push_back({file, line_number, "not a FHIR resource (no resourceType); skipped"});
    return;
  }
  const Population::LineRef ref{
      file_index, static_cast<std::uint32_t>(line.size()), offset,
      static_cast<std::uint32_t>(std::min<std::size_t>(line_number, UINT32_MAX))};
  if (handler.resource_type == "Patient") {
    if (handler.id.empty()) {
      index.problems.push_back({file, line_number, "Patient resource without id; skipped"});
      return;
    }
    index.patient_lines[patient].push_back(ref);
    return;
  }
  if (patient.empty()) {
    if (handler.reference.empty() && IsSharedType(handler.resource_type)) {
      ++index.unjoined[handler.resource_type];
      return;
    }
    index.problems.push_back(
        {file, line_number,
         handler.resource_type + " without a patient reference (subject/patient); skipped"});
    return;
  }
  index.lines[patient].push_back(ref);
}

// One streaming pass over an NDJSON file, in 1 MiB reads.
FileIndex IndexFile(const std::string& file, std::uint32_t file_index, int fd) {
  FileIndex index;
  std::string carry;
  std::vector<char> buffer(1 << 20);
  std::uint64_t carry_offset = 0;  // file offset of carry[0]
  std::size_t line_number = 0;
  for (;;) {
    const ssize_t got =
        ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(carry_offset + carry.size()));
    if (got < 0) {
      index.error =
          Error{ErrorCode::kInvalidRequest, file + ": read failed: " + std::strerror(errno)};
      return index;
    }
    if (got == 0) break;
    index.bytes += static_cast<std::uint64_t>(got);
    carry.append(buffer.data(), static_cast<std::size_t>(got));
    std::size_t start = 0;
    for (std::size_t nl = carry.find('\n'); nl != std::string::npos; nl = carry.find('\n', start)) {
      IndexLine(file, file_index, std::string_view(carry).substr(start, nl - start),
                carry_offset + start, ++line_number, index);
      start = nl + 1;
    }
    carry.erase(0, start);
    carry_offset += start;
  }
  if (!carry.empty()) IndexLine(file, file_index, carry, carry_offset, ++line_number, index);
  return index;
}

Status AddPath(const std::string& path, std::vector<std::string>& bundles,
               std::vector<std::string>& ndjson, std::vector<InputProblem>& problems) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return Error{ErrorCode::kInvalidRequest, path + ": no such file or folder"};
  }
  if (fs::is_regular_file(status)) {
    (EndsWith(path, ".ndjson") ? ndjson : bundles).push_back(path);
    return OkStatus();
  }
  if (!fs::is_directory(status)) {
    return Error{ErrorCode::kInvalidRequest, path + ": neither a file nor a folder"};
  }
  std::vector<std::string> found;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().string();
    if (EndsWith(name, ".json") || EndsWith(name, ".ndjson")) found.push_back(name);
  }
  if (ec) return Error{ErrorCode::kInvalidRequest, path + ": cannot list: " + ec.message()};
  if (found.empty()) {
    // The other paths may still hold patients; Open fails if none does.
    problems.push_back({path, 0, "empty folder (no *.json Bundle or *.ndjson Bulk Data file)"});
  }
  std::sort(found.begin(), found.end());
  for (std::string& name : found) (EndsWith(name, ".ndjson") ? ndjson : bundles).push_back(name);
  return OkStatus();
}

}  // namespace

std::string InputProblem::ToString() const {
  return file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + message;
}

std::size_t LineOfOffset(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(
                 text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

Population::~Population() {
  for (const int fd : ndjson_fds_) ::close(fd);
}

Result<std::unique_ptr<Population>> Population::Open(const std::vector<std::string>& paths,
                                                     int jobs,
                                                     std::vector<InputProblem>& problems) {
  std::unique_ptr<Population> population(new Population());
  if (paths.empty()) return Error{ErrorCode::kInvalidRequest, "no population path given"};
  for (const std::string& path : paths) {
    if (Status added =
            AddPath(path, population->bundle_files_, population->ndjson_files_, problems);
        !added) {
      return added.error();
    }
  }
  for (const std::string& file : population->bundle_files_) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (ec) return Error{ErrorCode::kInvalidRequest, file + ": cannot read: " + ec.message()};
    population->input_bytes_ += size;
  }
  for (const std::string& file : population->ndjson_files_) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Error{ErrorCode::kInvalidRequest, file + ": cannot open: " + std::strerror(errno)};
    }
    population->ndjson_fds_.push_back(fd);
  }

  // Index the NDJSON files, several at once.
  const std::size_t files = population->ndjson_files_.size();
  std::vector<FileIndex> indexes(files);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t f = next++; f < files; f = next++) {
      indexes[f] = IndexFile(population->ndjson_files_[f], static_cast<std::uint32_t>(f),
                             population->ndjson_fds_[f]);
    }
  };
  std::vector<std::thread> threads;
  const std::size_t thread_count =
      std::min<std::size_t>(files, static_cast<std::size_t>(std::max(1, jobs)));
  for (std::size_t t = 1; t < thread_count; ++t) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();

  std::map<std::string, NdjsonPatient> patients;  // sorted: a deterministic order
  std::set<std::string> tainted;
  std::map<std::string, std::size_t> unjoined;
  for (FileIndex& index : indexes) {
    if (index.error) return *index.error;
    population->input_bytes_ += index.bytes;
    for (InputProblem& problem : index.problems) problems.push_back(std::move(problem));
    tainted.insert(index.tainted.begin(), index.tainted.end());
    for (const auto& [type, count] : index.unjoined) unjoined[type] += count;
    for (auto& [id, lines] : index.patient_lines) {
      NdjsonPatient& patient = patients[id];
      patient.id = id;
      patient.has_patient = true;
      patient.lines.insert(patient.lines.begin(), lines.begin(), lines.end());
    }
  }
  for (FileIndex& index : indexes) {
    for (auto& [id, lines] : index.lines) {
      NdjsonPatient& patient = patients[id];
      patient.id = id;
      patient.lines.insert(patient.lines.end(), lines.begin(), lines.end());
    }
    index = FileIndex{};
  }
  for (auto& [id, patient] : patients) {
    if (tainted.count(id) > 0) {
      ++population->skipped_while_indexing_;
      continue;
    }
    if (!patient.has_patient) {
      const LineRef& first = patient.lines.front();
      problems.push_back({population->ndjson_files_[first.file], first.line,
                          std::to_string(patient.lines.size()) +
                              " resource(s) refer to a patient that has no Patient resource in "
                              "the input (this is the first); that patient is left out"});
      ++population->skipped_while_indexing_;
      continue;
    }
    population->ndjson_patients_.push_back(std::move(patient));
  }
  population->unjoined_.assign(unjoined.begin(), unjoined.end());
  if (population->patient_count() == 0) {
    std::string why = "no patients in the population input";
    if (!problems.empty()) why += " (" + problems.front().ToString() + ")";
    return Error{ErrorCode::kInvalidRequest, why};
  }
  return population;
}

Result<bool> Population::Next(PatientSlice& slice) {
  const std::size_t i = next_++;
  if (i >= patient_count()) return false;
  slice = PatientSlice{};
  if (i < bundle_files_.size()) {
    const std::string& file = bundle_files_[i];
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Error{ErrorCode::kInvalidRequest, file + ": cannot open: " + std::strerror(errno)};
    }
    struct stat info {};
    std::string text;
    if (::fstat(fd, &info) == 0 && info.st_size > 0)
      text.resize(static_cast<std::size_t>(info.st_size));
    std::size_t have = 0;
    while (have < text.size()) {
      const ssize_t got =
          ::pread(fd, text.data() + have, text.size() - have, static_cast<off_t>(have));
      if (got <= 0) break;
      have += static_cast<std::size_t>(got);
    }
    ::close(fd);
    if (have != text.size()) {
      return Error{ErrorCode::kInvalidRequest, file + ": read failed"};
    }
    slice.origin = file;
    slice.bytes = text.size();
    slice.bundle_json = std::move(text);
    return true;
  }
  const NdjsonPatient& patient = ndjson_patients_[i - bundle_files_.size()];
  slice.patient_key = patient.id;
  std::string& out = slice.bundle_json;
  out = R"({"resourceType":"Bundle","type":"collection","entry":[)";
  bool first = true;
  for (const LineRef& line : patient.lines) {
    out += first ? "{\"resource\":" : ",{\"resource\":";
    first = false;
    const std::size_t at = out.size();
    out.resize(at + line.length);
    const ssize_t got = ::pread(ndjson_fds_[line.file], out.data() + at, line.length,
                                static_cast<off_t>(line.offset));
    if (got != static_cast<ssize_t>(line.length)) {
      return Error{ErrorCode::kInvalidRequest, ndjson_files_[line.file] + ": read failed at byte " +
                                                   std::to_string(line.offset)};
    }
    out += '}';
    slice.bytes += line.length + 1;
  }
  out += "]}";
  const LineRef& head = patient.lines.front();
  slice.origin = ndjson_files_[head.file] + " (byte " + std::to_string(head.offset) + ")";
  return true;
}

}  // namespace cds::service
