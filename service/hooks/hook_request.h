#pragma once

// HookRequest: a validated CDS Hooks 2.0 service request (CDS Hooks §Calling a
// CDS Service). Parsing checks shape only (required members and their JSON
// types); whether the hook is served by the called service is the handler's
// check. Unknown members and `extension` are ignored anywhere (checklist I-6,
// O-1). Error messages name the member and what is wrong with it, never its
// value, so they carry no patient data.
//
// A HookRequest owns its parsed JSON document: `prefetch` values point into it
// and stay valid for as long as the HookRequest (or a copy of `document`) lives.
// Immutable after parsing; safe to read from several threads.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/json_document.h"
#include "common/result.h"
#include "fhir/data_gatherer.h"
#include "fhir/fhir_url.h"
#include "service/hooks/hook_definition.h"

namespace cds::service {

// CDS Hooks §Passing the Access Token to the CDS Service. `access_token` is a
// secret: never log it or put it in an error message.
struct FhirAuthorization {
  std::string access_token;
  std::string token_type;  // "Bearer" (checked case-insensitively)
  std::optional<std::int64_t> expires_in;
  std::string scope;
  std::string subject;
  std::string patient;  // "" when absent
};

struct HookRequest {
  std::string hook;           // "patient-view"
  std::string hook_instance;  // correlation id only (checklist O-3)
  std::string fhir_server;    // "" when absent
  std::optional<FhirAuthorization> fhir_authorization;

  // context (CDS Hooks patient-view §Context): patientId and userId are
  // required for every hook we serve; encounterId is optional.
  std::string patient_id;    // a FHIR id: [A-Za-z0-9-.]{1,64}
  std::string user_id;       // "Practitioner/123", "PractitionerRole/1", ... or a bare id
  std::string encounter_id;  // "" when absent
  // The hook's own context fields (service/hooks/hook_definition.h), validated per
  // its description: order-sign's draftOrders, order-select's selections.
  HookContext hook_context;

  // Keys present in `prefetch`. A key whose value is JSON null is present with
  // is_null = true (the client found no data); absent keys are not listed.
  std::map<std::string, fhir::PrefetchValue> prefetch;

  // Prefetch template token values (CDS Hooks §Prefetch tokens):
  // "context.patientId", "context.userId", "context.encounterId" (if present)
  // and the user token matching userId's type: "userPractitionerId",
  // "userPractitionerRoleId", "userPatientId" or "userRelatedPersonId".
  std::map<std::string, std::string> tokens;

  std::shared_ptr<const JsonDocument> document;  // owns the prefetch values
};

// Parses and validates a request body. Fails with kInvalidRequest when the
// body is not JSON (or nests too deep), the root is not an object, a required
// member is missing or has the wrong type, context.patientId is not a FHIR id,
// fhirAuthorization is present without fhirServer (checklist I-4) or names a
// patient other than context.patientId (checklist §6.3), or a
// prefetch value is neither an object nor null. Issue #12: every value that may
// reach an outgoing header or URL is checked: no string member read here may
// hold a control character, access_token must be an RFC 6750 b64token,
// userId a FHIR id or "Type/id", encounterId a FHIR id. Issue #15: a context
// field of the hook's description (FindHook) that is missing, of the wrong
// shape, or fails the hook's own check (the message names the field).
Result<HookRequest> ParseHookRequest(std::string_view body);

// The same, taking the body: it is parsed in place, with no copy when its
// capacity has room for JsonDocument::kInsituPadding more bytes (the HTTP
// parser reserves it); the request's document then owns it.
Result<HookRequest> ParseHookRequestInPlace(std::string body);

// True for a FHIR id: 1 to 64 of [A-Za-z0-9-.].
bool IsFhirId(std::string_view text);

// RFC 6750 b64token check, shared with the FHIR client (fhir/fhir_url.h).
using fhir::IsB64Token;

}  // namespace cds::service
