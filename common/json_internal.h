#pragma once

// The JsonDocument <-> RapidJSON bridge (style §4.3): JsonDocument's
// representation and the JsonRef <-> rapidjson::Value conversions every
// library's *_json.cc files read values with. Only common/json_document.cc
// and *_json.cc files include it.

#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "common/json_document.h"

namespace cds {

struct JsonDocument::Impl {
  std::string text;  // ParseOwned only: the parsed-in-place text `doc`'s strings point into
  rapidjson::Document doc;
  bool duplicate_members = false;  // see JsonDocument::has_duplicate_members
};

namespace json_internal {

// A null value for invalid refs, so callers can test IsObject() etc. as usual.
const rapidjson::Value& NullValue();

inline const rapidjson::Value& AsValue(JsonRef ref) {
  return ref.valid() ? *static_cast<const rapidjson::Value*>(ref.raw()) : NullValue();
}
inline JsonRef MakeRef(const rapidjson::Value& value) { return JsonRef(&value); }

// Member lookup; nullptr when `obj` is not an object or has no such member.
// The name's length is known at the call (a literal, mostly): RapidJSON's
// FindMember(const char*) measures it again on every lookup.
const rapidjson::Value* Find(const rapidjson::Value& obj, std::string_view name);

}  // namespace json_internal
}  // namespace cds
