#pragma once

// The compile step of loading (cel-cpp's compile-then-evaluate): everything
// the loader does to a RuleSet after reading it that does not depend on how
// the rules were written down. Nothing here sees JSON; problems are reported
// through an IssueSink with the field path the reader uses, so the reader can
// add file and line.
//
//   - templates: parsed once into segments, every placeholder checked against
//     the parameters and the rule's bindings, the longest rendering computed;
//   - leaves: structurally identical medication/condition/lab leaves share an
//     id, so one request evaluates each once;
//   - order: evaluation order (ruleFires dependencies first) and precedence
//     order (replacing rules first), with cycles reported.

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "rules/ruleset.h"
#include "rules/text_template.h"

namespace cds::rules::internal {

// (rule id or "", field path, message).
using IssueSink = std::function<void(const std::string& rule_id, const std::string& field,
                                     const std::string& message)>;

// What a binding ("as" / "bind") offers the card text.
enum class BindKind { kMedication, kCondition, kLab, kRules };
// What a predicate of this kind offers the card text; nullopt if it binds nothing.
std::optional<BindKind> BindKindOf(PredicateKind kind);
bool FieldAllowed(BindKind kind, const std::string& field);

// A parameter value as the card text shows it.
std::string FormatParam(double value);

// Where a template is used: card text sees the rule's bindings (and
// ${rule.evidence}); a resource template only ${patient.id} and ${reason}.
struct TemplateScope {
  const std::unordered_map<std::string, double>* parameters = nullptr;
  const std::map<std::string, BindKind>* binds = nullptr;  // null: no bindings
  bool resource = false;
};

// Parses `tmpl.text` into `tmpl.segments` and checks every placeholder;
// problems go to `fail(field, message)` with `path` as the field. Returns the
// longest rendering in code points (summaries must stay under 140).
std::size_t CompileTemplate(
    TextTemplate& tmpl, const std::string& path, const TemplateScope& scope,
    const std::function<void(const std::string&, const std::string&)>& fail);

// Assigns leaf ids and computes RuleSet::evaluation_order and
// ::precedence_order; a cycle is reported (with the rule it runs through).
void OrderRules(RuleSet& rule_set, const IssueSink& fail);

}  // namespace cds::rules::internal
