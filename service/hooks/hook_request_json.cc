// Parsing of CDS Hooks service requests (service/hooks/hook_request.h).
#include <algorithm>
#include <cctype>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/json_internal.h"
#include "service/hooks/hook_request.h"

namespace cds::service {
namespace {

using json_internal::AsValue;
using json_internal::MakeRef;

Error Invalid(std::string message) { return Error{ErrorCode::kInvalidRequest, std::move(message)}; }

Error Missing(std::string_view name) {
  return Invalid("missing required field '" + std::string(name) + "'");
}

Error NotNonEmptyString(std::string_view name) {
  return Invalid("'" + std::string(name) + "' must be a non-empty string");
}

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// Issue #12: no request string reaches a log line, an outgoing header or URL
// with a control character in it (CR/LF would split an HTTP request).
bool HasControlCharacter(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

Result<std::string> CheckedString(const rapidjson::Value& value, std::string_view path) {
  if (!value.IsString() || value.GetStringLength() == 0) return NotNonEmptyString(path);
  std::string text(value.GetString(), value.GetStringLength());
  if (HasControlCharacter(text)) {
    return Invalid("'" + std::string(path) + "' must not contain control characters (CR, LF, ...)");
  }
  return text;
}

// A required non-empty string member; `path` is its name in messages.
Result<std::string> RequiredString(const rapidjson::Value& object, const char* name,
                                   std::string_view path) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || value->IsNull()) return Missing(path);
  return CheckedString(*value, path);
}

// An optional string member: absent or null -> "", wrong type or empty -> error.
Result<std::string> OptionalString(const rapidjson::Value& object, const char* name,
                                   std::string_view path) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || value->IsNull()) return std::string();
  return CheckedString(*value, path);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// An absolute http(s) URL with a non-empty authority.
bool IsHttpUrl(std::string_view text) {
  std::string_view rest;
  if (StartsWith(text, "https://")) {
    rest = text.substr(8);
  } else if (StartsWith(text, "http://")) {
    rest = text.substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/') return false;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

Result<FhirAuthorization> ParseFhirAuthorization(const rapidjson::Value& value) {
  if (!value.IsObject()) return Invalid("'fhirAuthorization' must be an object");
  FhirAuthorization auth;
  auto token = RequiredString(value, "access_token", "fhirAuthorization.access_token");
  if (!token) return token.error();
  if (!IsB64Token(*token)) {
    // The token goes into the outgoing "Authorization: Bearer" header as is.
    return Invalid(
        "'fhirAuthorization.access_token' must be an RFC 6750 b64token "
        "(A-Z a-z 0-9 - . _ ~ + / followed by optional =)");
  }
  auth.access_token = std::move(token).value();
  auto type = RequiredString(value, "token_type", "fhirAuthorization.token_type");
  if (!type) return type.error();
  if (!EqualsIgnoreCase(*type, "Bearer")) {
    return Invalid("'fhirAuthorization.token_type' must be \"Bearer\"");
  }
  auth.token_type = std::move(type).value();
  if (const rapidjson::Value* expires = Member(value, "expires_in");
      expires != nullptr && !expires->IsNull()) {
    // Tolerated when missing (checklist G-12); must be a whole number when sent.
    if (!expires->IsInt64()) {
      return Invalid("'fhirAuthorization.expires_in' must be an integer number of seconds");
    }
    auth.expires_in = expires->GetInt64();
  }
  for (auto [name, path, out] :
       {std::tuple{"scope", "fhirAuthorization.scope", &auth.scope},
        std::tuple{"subject", "fhirAuthorization.subject", &auth.subject},
        std::tuple{"patient", "fhirAuthorization.patient", &auth.patient}}) {
    auto text = OptionalString(value, name, path);
    if (!text) return text.error();
    *out = std::move(text).value();
  }
  return auth;
}

// CDS Hooks 2.0 §Prefetch tokens: the user tokens hold the bare id of the
// current user's resource. A bare userId is taken as a Practitioner id
// (checklist §11 item 18).
void AddUserTokens(const std::string& user_id, std::map<std::string, std::string>& tokens) {
  static const std::pair<std::string_view, const char*> kUserTypes[] = {
      {"Practitioner/", "userPractitionerId"},
      {"PractitionerRole/", "userPractitionerRoleId"},
      {"Patient/", "userPatientId"},
      {"RelatedPerson/", "userRelatedPersonId"},
  };
  for (const auto& [prefix, token] : kUserTypes) {
    if (StartsWith(user_id, prefix)) {
      const std::string id = user_id.substr(prefix.size());
      if (!id.empty()) tokens[token] = id;
      return;
    }
  }
  if (user_id.find('/') == std::string::npos) tokens["userPractitionerId"] = user_id;
}

// "Type/id" of every resource in a Bundle's entries ("" ids are skipped).
std::vector<std::string> BundleRefs(const rapidjson::Value& bundle) {
  std::vector<std::string> refs;
  const rapidjson::Value* entries = Member(bundle, "entry");
  if (entries == nullptr || !entries->IsArray()) return refs;
  for (const rapidjson::Value& entry : entries->GetArray()) {
    if (!entry.IsObject()) continue;
    const rapidjson::Value* resource = Member(entry, "resource");
    if (resource == nullptr || !resource->IsObject()) continue;
    const rapidjson::Value* type = Member(*resource, "resourceType");
    const rapidjson::Value* id = Member(*resource, "id");
    if (type == nullptr || !type->IsString() || id == nullptr || !id->IsString()) continue;
    refs.push_back(std::string(type->GetString(), type->GetStringLength()) + "/" +
                   std::string(id->GetString(), id->GetStringLength()));
  }
  return refs;
}

// The hook's own context fields, per its description (hook_definition.h).
Status ParseHookContext(const rapidjson::Value& context, HookRequest& request) {
  const HookDefinition* hook = FindHook(request.hook);
  if (hook == nullptr) return OkStatus();
  HookContext& out = request.hook_context;
  for (const ContextField& field : hook->context) {
    const std::string path = "context." + field.name;
    const rapidjson::Value* value = Member(context, field.name.c_str());
    if (value == nullptr || value->IsNull()) {
      if (field.required) return Missing(path);
      continue;
    }
    switch (field.kind) {
      case ContextField::Kind::kString: {
        auto text = CheckedString(*value, path);
        if (!text) return text.error();
        out.strings[field.name] = std::move(text).value();
        break;
      }
      case ContextField::Kind::kStringArray: {
        if (!value->IsArray()) return Invalid("'" + path + "' must be an array of strings");
        std::vector<std::string>& items = out.string_arrays[field.name];
        for (const rapidjson::Value& item : value->GetArray()) {
          if (!item.IsString() || item.GetStringLength() == 0) {
            return Invalid("'" + path + "' must be an array of non-empty strings");
          }
          auto text = CheckedString(item, path);
          if (!text) return text.error();
          items.push_back(std::move(text).value());
        }
        break;
      }
      case ContextField::Kind::kBundle: {
        const rapidjson::Value* type = value->IsObject() ? Member(*value, "resourceType") : nullptr;
        if (type == nullptr || !type->IsString() ||
            std::string_view(type->GetString()) != "Bundle") {
          return Invalid("'" + path + "' must be a FHIR Bundle (resourceType \"Bundle\")");
        }
        const rapidjson::Value* entries = Member(*value, "entry");
        if (entries != nullptr && !entries->IsNull() && !entries->IsArray()) {
          return Invalid("'" + path + ".entry' must be an array");
        }
        out.bundles[field.name] = MakeRef(*value);
        out.bundle_refs[field.name] = BundleRefs(*value);
        break;
      }
    }
  }
  if (hook->validate) {
    if (std::optional<Error> error = hook->validate(out)) return *error;
  }
  return OkStatus();
}

// Issue #12: a member name that occurs twice in one object. Parsers disagree
// on which one wins (RapidJSON's FindMember takes the first, others the last),
// so the EHR and this service could read different values: such a request is
// refused. Checked over the whole request, prefetch included, while it is
// parsed (JsonDocument::has_duplicate_members); names are compared as bytes.
// Where the duplicate is, for the message (only called when there is one).
std::string DuplicateMember(const rapidjson::Value& value, const std::string& path) {
  if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      std::string found = DuplicateMember(value[i], path + "[" + std::to_string(i) + "]");
      if (!found.empty()) return found;
    }
    return "";
  }
  if (!value.IsObject()) return "";
  std::vector<std::string_view> names;
  names.reserve(value.MemberCount());
  for (const auto& member : value.GetObject()) {
    names.emplace_back(member.name.GetString(), member.name.GetStringLength());
  }
  std::vector<std::string_view> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice != sorted.end()) {
    return (path.empty() ? "" : path + ".") + std::string(twice->substr(0, 64));
  }
  for (const auto& member : value.GetObject()) {
    const std::string name(member.name.GetString(),
                           std::min<std::size_t>(member.name.GetStringLength(), 64));
    std::string found = DuplicateMember(member.value, path.empty() ? name : path + "." + name);
    if (!found.empty()) return found;
  }
  return "";
}

// userId: a bare FHIR id or "Type/id" with a resource type name (letters) and
// a FHIR id; its id may be put into a FHIR query URL as a prefetch token.
bool IsUserReference(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return IsFhirId(text);
  const std::string_view type = text.substr(0, slash);
  if (type.empty() || type.size() > 64) return false;
  for (const char c : type) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return IsFhirId(text.substr(slash + 1));
}

Status ParseContext(const rapidjson::Value& root, HookRequest& request) {
  const rapidjson::Value* context = Member(root, "context");
  if (context == nullptr || context->IsNull()) return Missing("context");
  if (!context->IsObject()) return Invalid("'context' must be an object");

  auto patient = RequiredString(*context, "patientId", "context.patientId");
  if (!patient) return patient.error();
  if (!IsFhirId(*patient)) {
    return Invalid("'context.patientId' must be a FHIR id (1-64 of A-Z a-z 0-9 - .)");
  }
  request.patient_id = std::move(patient).value();

  auto user = RequiredString(*context, "userId", "context.userId");
  if (!user) return user.error();
  if (!IsUserReference(*user)) {
    return Invalid(
        "'context.userId' must be a FHIR id or a reference \"Type/id\" (id: 1-64 of A-Z a-z "
        "0-9 - .)");
  }
  request.user_id = std::move(user).value();

  auto encounter = OptionalString(*context, "encounterId", "context.encounterId");
  if (!encounter) return encounter.error();
  if (!encounter->empty() && !IsFhirId(*encounter)) {
    return Invalid("'context.encounterId' must be a FHIR id (1-64 of A-Z a-z 0-9 - .)");
  }
  request.encounter_id = std::move(encounter).value();

  if (Status own = ParseHookContext(*context, request); !own) return own.error();

  request.tokens["context.patientId"] = request.patient_id;
  request.tokens["context.userId"] = request.user_id;
  if (!request.encounter_id.empty()) request.tokens["context.encounterId"] = request.encounter_id;
  AddUserTokens(request.user_id, request.tokens);
  return OkStatus();
}

Status ParsePrefetch(const rapidjson::Value& root, HookRequest& request) {
  const rapidjson::Value* prefetch = Member(root, "prefetch");
  if (prefetch == nullptr || prefetch->IsNull()) return OkStatus();
  if (!prefetch->IsObject()) return Invalid("'prefetch' must be an object");
  for (const auto& member : prefetch->GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    fhir::PrefetchValue value;
    if (member.value.IsNull()) {
      value.is_null = true;
    } else if (member.value.IsObject()) {
      value.value = MakeRef(member.value);
    } else {
      return Invalid("'prefetch." + key + "' must be a FHIR resource (object) or null");
    }
    request.prefetch.insert_or_assign(std::move(key), value);
  }
  return OkStatus();
}

}  // namespace

bool IsFhirId(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<HookRequest> ParseHookRequest(std::string_view body) {
  // The copy has room for the parser's padding, so a 3 MB body is not
  // reallocated (and copied again) by it.
  return ParseHookRequestInPlace(JsonDocument::OwnedCopy(body));
}

Result<HookRequest> ParseHookRequestInPlace(std::string body) {
  // Issue #18: parsed in place, in the text the document then owns; the
  // copying parse would allocate and copy every string instead (about 18 %
  // more CPU on big records).
  auto document = JsonDocument::ParseOwned(std::move(body));
  if (!document) return document.error();
  const rapidjson::Value& root = AsValue((*document)->root());
  if (!root.IsObject()) return Invalid("request body must be a JSON object");
  if ((*document)->has_duplicate_members()) {
    return Invalid("member '" + DuplicateMember(root, "") +
                   "' occurs more than once; a JSON object's member names must be unique");
  }

  HookRequest request;
  request.document = std::move(document).value();

  auto hook = RequiredString(root, "hook", "hook");
  if (!hook) return hook.error();
  request.hook = std::move(hook).value();

  auto instance = RequiredString(root, "hookInstance", "hookInstance");
  if (!instance) return instance.error();
  request.hook_instance = std::move(instance).value();

  if (Status context = ParseContext(root, request); !context) return context.error();

  auto server = OptionalString(root, "fhirServer", "fhirServer");
  if (!server) return server.error();
  if (!server->empty() && !IsHttpUrl(*server)) {
    return Invalid("'fhirServer' must be an absolute http or https URL");
  }
  request.fhir_server = std::move(server).value();

  if (const rapidjson::Value* auth = Member(root, "fhirAuthorization");
      auth != nullptr && !auth->IsNull()) {
    // CDS Hooks 2.0 §Passing the Access Token: fhirServer is required with a token.
    if (request.fhir_server.empty()) {
      return Invalid("'fhirServer' is required when 'fhirAuthorization' is present");
    }
    auto parsed = ParseFhirAuthorization(*auth);
    if (!parsed) return parsed.error();
    // Checklist §6.3 (LOCAL): a patient-scoped token must be for the context patient.
    if (!parsed->patient.empty() && parsed->patient != request.patient_id) {
      return Invalid("'fhirAuthorization.patient' does not match 'context.patientId'");
    }
    request.fhir_authorization = std::move(parsed).value();
  }

  if (Status prefetch = ParsePrefetch(root, request); !prefetch) return prefetch.error();
  return request;
}

}  // namespace cds::service
