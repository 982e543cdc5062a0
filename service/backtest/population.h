#pragma once

// Population: a patient population on disk, read one patient at a time for
// `magcds rules backtest`. Two layouts, mixed freely across the given paths:
//   - FHIR Bundles (*.json; collection, transaction, searchset...), one patient
//     per file, as in shared/data/synthea-r4/;
//   - FHIR Bulk Data export output (*.ndjson: one resource per line, per
//     resource type, possibly split into several files per type).
// A path is a folder (its *.json and *.ndjson files, not recursive) or a file.
// Resources that refer to a patient whose Patient resource is not in the input
// are reported (file:line of the first) and that patient is left out: a
// record without its Patient belongs to no one (issue #13).
//
// Never the whole population in memory: a Bundle file is read when its
// patient's turn comes. NDJSON files are indexed first (one streaming pass per
// file, files in parallel, each line checked with a SAX parse): per patient the
// byte offset and length of each of its lines. A patient's lines are then read
// back with pread and wrapped into a collection Bundle. Lines are grouped by
// the Patient resource's id and by subject / patient / beneficiary references
// ("Patient/<id>", ".../Patient/<id>" or "urn:uuid:<id>"). Resources that are
// not in the Patient compartment (Organization, Practitioner, Location,
// Medication, ...) are not joined: they are counted and left out.
//
// Bad input is reported with file and line and never stops the run: a line
// that is not JSON (e.g. truncated) or a compartment resource without a
// patient reference is skipped; when the broken line still named its patient,
// that patient is skipped too (their data would be incomplete). A Bundle file
// that is not JSON is found when its patient is read (Next's caller parses it).
//
// Thread-safety: Next may be called from many threads at once.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"

namespace cds::service {

// One problem with the input, for the report and stderr. `line` is 1-based; 0
// when the problem is about a whole file or folder.
struct InputProblem {
  std::string file;
  std::size_t line = 0;
  std::string message;  // no PHI: names what is wrong, never a value
  std::string ToString() const;
};

// One patient's data, ready to parse.
struct PatientSlice {
  std::string origin;       // "folder/file.json", or the patient's first NDJSON file:line
  std::string patient_key;  // NDJSON: the patient id; Bundle: "" (the Bundle's Patient decides)
  std::string bundle_json;  // a FHIR Bundle
  std::size_t bytes = 0;    // input bytes read for this patient
};

class Population {
 public:
  // Lists and indexes the input. Fails (kInvalidRequest, naming the path)
  // when a path cannot be read, an NDJSON file cannot be opened or read, or
  // no *.json / *.ndjson file is found at all. Problems with individual
  // lines go to `problems`; `jobs` bounds the indexing threads.
  static Result<std::unique_ptr<Population>> Open(const std::vector<std::string>& paths, int jobs,
                                                  std::vector<InputProblem>& problems);
  ~Population();

  std::size_t patient_count() const { return bundle_files_.size() + ndjson_patients_.size(); }
  std::uint64_t input_bytes() const { return input_bytes_; }
  // Patients left out while indexing (a broken line named them).
  std::size_t skipped_while_indexing() const { return skipped_while_indexing_; }
  // Resources outside the Patient compartment that were not joined, by type.
  const std::vector<std::pair<std::string, std::size_t>>& unjoined() const { return unjoined_; }

  // The next patient; false when every patient has been handed out. Fails
  // only when a file that was readable while listing no longer is.
  Result<bool> Next(PatientSlice& slice);

  struct LineRef {
    std::uint32_t file = 0;
    std::uint32_t length = 0;
    std::uint64_t offset = 0;
    std::uint32_t line = 0;  // 1-based, for messages
  };
  struct NdjsonPatient {
    std::string id;
    bool has_patient = false;    // a Patient resource with this id was read
    std::vector<LineRef> lines;  // Patient resource first, then file order
  };

 private:
  Population() = default;

  std::vector<std::string> bundle_files_;
  std::vector<std::string> ndjson_files_;
  std::vector<int> ndjson_fds_;
  std::vector<NdjsonPatient> ndjson_patients_;
  std::vector<std::pair<std::string, std::size_t>> unjoined_;
  std::uint64_t input_bytes_ = 0;
  std::size_t skipped_while_indexing_ = 0;
  std::atomic<std::size_t> next_{0};
};

// 1-based line of a byte offset in a text.
std::size_t LineOfOffset(std::string_view text, std::size_t offset);

}  // namespace cds::service
