#include "rules/ruleset_diff.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace cds::rules {
namespace {

std::string Num(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

template <class Map, class OnChange>
void DiffMaps(const Map& a, const Map& b, const std::string& what, OnChange on_change,
              RuleSetDiff& out) {
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    if (it == b.end())
      out.lines.push_back("- " + (what.empty() ? "" : what + " ") + key);
    else if (!(it->second == value))
      on_change(key, value, it->second);
  }
  for (const auto& [key, value] : b) {
    if (a.find(key) == a.end()) out.lines.push_back("+ " + (what.empty() ? "" : what + " ") + key);
  }
}

std::set<std::string> Patterns(const ValueSet::Matcher& m) {
  std::set<std::string> out;
  for (const TextPattern& p : m.text) out.insert(p.written);
  return out;
}

std::string Added(const std::set<std::string>& a, const std::set<std::string>& b,
                  const char* sign) {
  std::string out;
  for (const auto& x : b) {
    if (a.count(x) == 0) out += std::string(out.empty() ? "" : ", ") + sign + x;
  }
  return out;
}

void DiffValueSets(const RuleSet& a, const RuleSet& b, RuleSetDiff& out) {
  std::map<std::string, const ValueSet*> old_sets, new_sets;
  for (const auto& vs : a.value_sets) old_sets[vs.id] = &vs;
  for (const auto& vs : b.value_sets) new_sets[vs.id] = &vs;
  auto ids_of = [](const RuleSet& rs, const std::vector<int>& idx) {
    std::set<std::string> ids;
    for (int i : idx) ids.insert("valueSet " + rs.value_sets[static_cast<std::size_t>(i)].id);
    return ids;
  };
  for (const auto& [id, vs] : old_sets) {
    auto it = new_sets.find(id);
    if (it == new_sets.end()) {
      out.lines.push_back("- value set " + id);
      continue;
    }
    const ValueSet& n = *it->second;
    std::vector<std::string> parts;
    std::set<std::string> old_codes(vs->listed_codes.begin(), vs->listed_codes.end());
    std::set<std::string> new_codes(n.listed_codes.begin(), n.listed_codes.end());
    for (const auto& [label, x, y] :
         {std::tuple{"codes", old_codes, new_codes},
          std::tuple{"include text", Patterns(vs->include), Patterns(n.include)},
          std::tuple{"exclude text", Patterns(vs->exclude), Patterns(n.exclude)},
          std::tuple{"included sets", ids_of(a, vs->include_sets), ids_of(b, n.include_sets)},
          std::tuple{"excluded sets", ids_of(a, vs->exclude_sets), ids_of(b, n.exclude_sets)}}) {
      std::string change = Added(x, y, "+");
      std::string removed = Added(y, x, "-");
      if (!removed.empty()) change += (change.empty() ? "" : ", ") + removed;
      if (!change.empty()) parts.push_back(std::string(label) + ": " + change);
    }
    std::set<std::string> old_unverified(vs->unverified_codes.begin(), vs->unverified_codes.end());
    std::set<std::string> new_unverified(n.unverified_codes.begin(), n.unverified_codes.end());
    std::string newly_verified;
    for (const auto& c : old_unverified) {
      if (new_unverified.count(c) == 0 && new_codes.count(c) != 0)
        newly_verified += (newly_verified.empty() ? "" : ", ") + c;
    }
    if (!newly_verified.empty()) parts.push_back("now verified: " + newly_verified);
    if (vs->title != n.title) parts.push_back("title changed");
    if (parts.empty() && vs->version == n.version) continue;
    std::string line = "~ value set " + id + " " + vs->version + " -> " + n.version;
    for (const auto& p : parts) line += "; " + p;
    out.lines.push_back(line);
    if (!parts.empty() && vs->version == n.version) {
      out.warnings.push_back("value set " + id + " changed but its version is still " + n.version);
    }
  }
  for (const auto& [id, vs] : new_sets) {
    if (old_sets.find(id) == old_sets.end())
      out.lines.push_back("+ value set " + id + " " + vs->version);
  }
}

void DiffRules(const RuleSet& a, const RuleSet& b, RuleSetDiff& out) {
  std::map<std::string, const Rule*> old_rules, new_rules;
  for (const auto& r : a.rules) old_rules[r.id] = &r;
  for (const auto& r : b.rules) new_rules[r.id] = &r;
  for (const auto& [id, rule] : old_rules) {
    auto it = new_rules.find(id);
    if (it == new_rules.end()) {
      out.lines.push_back("- rule " + id + " " + rule->version);
      continue;
    }
    const Rule& n = *it->second;
    std::set<std::string> fields;
    for (const auto& [field, digest] : rule->source_fields) {
      if (field == "version") continue;
      auto f = n.source_fields.find(field);
      if (f == n.source_fields.end() || f->second != digest) fields.insert(field);
    }
    for (const auto& [field, digest] : n.source_fields) {
      if (field != "version" && rule->source_fields.count(field) == 0) fields.insert(field);
    }
    if (fields.empty() && rule->version == n.version) continue;
    std::string line = "~ rule " + id + " " + rule->version + " -> " + n.version;
    if (!fields.empty()) {
      line += ": changed";
      for (const auto& f : fields) line += " " + f;
    }
    out.lines.push_back(line);
    if (!fields.empty() && rule->version == n.version) {
      out.warnings.push_back("rule " + id + " changed but its version is still " + n.version);
    }
  }
  for (const auto& [id, rule] : new_rules) {
    if (old_rules.find(id) == old_rules.end())
      out.lines.push_back("+ rule " + id + " " + rule->version);
  }
}

}  // namespace

RuleSetDiff DiffRuleSets(const RuleSet& a, const RuleSet& b) {
  RuleSetDiff out;
  if (a.id != b.id) out.lines.push_back("~ ruleset id " + a.id + " -> " + b.id);
  if (a.version != b.version)
    out.lines.push_back("~ ruleset version " + a.version + " -> " + b.version);
  if (a.release_date != b.release_date)
    out.lines.push_back("~ releaseDate " + a.release_date + " -> " + b.release_date);
  if (a.title != b.title) out.lines.push_back("~ title changed");
  if (a.calendar_day_windows != b.calendar_day_windows) {
    auto name = [](bool calendar) { return calendar ? "calendarDays" : "elapsed"; };
    out.lines.push_back(std::string("~ windows ") + name(a.calendar_day_windows) + " -> " +
                        name(b.calendar_day_windows));
  }
  if (a.disclaimer != b.disclaimer) out.lines.push_back("~ disclaimer changed");
  DiffMaps(
      a.parameters, b.parameters, "parameter",
      [&](const std::string& k, double x, double y) {
        out.lines.push_back("~ parameter " + k + ": " + Num(x) + " -> " + Num(y));
      },
      out);
  DiffMaps(
      a.analyte_source, b.analyte_source, "analyte",
      [&](const std::string& k, const std::string&, const std::string&) {
        out.lines.push_back("~ analyte " + k + " changed");
      },
      out);
  DiffMaps(
      a.prefetch_source, b.prefetch_source, "prefetch",
      [&](const std::string& k, const std::string&, const std::string&) {
        out.lines.push_back("~ prefetch " + k + " changed");
      },
      out);
  DiffMaps(
      a.other_source, b.other_source, "",
      [&](const std::string& k, const std::string&, const std::string&) {
        out.lines.push_back("~ " + k + " changed");
      },
      out);
  DiffValueSets(a, b, out);
  DiffRules(a, b, out);
  auto prec = [](const RuleSet& rs) {
    std::set<std::string> s;
    for (const auto& p : rs.precedence) {
      for (const auto& r : p.replaces)
        s.insert(p.rule + " replaces " + r + (p.when_unknown ? " (also when unknown)" : ""));
    }
    return s;
  };
  std::set<std::string> pa = prec(a), pb = prec(b);
  for (const auto& x : pa) {
    if (pb.count(x) == 0) out.lines.push_back("- precedence " + x);
  }
  for (const auto& x : pb) {
    if (pa.count(x) == 0) out.lines.push_back("+ precedence " + x);
  }
  if (out.lines.empty() && a.version != b.version) out.lines.push_back("~ version only");
  return out;
}

}  // namespace cds::rules
