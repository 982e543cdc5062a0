// valuesets.json -> compiled ValueSets: codes, prefixes, text patterns,
// references to other sets (resolved, cycles rejected), unverified codes
// kept for review but left out of matching.

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "rules/loader_json_internal.h"

namespace cds::rules::internal {

namespace {

struct RawValueSet {
  const Value* json = nullptr;
  std::string path;
  ValueSet set;
  std::vector<std::string> include_refs, exclude_refs;
};

class ValueSetCompiler {
 public:
  ValueSetCompiler(const Value& root, Reporter& reporter, std::vector<std::string>& warnings)
      : reporter_(reporter), warnings_(warnings) {
    const Value* sets = Member(root, "valueSets");
    if (sets == nullptr || !sets->IsArray()) {
      reporter_.Fail("valueSets", "expected an array of value sets");
      return;
    }
    for (rapidjson::SizeType i = 0; i < sets->Size(); ++i) {
      std::string path = Index("valueSets", i);
      const Value& vs = (*sets)[i];
      if (!vs.IsObject()) {
        reporter_.Fail(path, "expected an object");
        continue;
      }
      RawValueSet raw;
      raw.json = &vs;
      raw.path = path;
      if (!GetString(vs, "id", path, reporter_, raw.set.id)) continue;
      if (!IsId(raw.set.id))
        reporter_.Fail(Join(path, "id"), "expected letters, digits, '-', '_' or '.'");
      GetString(vs, "title", path, reporter_, raw.set.title);
      GetString(vs, "version", path, reporter_, raw.set.version);
      GetString(vs, "description", path, reporter_, raw.set.description, false);
      if (index_.count(raw.set.id) != 0) {
        reporter_.Fail(Join(path, "id"), "duplicate value set id '" + raw.set.id + "'");
        continue;
      }
      index_[raw.set.id] = raws_.size();
      raws_.push_back(std::move(raw));
    }
    for (std::size_t i = 0; i < raws_.size(); ++i) Compile(i);
    CheckCycles();
  }

  // Compiled sets in file order, and an id -> index map.
  std::vector<ValueSet> Take(std::map<std::string, int>& ids) {
    std::vector<ValueSet> out;
    for (auto& raw : raws_) {
      ids[raw.set.id] = static_cast<int>(out.size());
      out.push_back(std::move(raw.set));
    }
    return out;
  }

 private:
  void ReadComponents(const Value& list, const std::string& path, ValueSet& set,
                      ValueSet::Matcher& matcher, std::vector<std::string>& refs, bool is_include) {
    if (!list.IsArray() || (is_include && list.Empty())) {
      reporter_.Fail(path, is_include ? "expected a non-empty array of include components"
                                      : "expected an array of exclude components");
      return;
    }
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      std::string cpath = Index(path, i);
      const Value& c = list[i];
      if (!c.IsObject()) {
        reporter_.Fail(cpath,
                       "expected an object with system+codes, system+prefixes, text or valueSet");
        continue;
      }
      if (const Value* ref = Member(c, "valueSet")) {
        if (!ref->IsString())
          reporter_.Fail(Join(cpath, "valueSet"), "expected a value set id");
        else
          refs.emplace_back(ref->GetString());
        continue;
      }
      if (const Value* text = Member(c, "text")) {
        if (!text->IsArray() || text->Empty()) {
          reporter_.Fail(Join(cpath, "text"), "expected a non-empty array of text patterns");
          continue;
        }
        for (rapidjson::SizeType k = 0; k < text->Size(); ++k) {
          const Value& p = (*text)[k];
          std::string written = p.IsString() ? p.GetString() : "";
          TextPattern pattern;
          pattern.written = written;
          std::string body = written;
          if (!body.empty() && body.back() == '*') {
            pattern.last_is_prefix = true;
            body.pop_back();
          }
          pattern.tokens = Tokenize(body);
          if (pattern.tokens.empty() ||
              (pattern.last_is_prefix && pattern.tokens.back().size() < 3)) {
            reporter_.Fail(
                Index(Join(cpath, "text"), k),
                "expected a text pattern with at least one word (a prefix needs 3+ letters)");
            continue;
          }
          matcher.text.push_back(std::move(pattern));
        }
        continue;
      }
      std::string system;
      if (!GetString(c, "system", cpath, reporter_, system)) continue;
      const Value* codes = Member(c, "codes");
      const Value* prefixes = Member(c, "prefixes");
      if ((codes == nullptr) == (prefixes == nullptr)) {
        reporter_.Fail(cpath, "expected exactly one of 'codes' or 'prefixes' with 'system'");
        continue;
      }
      bool is_prefix = prefixes != nullptr;
      if (is_prefix && !IsHierarchicalSystem(system)) {
        reporter_.Fail(
            Join(cpath, "prefixes"),
            "prefixes are only allowed for hierarchical systems (ATC, ICD-10-CM), not '" + system +
                "'");
        continue;
      }
      const Value& arr = is_prefix ? *prefixes : *codes;
      std::string apath = Join(cpath, is_prefix ? "prefixes" : "codes");
      if (!arr.IsArray() || arr.Empty()) {
        reporter_.Fail(apath, "expected a non-empty array of {code, display, verification}");
        continue;
      }
      for (rapidjson::SizeType k = 0; k < arr.Size(); ++k) {
        std::string epath = Index(apath, k);
        std::string code, verification;
        if (!arr[k].IsObject()) {
          reporter_.Fail(epath, "expected {code, display, verification}");
          continue;
        }
        if (!GetString(arr[k], "code", epath, reporter_, code)) continue;
        if (!GetString(arr[k], "verification", epath, reporter_, verification)) continue;
        std::string key = CodeKey(system, code);
        set.listed_codes.push_back(key);
        if (verification.rfind("unverified", 0) == 0) {
          set.unverified_codes.push_back(key);
          continue;  // kept for review, never used for matching
        }
        (is_prefix ? matcher.prefixes : matcher.exact).insert(key);
        if (const Value* seventh = Member(arr[k], "seventh"); seventh != nullptr) {
          std::string chars;
          if (!is_prefix || system != kIcd10CmSystem || !seventh->IsArray()) {
            reporter_.Fail(Join(epath, "seventh"),
                           "only for ICD-10-CM prefixes: an array of 7th characters");
            continue;
          }
          for (rapidjson::SizeType q = 0; q < seventh->Size(); ++q) {
            if ((*seventh)[q].IsString() && (*seventh)[q].GetStringLength() == 1) {
              chars += static_cast<char>(
                  std::toupper(static_cast<unsigned char>((*seventh)[q].GetString()[0])));
            } else {
              reporter_.Fail(Index(Join(epath, "seventh"), q), "expected one character");
            }
          }
          matcher.seventh[key] = chars;
        }
      }
    }
  }

  void Compile(std::size_t i) {
    RawValueSet& raw = raws_[i];
    const Value* include = Member(*raw.json, "include");
    if (include == nullptr) {
      reporter_.Fail(Join(raw.path, "include"), "missing; expected a non-empty array");
    } else {
      ReadComponents(*include, Join(raw.path, "include"), raw.set, raw.set.include,
                     raw.include_refs, true);
    }
    if (const Value* exclude = Member(*raw.json, "exclude")) {
      ReadComponents(*exclude, Join(raw.path, "exclude"), raw.set, raw.set.exclude,
                     raw.exclude_refs, false);
    }
    raw.set.include.IndexText();
    raw.set.exclude.IndexText();
    auto resolve = [&](const std::vector<std::string>& refs, std::vector<int>& into,
                       const char* what) {
      for (const std::string& ref : refs) {
        auto it = index_.find(ref);
        if (it == index_.end()) {
          reporter_.Fail(Join(raw.path, what), "unknown value set '" + ref + "'");
        } else {
          into.push_back(static_cast<int>(it->second));
        }
      }
    };
    resolve(raw.include_refs, raw.set.include_sets, "include");
    resolve(raw.exclude_refs, raw.set.exclude_sets, "exclude");
    if (!raw.set.unverified_codes.empty()) {
      warnings_.push_back("value set '" + raw.set.id +
                          "': " + std::to_string(raw.set.unverified_codes.size()) +
                          " unverified code(s) left out of matching");
    }
  }

  // A set may not contain itself through include/exclude references.
  void CheckCycles() {
    std::vector<int> state(raws_.size(), 0);  // 0 new, 1 on stack, 2 done
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
      state[i] = 1;
      for (const auto* refs : {&raws_[i].set.include_sets, &raws_[i].set.exclude_sets}) {
        for (int j : *refs) {
          auto k = static_cast<std::size_t>(j);
          if (state[k] == 1) {
            reporter_.Fail(raws_[i].path, "value set '" + raws_[i].set.id + "' refers to '" +
                                              raws_[k].set.id +
                                              "', which refers back to it (cycle)");
            for (auto* list : {&raws_[i].set.include_sets, &raws_[i].set.exclude_sets}) {
              list->erase(std::remove(list->begin(), list->end(), j), list->end());
            }
            return;
          }
          if (state[k] == 0) visit(k);
        }
      }
      state[i] = 2;
    };
    for (std::size_t i = 0; i < raws_.size(); ++i) {
      if (state[i] == 0) visit(i);
    }
  }

  Reporter& reporter_;
  std::vector<std::string>& warnings_;
  std::vector<RawValueSet> raws_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace

std::vector<ValueSet> ReadValueSets(const Value& root, Reporter& reporter,
                                    std::vector<std::string>& warnings,
                                    std::map<std::string, int>& ids) {
  ValueSetCompiler compiler(root, reporter, warnings);
  return compiler.Take(ids);
}

}  // namespace cds::rules::internal
