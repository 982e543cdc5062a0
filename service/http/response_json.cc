// JSON writing for service/http/response_json.h.
#include "service/http/response_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json_write_internal.h"
#include "service/http/http_status.h"

namespace cds::service {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

using json_internal::Field;
using json_internal::OptionalField;
using json_internal::WriteString;

void WriteCoding(JsonWriter& w, const cards::Coding& coding) {
  w.StartObject();
  OptionalField(w, "system", coding.system);
  OptionalField(w, "code", coding.code);
  OptionalField(w, "display", coding.display);
  w.EndObject();
}

void WriteSource(JsonWriter& w, const cards::Source& source) {
  w.StartObject();
  Field(w, "label", source.label);
  OptionalField(w, "url", source.url);
  if (!source.topic.code.empty()) {
    w.Key("topic");
    WriteCoding(w, source.topic);
  }
  w.EndObject();
}

void WriteAction(JsonWriter& w, const cards::Action& action) {
  w.StartObject();
  Field(w, "type", action.type);
  Field(w, "description", action.description);
  if (!action.resource_json.empty()) {
    w.Key("resource");
    w.RawValue(action.resource_json.data(), action.resource_json.size(), rapidjson::kObjectType);
  }
  OptionalField(w, "resourceId", action.resource_id);
  w.EndObject();
}

void WriteSuggestion(JsonWriter& w, const cards::Suggestion& suggestion) {
  w.StartObject();
  Field(w, "label", suggestion.label);
  OptionalField(w, "uuid", suggestion.uuid);
  if (suggestion.is_recommended) {
    w.Key("isRecommended");
    w.Bool(true);
  }
  if (!suggestion.actions.empty()) {
    w.Key("actions");
    w.StartArray();
    for (const cards::Action& action : suggestion.actions) WriteAction(w, action);
    w.EndArray();
  }
  w.EndObject();
}

std::string Label(const std::string& id, const std::string& version) {
  if (version.empty()) return id;
  return id + "@" + version;
}

void WriteCard(JsonWriter& w, const cards::Card& card) {
  w.StartObject();
  OptionalField(w, "uuid", card.uuid);
  Field(w, "summary", card.summary);
  OptionalField(w, "detail", card.detail);
  Field(w, "indicator", rules::IndicatorName(card.indicator));
  w.Key("source");
  WriteSource(w, card.source);
  if (!card.suggestions.empty()) {
    w.Key("suggestions");
    w.StartArray();
    for (const cards::Suggestion& suggestion : card.suggestions) WriteSuggestion(w, suggestion);
    w.EndArray();
    // CDS Hooks 2.0 §Card: selectionBehavior MUST be present with suggestions.
    Field(w, "selectionBehavior",
          card.selection_behavior.empty() ? "at-most-one" : card.selection_behavior.c_str());
  }
  if (!card.override_reasons.empty()) {
    // CDS Hooks 2.0 §Card: overrideReasons, a Coding list; feedback sends one back.
    w.Key("overrideReasons");
    w.StartArray();
    for (const cards::Coding& reason : card.override_reasons) WriteCoding(w, reason);
    w.EndArray();
  }
  if (!card.rule_id.empty() || !card.ruleset_id.empty()) {
    w.Key("extension");
    w.StartObject();
    w.Key("org.magcds.provenance");
    w.StartObject();
    OptionalField(w, "rule", Label(card.rule_id, card.rule_version));
    OptionalField(w, "ruleset", Label(card.ruleset_id, card.ruleset_version));
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
}

std::string Take(rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string WriteCardsResponse(const std::vector<cards::Card>& cards) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("cards");
  w.StartArray();
  for (const cards::Card& card : cards) WriteCard(w, card);
  w.EndArray();
  w.EndObject();
  return Take(buffer);
}

std::string WriteDiscovery(const rules::RuleSet& rule_set) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("services");
  w.StartArray();
  for (const rules::ServiceDefinition& service : rule_set.services) {
    w.StartObject();
    Field(w, "hook", service.hook);
    Field(w, "id", service.id);
    OptionalField(w, "title", service.title);
    // description is MUST in discovery: always sent, even if empty.
    Field(w, "description", service.description);
    bool prefetch_open = false;
    for (const int index : service.prefetch) {
      if (index < 0 || static_cast<std::size_t>(index) >= rule_set.prefetch.size()) continue;
      const fhir::PrefetchSpec& spec = rule_set.prefetch[static_cast<std::size_t>(index)];
      if (!prefetch_open) {
        w.Key("prefetch");
        w.StartObject();
        prefetch_open = true;
      }
      w.Key(spec.key.data(), static_cast<rapidjson::SizeType>(spec.key.size()));
      WriteString(w, spec.query);
    }
    if (prefetch_open) w.EndObject();
    OptionalField(w, "usageRequirements", service.usage_requirements);
    w.Key("extension");
    w.StartObject();
    w.Key("org.magcds.ruleset");
    w.StartObject();
    Field(w, "id", rule_set.id);
    Field(w, "version", rule_set.version);
    OptionalField(w, "releaseDate", rule_set.release_date);
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Take(buffer);
}

std::string WriteErrorBody(const HttpError& error) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  Field(w, "error", ErrorCodeName(error));
  Field(w, "message", error.message);
  w.EndObject();
  return Take(buffer);
}

std::string WriteStringObject(const std::vector<std::pair<std::string, std::string>>& members) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  for (const auto& [name, value] : members) {
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    WriteString(w, value);
  }
  w.EndObject();
  return Take(buffer);
}

}  // namespace cds::service
