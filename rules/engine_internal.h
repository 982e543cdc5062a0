#pragma once

// Internal to rules/: the evaluator behind rules::Evaluate (engine.h), split
// by concern: engine.cc runs rules (three-valued logic, shared leaves,
// precedence, card facts), engine_facts.cc answers the leaf predicates from
// PatientFacts, engine_membership.cc caches value-set membership per request,
// engine_explain.cc describes predicates for explain mode. One Evaluator
// serves one call; it is not shared between threads.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fhir/fhir_time.h"
#include "fhir/lab_results.h"
#include "fhir/patient_facts.h"
#include "rules/engine.h"
#include "rules/ruleset.h"

namespace cds::rules::internal {

using fhir::Availability;
using fhir::EpochSeconds;
using fhir::FactCategory;

// Kleene logic.
Truth And(Truth a, Truth b);
Truth Or(Truth a, Truth b);
Truth Not(Truth a);
// "Not found" only counts as false when the category is complete.
Truth Absent(const fhir::CategoryState& state);
// Whole UTC days since the epoch (floor, also before 1970).
EpochSeconds DayOf(EpochSeconds t);
// Civil date of a UTC day number (Howard Hinnant's days_from_civil inverse).
void CivilFromDays(EpochSeconds z, int& y, int& m, int& d);
// A number as explain shows it.
std::string Number(double v);
const char* ComparisonText(Comparison c);
// Whether every value a (possibly censored) result can stand for satisfies the
// comparison: kTrue if all do, kFalse if none, kUnknown if some.
Truth Compare(const fhir::LabValue& lab, const Predicate& p);

class Evaluator {
 public:
  Evaluator(const RuleSet& rule_set, const fhir::PatientFacts& facts, EpochSeconds now,
            bool explain, std::string hook)
      : hook_(std::move(hook)),
        rs_(rule_set),
        facts_(facts),
        now_(now),
        explain_(explain),
        index_(IndexOf(rule_set, own_index_)),
        labs_(rule_set.analytes.size()),
        raw_(rule_set.rules.size(), Truth::kFalse),
        leaves_(static_cast<std::size_t>(rule_set.leaf_count)) {}

  Evaluation Run();

 private:
  void Finish(const Rule& rule, RuleOutcome& outcome);
  const fhir::CategoryState& State(FactCategory c) const { return facts_.state(c); }
  // Is `t` within the last `days` days? R6 (calendar_day_windows): t's UTC day
  // >= now's UTC day - days; otherwise now - t <= days (1.0.0 semantics).
  // Windows are bounded at load (0..36525 days), so the products cannot overflow.
  bool InWindow(EpochSeconds t, double days) const;
  // Has `since` lasted at least `days` days by now?
  bool AtLeastDays(EpochSeconds since, double days) const;
  // Value-set membership is computed once per distinct concept per request,
  // for all sets at once (ValueSetIndex); records that carry the same concept
  // (the same drug ordered many times) share its row.
  using Concepts = std::span<const fhir::CodeableConcept* const>;  // a record's code(s)
  struct Membership {
    bool built = false;
    std::vector<std::size_t> row;       // record -> row of its distinct concept
    std::vector<std::uint8_t> members;  // rows of ValueSetIndex::Members, back to back
    // Per set, its records in ascending order, listed on first use: a
    // predicate visits the records of its set, not every record (issue #18).
    std::vector<std::optional<std::vector<std::size_t>>> in_set;
    std::vector<std::uint8_t> row_in_set;  // RecordsIn's scratch: distinct concept -> in the set
    bool Has(std::size_t record, int set, std::size_t width) const {
      return members[row[record] * width + static_cast<std::size_t>(set)] != 0;
    }
    const std::vector<std::size_t>& RecordsIn(int set, std::size_t width);
  };
  // The loader's index of the rule set, or (for a rule set made otherwise)
  // one built into `own` for this call.
  static const ValueSetIndex& IndexOf(const RuleSet& rule_set, std::optional<ValueSetIndex>& own);
  static std::size_t HashConcepts(const Concepts& concepts);
  static bool SameConcepts(const Concepts& a, const Concepts& b);
  void BuildMembership(const std::vector<Concepts>& concepts, Membership& into) const;
  void BuildMedMembership();
  void BuildCondMembership();
  bool MedInSet(int vs, std::size_t med);
  // The medications / conditions in set `vs`, ascending.
  const std::vector<std::size_t>& MedsIn(int vs);
  const std::vector<std::size_t>& CondsIn(int vs);
  const fhir::LabSelection& LabsOf(int analyte);
  const fhir::LabValue& LatestLab(int analyte);  // LabsOf(analyte).usable must not be empty
  static void AddName(Bound& bound, const std::string& name);
  std::string Describe(const Predicate& p) const;
  Truth Eval(const Predicate& p, std::map<std::string, Bound>* binds,
             std::vector<std::string>* trace, int depth);
  Truth EvalNode(const Predicate& p, std::map<std::string, Bound>* binds,
                 std::vector<std::string>* trace, int depth, Bound& bound,
                 std::vector<std::string>* notes);
  Truth EvalDraftOrder(const Predicate& p, Bound& bound, std::vector<std::string>* notes);
  Truth EvalFact(const Predicate& p, Bound& bound, std::vector<std::string>* notes);
  Truth EvalMedication(const Predicate& p, Bound& bound, std::vector<std::string>* notes);
  // R13: walks back through closed courses of any drug of the value set that
  // ended within the gap before the exposure start. A course without an end
  // cannot chain here (the facts layer chains those through priorPrescription).
  void ExtendExposure(const Predicate& p, fhir::FhirInstant& start,
                      std::vector<std::string>* notes);
  Truth EvalCondition(const Predicate& p, Bound& bound, std::vector<std::string>* notes);
  static void NoteExclusions(const fhir::LabSelection& labs, std::vector<std::string>* notes);
  Truth EvalLab(const Predicate& p, Bound& bound, std::vector<std::string>* notes);
  Truth EvalNoLab(const Predicate& p, std::vector<std::string>* notes);
  Truth EvalPatient(const Predicate& p, std::vector<std::string>* notes);

  std::string hook_;
  const RuleSet& rs_;
  const fhir::PatientFacts& facts_;
  EpochSeconds now_;
  bool explain_;
  std::optional<ValueSetIndex> own_index_;  // declared before index_, which may refer to it
  const ValueSetIndex& index_;
  Membership meds_;
  Membership conds_;
  // Per analyte: the usable results, and the latest one described (the only
  // one a rule compares or shows).
  struct AnalyteLabs {
    fhir::LabSelection selection;
    std::optional<fhir::LabValue> latest;
  };
  std::vector<std::optional<AnalyteLabs>> labs_;
  std::vector<Truth> raw_;
  std::vector<std::optional<std::pair<Truth, Bound>>> leaves_;
  const Rule* current_rule_ = nullptr;
};

}  // namespace cds::rules::internal
