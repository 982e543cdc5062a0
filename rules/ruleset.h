#pragma once

// RuleSet: a versioned rule file, compiled. Loading (rules/loader.h) checks
// everything once — value-set ids, parameter names, analytes, template
// placeholders, summary length, precedence cycles — so evaluation
// (rules/engine.h) never meets a configuration error (cel-cpp's
// compile-then-evaluate). A RuleSet is immutable after loading and shared
// between threads as std::shared_ptr<const RuleSet>; a reload builds a new one.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fhir/lab_results.h"
#include "fhir/patient_facts.h"
#include "fhir/prefetch_spec.h"
#include "rules/text_template.h"
#include "rules/value_set_index.h"

namespace cds::rules {

enum class Indicator { kInfo = 0, kWarning = 1, kCritical = 2 };
const char* IndicatorName(Indicator indicator);  // "info", "warning", "critical"

// Three-valued (Kleene) logic: kUnknown when the facts a predicate needs were
// not obtained (or, for absence, not complete). A rule fires only on kTrue.
enum class Truth : std::uint8_t { kFalse, kTrue, kUnknown };
const char* TruthName(Truth truth);  // "false", "true", "unknown"

// A compiled value set. A concept is a member when its own include matcher or
// an included set matches, and neither its own exclude matcher nor an excluded
// set does (included sets keep their own exclusions).
class ValueSet {
 public:
  std::string id;
  std::string title;
  std::string version;
  std::string description;

  struct Matcher {
    StringSet exact;     // "system|code" (ICD-10-CM without dots, upper case)
    StringSet prefixes;  // "system|prefix" (ATC, ICD-10-CM)
    // ICD-10-CM prefixes that count only with one of these 7th characters
    // (encounter phase: "S32.0" with "AB" = initial encounter, closed or open).
    std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> seventh;
    std::vector<TextPattern> text;
    // Index of `text`: patterns by their first token, and one-word prefix
    // patterns by their first three letters (prefixes have at least three).
    std::unordered_map<std::string, std::vector<std::uint32_t>, StringHash, std::equal_to<>>
        by_first_token;
    std::unordered_map<std::string, std::vector<std::uint32_t>, StringHash, std::equal_to<>>
        by_prefix3;
    bool empty() const { return exact.empty() && prefixes.empty() && text.empty(); }
    void IndexText();  // (re)builds the index after `text` changed
  };
  Matcher include;
  Matcher exclude;
  std::vector<int> include_sets;  // indices into RuleSet::value_sets
  std::vector<int> exclude_sets;

  // For diff and documentation: every code as written, "system|code", and
  // codes present in the file but left out of matching because unverified.
  std::vector<std::string> listed_codes;
  std::vector<std::string> unverified_codes;
};

// Something a concept can be matched on, tokenised once per evaluation. The
// keys and tokens are views into one buffer the view owns (one allocation per
// view, not one per string: issue #18); moving a view keeps them valid, and a
// view cannot be copied.
struct ConceptView {
  std::vector<std::string_view> code_keys;       // CodeKey of each coding
  std::vector<std::size_t> code_system_lengths;  // for prefix probes; 0 = not hierarchical
  std::vector<std::span<const std::string_view>> token_lists;  // one per text/display
  std::vector<std::string_view> tokens;                        // every list's tokens, back to back
  std::unique_ptr<char[]> chars;                               // the bytes of every key and token
  std::size_t chars_capacity = 0;                              // bytes allocated at `chars`
};
ConceptView MakeConceptView(const std::vector<const fhir::CodeableConcept*>& concepts);
// The same into `view`, which keeps its buffers when they are big enough: a
// caller matching many concepts in turn allocates for the first few only
// (issue #18). Every view made into `view` before is invalid afterwards.
void FillConceptView(const std::vector<const fhir::CodeableConcept*>& concepts, ConceptView& view);
bool Matches(const std::vector<ValueSet>& value_sets, int index, const ConceptView& concept_view);
// The same, asking `member_of(i)` for included/excluded sets (lets a caller
// answer from a per-request cache instead of matching a shared set again).
bool Matches(const std::vector<ValueSet>& value_sets, int index, const ConceptView& concept_view,
             const std::function<bool(int)>& member_of);
// Lower-case alphanumeric tokens of a text (separators: everything else).
std::vector<std::string> Tokenize(std::string_view text);

inline constexpr std::string_view kAtcSystem = "http://www.whocc.no/atc";
inline constexpr std::string_view kIcd10CmSystem = "http://hl7.org/fhir/sid/icd-10-cm";
inline constexpr std::string_view kRxNormSystem = "http://www.nlm.nih.gov/research/umls/rxnorm";
inline constexpr std::string_view kSnomedSystem = "http://snomed.info/sct";
inline constexpr std::string_view kLoincSystem = "http://loinc.org";
// ATC and ICD-10-CM codes are hierarchical by prefix.
bool IsHierarchicalSystem(std::string_view system);
// ICD-10-CM: dots and spaces removed, upper case; ATC: upper case; others as sent.
std::string NormaliseCode(std::string_view system, std::string_view code);
// "system|normalised code": the key of ValueSet::Matcher::exact and ::prefixes.
std::string CodeKey(std::string_view system, std::string_view code);

struct Analyte {
  std::string id;     // "serum-magnesium"
  std::string title;  // "serum magnesium"
  fhir::AnalyteSpec spec;
};

enum class PredicateKind {
  kAll,
  kAny,
  kNot,
  kMedication,
  kCondition,
  kLab,
  kNoLab,
  kRuleFires,
  kPatient,
  kDraftOrder,  // a non-medication draft order of the hook (R29: serum Mg ServiceRequest)
  kFact         // a coded fact of a category a hook defines (issue #11: hooks as data)
};
// Which medications a medication predicate reads (R29/R30): the patient's
// current ones, the hook's proposed ones (draft orders), or either.
enum class MedicationSource { kCurrent, kProposed, kEither };
enum class Comparison { kNone, kBelow, kAtOrBelow, kAbove, kAtOrAbove, kBetween };

struct Predicate {
  PredicateKind kind = PredicateKind::kAll;
  std::string label;    // definition name if it came from one ("longTermPpi"), else ""
  std::string bind_as;  // "as": name under which matched facts are offered to the card text
  std::vector<Predicate> children;  // all / any / not

  // medication / condition / draftOrder / fact
  int value_set = -1;    // index into RuleSet::value_sets
  std::string category;  // fact: the fact category id ("toy-lab-orders")
  MedicationSource source = MedicationSource::kCurrent;  // medication: current/proposed/either
  std::vector<fhir::Route> routes;                       // medication: allowed routes; empty = any
  std::optional<double> min_days;                        // medication: exposure at least this long
  bool start_unknown = false;                            // medication: some match has no start date
  std::optional<bool> as_needed;
  // medication minDays (R13): closed records of the same value set with one of
  // `chain_statuses` whose end lies at most `chain_gap_days` before the exposure
  // start extend it back to their own start (any member drug: a class effect).
  std::optional<double> chain_gap_days;
  std::vector<std::string>
      chain_statuses;                // medication: only PRN (true) / only scheduled (false) matches
  bool include_unconfirmed = false;  // condition: unconfirmed/differential count
  // condition: onset (else recordedDate) at most this many days ago; an undated
  // record counts only with `undated_counts`.
  std::optional<double> condition_within_days;
  bool undated_counts = true;
  // medication: besides current ones, records with one of `recent_statuses`
  // whose start falls in the last `recent_days` count (closed per-cycle orders).
  std::optional<double> recent_days;
  std::vector<std::string> recent_statuses;

  // patient: deceased (true) / at least this age in whole years on now's UTC day
  bool deceased = false;
  std::optional<double> min_age_years;

  // lab / noLab
  int analyte = -1;  // index into RuleSet::analytes
  double within_days = 0;
  Comparison comparison = Comparison::kNone;
  double threshold = 0;
  double threshold_high = 0;       // kBetween: [threshold, threshold_high]
  std::vector<std::string> bands;  // lab: the latest result's grading band is one of these
  // lab: a censored result that cannot decide the comparison counts as no
  // result (R4: "<45" against "< 30" falls back to other evidence).
  bool undecidable_as_absent = false;

  // ruleFires: rule indices (raw outcome, before precedence)
  std::vector<int> rules;

  // Structurally identical medication/condition/lab leaves share an id (set
  // at load), so one request evaluates each distinct leaf once. -1: none.
  int leaf_id = -1;
};

// Per-drug text (R22): each medication a binding matched gets the text of the
// first row whose value set it is in, else `otherwise`.
struct TextTable {
  std::string binding;
  struct Row {
    int value_set = -1;
    std::string text;
  };
  std::vector<Row> rows;
  std::string otherwise;
};

struct TextPart {
  int table = -1;        // index into Rule::tables: one line per matched drug
  TextTemplate text;     // template with ${...} placeholders
  std::string if_bound;  // shown only when this binding matched something
  std::string unless_bound;
};

struct ActionTemplate {
  std::string type;           // create | delete
  TextTemplate description;   // template
  std::string resource_json;  // compact JSON with ${...} placeholders in string values
  std::optional<Predicate> when;
};

struct SuggestionTemplate {
  TextTemplate label;
  bool recommended = false;
  // With a binding name: one suggestion per current MedicationRequest that
  // binding matched, ${item.name} / ${item.ref} filled per request (R21:
  // "Discontinue {display}", a `delete` action with resourceId).
  std::string for_each;
  std::vector<ActionTemplate> actions;
};

// A reason a clinician may give for overriding a card (CDS Hooks 2.0 card
// `overrideReasons`, a Coding list). The EHR offers them and sends the chosen
// one back in feedback (issue #16).
struct OverrideReason {
  std::string system;
  std::string code;
  std::string display;
};

struct IndicatorCase {
  Predicate when;
  Indicator indicator = Indicator::kInfo;
};

// A fingerprint of one JSON value as written in a rule file — its structure,
// member order, types and text — so that `rules diff` can tell which fields of
// a rule changed. Two values with equal text have equal digests; different
// values differ in at least one of 128 bits except by chance (two chained
// 64-bit mixes). Issue #18: building each field's compact JSON for this was 10 %
// of a reload.
struct JsonDigest {
  std::uint64_t first = 0;
  std::uint64_t second = 0;
  friend bool operator==(const JsonDigest&, const JsonDigest&) = default;
};

struct Rule {
  std::string id;       // "MG-01"
  std::string version;  // "1.0.0"
  std::string title;
  bool enabled = true;
  // The hooks this rule may fire on ("hooks" in the file; default
  // patient-view). Patient-view rules never fire on the order hooks and vice
  // versa (R29).
  std::vector<std::string> hooks;
  Predicate when;
  std::vector<std::pair<std::string, Predicate>> bindings;  // extra facts for the text
  Indicator indicator = Indicator::kInfo;                   // default
  std::vector<IndicatorCase> indicator_cases;               // highest true case wins
  TextTemplate summary;                                     // < 140 chars rendered
  // R18: the first case whose `when` is true replaces `summary` (same length check).
  struct SummaryCase {
    Predicate when;
    TextTemplate summary;
  };
  std::vector<SummaryCase> summary_cases;
  std::vector<TextPart> detail;
  std::vector<TextTable> tables;
  std::vector<SuggestionTemplate> suggestions;
  std::vector<OverrideReason> override_reasons;  // card.overrideReasons, file order
  std::string source_label;
  std::string source_url;
  std::string evidence;
  // Rules that suppress this one when they fire. With `when_unknown`, an
  // unknown outcome of the replacing rule suppresses it too (used where
  // withholding is the safe direction: an unexcluded red flag).
  struct Replacement {
    int by = -1;
    bool when_unknown = false;
  };
  std::vector<Replacement> replaced_by;
  // A digest of each top-level field as written, for `rules diff`.
  std::map<std::string, JsonDigest> source_fields;
};

struct ServiceDefinition {
  std::string id;
  std::string hook;
  std::string title;
  std::string description;
  std::string usage_requirements;
  std::vector<int> prefetch;  // indices into RuleSet::prefetch
};

struct PrecedenceEntry {
  std::string rule;
  std::vector<std::string> replaces;
  std::string reason;
  bool when_unknown = false;  // "whenUnknown": "suppress"
};

struct RuleSet {
  std::string id;
  std::string version;
  std::string release_date;
  std::string title;
  std::string disclaimer;
  std::string topic_system;  // Coding system for source.topic (rule ids)
  std::string path;          // where it was loaded from

  std::vector<ServiceDefinition> services;
  std::vector<fhir::PrefetchSpec> prefetch;
  std::unordered_map<std::string, double> parameters;
  std::vector<ValueSet> value_sets;
  ValueSetIndex value_set_index;  // of value_sets, built by the loader
  std::vector<Analyte> analytes;
  std::vector<Rule> rules;                  // file order (card order among equals)
  std::vector<int> evaluation_order;        // topological: ruleFires dependencies first
  std::vector<int> precedence_order;        // topological: replacing rules first
  std::vector<PrecedenceEntry> precedence;  // as written, for diff and docs
  int leaf_count = 0;                       // distinct Predicate::leaf_id values
  // R6: "N days" windows compare UTC calendar days, boundary day included.
  bool calendar_day_windows = false;
  // When one of these is true, no rule fires (R7: deceased patient); explain
  // gives the reason.
  struct Withhold {
    Predicate when;
    std::string reason;
  };
  std::vector<Withhold> withhold_all;
  std::map<std::string, std::string> analyte_source;   // analyte id -> compact JSON
  std::map<std::string, std::string> prefetch_source;  // key -> compact JSON
  // "definition NAME", "resourceTemplate NAME", "service ID" -> compact JSON
  std::map<std::string, std::string> other_source;

  const ServiceDefinition* FindService(std::string_view service_id) const;
  int FindRule(std::string_view rule_id) const;  // -1 if absent
  std::string Label() const { return id + "@" + version; }
};

}  // namespace cds::rules
