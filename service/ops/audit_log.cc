#include "service/ops/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace cds::service {
namespace {

constexpr std::size_t kMinKeyBytes = 16;

std::string Hex(const unsigned char* bytes, std::size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

Error Bad(std::string message) {
  return Error{ErrorCode::kRuleConfig, "audit: " + std::move(message)};
}

std::string Octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Issue #12, as sshd does for private keys: a secret or the audit trail that
// any local user may read (or write) is refused at start.
Status CheckNotOpenToOthers(const std::string& what, const std::string& path,
                            const struct stat& info) {
  if ((info.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    return Bad(what + " " + path + " is accessible by others (mode " + Octal(info.st_mode) +
               "); remove the 'other' permissions, e.g. chmod o-rwx " + path);
  }
  return OkStatus();
}

}  // namespace

Result<PatientHasher> PatientHasher::Create(std::string key) {
  if (key.size() < kMinKeyBytes) {
    return Bad("the patient hash key must be at least " + std::to_string(kMinKeyBytes) + " bytes");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return Bad("SHA-256 is not available");
  }
  std::string key_id = Hex(digest, 4);
  return PatientHasher(std::move(key), std::move(key_id));
}

std::string PatientHasher::Hash(std::string_view patient_id) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(patient_id.data()), patient_id.size(), mac, &size);
  return "hmac-sha256:" + Hex(mac, size);
}

Result<PatientHasher> LoadPatientHasher(const std::string& key_file) {
  std::string key;
  if (!key_file.empty()) {
    struct stat info {};
    if (::stat(key_file.c_str(), &info) == 0) {
      if (Status open = CheckNotOpenToOthers("the patient hash key file", key_file, info); !open) {
        return open.error();
      }
    }
    std::ifstream in(key_file, std::ios::binary);
    if (!in) return Bad("cannot read the patient hash key file " + key_file);
    std::ostringstream text;
    text << in.rdbuf();
    key = text.str();
  } else if (const char* env = std::getenv("MAGCDS_AUDIT_HASH_KEY"); env != nullptr) {
    key = env;
  } else {
    return Bad("a patient hash key is needed: set audit.hashKeyFile or MAGCDS_AUDIT_HASH_KEY");
  }
  while (!key.empty() &&
         (key.back() == '\n' || key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) {
    key.pop_back();
  }
  return PatientHasher::Create(std::move(key));
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(std::string path, PatientHasher hasher) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Bad("cannot open " + path + " for appending: " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) == 0) {
    if (Status open = CheckNotOpenToOthers("the audit file", path, info); !open) {
      ::close(fd);
      return open.error();
    }
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(path), std::move(hasher), fd));
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::Write(const RequestTrace& trace, int status, double duration_ms) {
  AuditRecord record;
  record.time = NowIsoMillis();
  record.trace = &trace;
  record.status = status;
  record.duration_ms = duration_ms;
  if (!trace.patient_id.empty()) {
    record.patient_hash = hasher_.Hash(trace.patient_id);
    record.patient_key_id = hasher_.key_id();
  }
  std::string line = WriteAuditLine(record);
  line += '\n';
  std::lock_guard<std::mutex> lock(mutex_);
  std::string error;
  if (fd_ < 0) {
    error = "audit file not open";
  } else {
    // Issue #12: a whole record or none. A write cut short (full disk) is
    // undone by truncating the file back to where the record began, so a
    // reader never sees a torn line.
    const off_t start = ::lseek(fd_, 0, SEEK_END);
    std::size_t written = 0;
    while (written < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = n < 0 ? std::strerror(errno) : "nothing written";
        break;
      }
      written += static_cast<std::size_t>(n);
    }
    if (!error.empty() && written > 0 && start >= 0) {
      if (::ftruncate(fd_, start) != 0) error += "; the partial record could not be removed";
    }
  }
  if (error.empty()) {
    ++state_.written;
    state_.healthy = true;
    return true;
  }
  ++state_.lost;
  state_.healthy = false;
  state_.last_error = std::move(error);
  return false;
}

AuditState AuditLog::State() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

Status AuditLog::Reopen() {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Bad("cannot reopen " + path_ + ": " + std::strerror(errno));
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return OkStatus();
}

std::string NowIsoMillis() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

}  // namespace cds::service
