#pragma once

// The audit trail (issue #5): one JSON line per CDS service call, appended to
// a file, so that any card a clinician saw can later be tied to the exact
// rule set and rule versions that produced it. The format is documented in
// deploy/README.md ("Audit trail"); in short:
//   {"time","type":"cds_call","hookInstance","service","hook","ruleset",
//    "rulesFired":["MG-01@1.0.0"],"cards":[{"uuid","rule","indicator"}],
//    "status","durationMs","fhirQueries":[{"path","status","outcome","ms"}],
//    "prefetch":{"<key>":"hit"|"miss"},"jwt":{"iss","jti","tenant"},
//    "patient":"hmac-sha256:<hex>","patientKeyId":"<8 hex>"}
// The patient id appears only as HMAC-SHA256(key, patient id), so records of
// one patient can be found by whoever holds the key, and by no one else.
// Tokens, names, dates and values never appear.
//
// Writes are one write(2) per line on an O_APPEND descriptor (no user-space
// buffer: a line is on its way to disk when Write returns, and lines of
// concurrent writers never interleave).
//
// Thread-safety: Write and Reopen may be called from any thread.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "service/hooks/request_trace.h"

namespace cds::service {

// HMAC-SHA256 of patient ids under a secret key.
class PatientHasher {
 public:
  // kRuleConfig if the key is shorter than 16 bytes.
  static Result<PatientHasher> Create(std::string key);

  // "hmac-sha256:" + 64 lower-case hex digits.
  std::string Hash(std::string_view patient_id) const;
  // First 8 hex digits of SHA-256(key): tells which key a record was made
  // with (key rotation), without revealing the key.
  const std::string& key_id() const { return key_id_; }

 private:
  PatientHasher(std::string key, std::string key_id)
      : key_(std::move(key)), key_id_(std::move(key_id)) {}
  std::string key_;
  std::string key_id_;
};

// The key from `key_file` (trailing whitespace ignored) or, when `key_file`
// is "", from the environment variable MAGCDS_AUDIT_HASH_KEY.
// kRuleConfig when neither gives a key of at least 16 bytes.
Result<PatientHasher> LoadPatientHasher(const std::string& key_file);

// What /readyz shows about the audit trail (issue #12).
struct AuditState {
  bool healthy = true;  // the last write succeeded (or none was tried)
  std::uint64_t written = 0;
  std::uint64_t lost = 0;  // records that could not be written (none of them torn)
  std::string last_error;  // errno text of the last failure
};

class AuditLog {
 public:
  // Opens (creates, mode 0640) `path` for appending. kRuleConfig if it cannot.
  static Result<std::unique_ptr<AuditLog>> Open(std::string path, PatientHasher hasher);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Writes the record of one service call; false if the line could not be
  // written in full (the caller counts and logs that; the response stands).
  // A record is written whole or not at all: a short write (full disk) is
  // truncated away, so the file never holds a torn line.
  bool Write(const RequestTrace& trace, int status, double duration_ms);

  AuditState State() const;

  // Closes and reopens the file at the same path (after logrotate moved it).
  Status Reopen();

  const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, PatientHasher hasher, int fd)
      : path_(std::move(path)), hasher_(std::move(hasher)), fd_(fd) {}

  const std::string path_;
  const PatientHasher hasher_;
  mutable std::mutex mutex_;
  int fd_;
  AuditState state_;
};

// The fields of one audit line, as values.
struct AuditRecord {
  std::string time;  // "2026-11-22T15:04:05.123Z"
  const RequestTrace* trace = nullptr;
  int status = 0;
  double duration_ms = 0;
  std::string patient_hash;  // "" when the request named no patient
  std::string patient_key_id;
};

// One JSON object, no newline (audit_json.cc).
std::string WriteAuditLine(const AuditRecord& record);

// UTC now with milliseconds, "2026-11-22T15:04:05.123Z".
std::string NowIsoMillis();

}  // namespace cds::service
