// JSON writing for service/http/response_json.h.
#include "service/http/response_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "service/http/http_status.h"

namespace cds::service {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void String(JsonWriter& w, const std::string& text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void Key(JsonWriter& w, const char* name) { w.Key(name); }

// "name": "text", only when text is not empty.
void OptionalMember(JsonWriter& w, const char* name, const std::string& text) {
  if (text.empty()) return;
  Key(w, name);
  String(w, text);
}

void WriteCoding(JsonWriter& w, const cards::Coding& coding) {
  w.StartObject();
  OptionalMember(w, "system", coding.system);
  OptionalMember(w, "code", coding.code);
  OptionalMember(w, "display", coding.display);
  w.EndObject();
}

void WriteSource(JsonWriter& w, const cards::Source& source) {
  w.StartObject();
  Key(w, "label");
  String(w, source.label);
  OptionalMember(w, "url", source.url);
  if (!source.topic.code.empty()) {
    Key(w, "topic");
    WriteCoding(w, source.topic);
  }
  w.EndObject();
}

void WriteAction(JsonWriter& w, const cards::Action& action) {
  w.StartObject();
  Key(w, "type");
  String(w, action.type);
  Key(w, "description");
  String(w, action.description);
  if (!action.resource_json.empty()) {
    Key(w, "resource");
    w.RawValue(action.resource_json.data(), action.resource_json.size(), rapidjson::kObjectType);
  }
  OptionalMember(w, "resourceId", action.resource_id);
  w.EndObject();
}

void WriteSuggestion(JsonWriter& w, const cards::Suggestion& suggestion) {
  w.StartObject();
  Key(w, "label");
  String(w, suggestion.label);
  OptionalMember(w, "uuid", suggestion.uuid);
  if (suggestion.is_recommended) {
    Key(w, "isRecommended");
    w.Bool(true);
  }
  if (!suggestion.actions.empty()) {
    Key(w, "actions");
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
  OptionalMember(w, "uuid", card.uuid);
  Key(w, "summary");
  String(w, card.summary);
  OptionalMember(w, "detail", card.detail);
  Key(w, "indicator");
  w.String(rules::IndicatorName(card.indicator));
  Key(w, "source");
  WriteSource(w, card.source);
  if (!card.suggestions.empty()) {
    Key(w, "suggestions");
    w.StartArray();
    for (const cards::Suggestion& suggestion : card.suggestions) WriteSuggestion(w, suggestion);
    w.EndArray();
    // CDS Hooks 2.0 §Card: selectionBehavior MUST be present with suggestions.
    Key(w, "selectionBehavior");
    w.String(card.selection_behavior.empty() ? "at-most-one" : card.selection_behavior.c_str());
  }
  if (!card.override_reasons.empty()) {
    // CDS Hooks 2.0 §Card: overrideReasons, a Coding list; feedback sends one back.
    Key(w, "overrideReasons");
    w.StartArray();
    for (const cards::Coding& reason : card.override_reasons) WriteCoding(w, reason);
    w.EndArray();
  }
  if (!card.rule_id.empty() || !card.ruleset_id.empty()) {
    Key(w, "extension");
    w.StartObject();
    Key(w, "org.magcds.provenance");
    w.StartObject();
    OptionalMember(w, "rule", Label(card.rule_id, card.rule_version));
    OptionalMember(w, "ruleset", Label(card.ruleset_id, card.ruleset_version));
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
  Key(w, "cards");
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
  Key(w, "services");
  w.StartArray();
  for (const rules::ServiceDefinition& service : rule_set.services) {
    w.StartObject();
    Key(w, "hook");
    String(w, service.hook);
    Key(w, "id");
    String(w, service.id);
    OptionalMember(w, "title", service.title);
    // description is MUST in discovery: always sent, even if empty.
    Key(w, "description");
    String(w, service.description);
    bool prefetch_open = false;
    for (const int index : service.prefetch) {
      if (index < 0 || static_cast<std::size_t>(index) >= rule_set.prefetch.size()) continue;
      const fhir::PrefetchSpec& spec = rule_set.prefetch[static_cast<std::size_t>(index)];
      if (!prefetch_open) {
        Key(w, "prefetch");
        w.StartObject();
        prefetch_open = true;
      }
      w.Key(spec.key.data(), static_cast<rapidjson::SizeType>(spec.key.size()));
      String(w, spec.query);
    }
    if (prefetch_open) w.EndObject();
    OptionalMember(w, "usageRequirements", service.usage_requirements);
    Key(w, "extension");
    w.StartObject();
    Key(w, "org.magcds.ruleset");
    w.StartObject();
    Key(w, "id");
    String(w, rule_set.id);
    Key(w, "version");
    String(w, rule_set.version);
    OptionalMember(w, "releaseDate", rule_set.release_date);
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
  Key(w, "error");
  w.String(ErrorCodeName(error));
  Key(w, "message");
  String(w, error.message);
  w.EndObject();
  return Take(buffer);
}

std::string WriteStringObject(const std::vector<std::pair<std::string, std::string>>& members) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  for (const auto& [name, value] : members) {
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    String(w, value);
  }
  w.EndObject();
  return Take(buffer);
}

}  // namespace cds::service
