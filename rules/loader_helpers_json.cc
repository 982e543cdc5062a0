// Small JSON reading helpers of the loader (loader_json_internal.h).

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>

#include "common/json_internal.h"
#include "rules/loader_json_internal.h"

namespace cds::rules::internal {

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string Index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const Value* Member(const Value& object, std::string_view name) {
  return json_internal::Find(object, name);
}

// Reads a required/optional string member.
bool GetString(const Value& object, const char* name, const std::string& path, Reporter& r,
               std::string& out, bool required) {
  const Value* v = Member(object, name);
  if (v == nullptr) {
    if (required) r.Fail(Join(path, name), "missing; expected a non-empty string");
    return !required;
  }
  if (!v->IsString() || v->GetStringLength() == 0) {
    r.Fail(Join(path, name), "expected a non-empty string");
    return false;
  }
  out.assign(v->GetString(), v->GetStringLength());
  return true;
}

bool IsSemVer(const std::string& s) {
  int parts = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i;
    if (i == start) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 3) return parts == 3 && (s[i] == '-' || s[i] == '+');
    ++i;
  }
  return parts == 3;
}

bool IsDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0UL, 1UL, 2UL, 3UL, 5UL, 6UL, 8UL, 9UL}) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) return false;
  }
  return true;
}

bool IsId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

std::string CompactJson(const Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

namespace {

// Feeds a JSON value to two chained 64-bit mixes, word by word: a tag for
// each value's type, then its content. Strings go in 8 bytes a step with their
// length, so "ab","c" and "a","bc" differ; integers and doubles keep their
// type (1 and 1.0 differ, as their compact JSON does).
class Digester {
 public:
  void Add(const Value& v) {
    switch (v.GetType()) {
      case rapidjson::kNullType:
        Word(1);
        break;
      case rapidjson::kFalseType:
        Word(2);
        break;
      case rapidjson::kTrueType:
        Word(3);
        break;
      case rapidjson::kStringType:
        Word(4);
        Text(v.GetString(), v.GetStringLength());
        break;
      case rapidjson::kNumberType:
        if (v.IsDouble()) {
          std::uint64_t bits = 0;
          const double d = v.GetDouble();
          std::memcpy(&bits, &d, sizeof bits);
          Word(5);
          Word(bits);
        } else if (v.IsInt64()) {
          Word(6);
          Word(static_cast<std::uint64_t>(v.GetInt64()));
        } else {
          Word(7);
          Word(v.GetUint64());
        }
        break;
      case rapidjson::kArrayType:
        Word(8);
        Word(v.Size());
        for (const Value& element : v.GetArray()) Add(element);
        break;
      case rapidjson::kObjectType:
        Word(9);
        Word(v.MemberCount());
        for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
          Text(it->name.GetString(), it->name.GetStringLength());
          Add(it->value);
        }
        break;
    }
  }
  JsonDigest digest() const { return {Mix(first_), Mix(second_ ^ 0x9E3779B97F4A7C15ULL)}; }

 private:
  // MurmurHash3's 64-bit finaliser (public domain, Austin Appleby): a
  // bijection, so two inputs that differ in one word never meet again.
  static std::uint64_t Mix(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
  }
  void Word(std::uint64_t w) {
    first_ = Mix(first_ ^ w);
    second_ = Mix(second_ + w * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL);
  }
  void Text(const char* text, std::size_t length) {
    Word(length);
    std::size_t i = 0;
    for (; i + 8 <= length; i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, text + i, 8);
      Word(w);
    }
    if (i < length) {
      std::uint64_t w = 0;
      std::memcpy(&w, text + i, length - i);
      Word(w);
    }
  }

  std::uint64_t first_ = 0x243F6A8885A308D3ULL;
  std::uint64_t second_ = 0x13198A2E03707344ULL;
};

}  // namespace

JsonDigest DigestJson(const Value& v) {
  Digester digester;
  digester.Add(v);
  return digester.digest();
}

bool ParseRoute(const std::string& name, fhir::Route& out) {
  static const std::map<std::string, fhir::Route> kRoutes = {
      {"unknown", fhir::Route::kUnknown},
      {"oral", fhir::Route::kOral},
      {"intravenous", fhir::Route::kIntravenous},
      {"intramuscular", fhir::Route::kIntramuscular},
      {"subcutaneous", fhir::Route::kSubcutaneous},
      {"topical", fhir::Route::kTopical},
      {"rectal", fhir::Route::kRectal},
      {"inhalation", fhir::Route::kInhalation},
      {"other", fhir::Route::kOther}};
  auto it = kRoutes.find(name);
  if (it == kRoutes.end()) return false;
  out = it->second;
  return true;
}

bool IndicatorFromName(const std::string& name, Indicator& out) {
  if (name == "info")
    out = Indicator::kInfo;
  else if (name == "warning")
    out = Indicator::kWarning;
  else if (name == "critical")
    out = Indicator::kCritical;
  else
    return false;
  return true;
}

}  // namespace cds::rules::internal
