// Route of administration for medication facts (§5.2: route matters for the
// chelation and CKD rules: oral vs IV vs topical).

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/medication_internal.h"

namespace cds::fhir::internal {
namespace {

constexpr std::string_view kSnomed = "http://snomed.info/sct";

struct CodeRoute {
  std::string_view code;
  Route route;
};

constexpr std::array kSnomedRoutes{
    CodeRoute{"26643006", Route::kOral},          CodeRoute{"47625008", Route::kIntravenous},
    CodeRoute{"78421000", Route::kIntramuscular}, CodeRoute{"34206005", Route::kSubcutaneous},
    CodeRoute{"6064005", Route::kTopical},        CodeRoute{"37161004", Route::kRectal},
    CodeRoute{"447694001", Route::kInhalation},
};

// HL7 v3 RouteOfAdministration codes (and the short forms senders use).
constexpr std::array kV3Routes{
    CodeRoute{"PO", Route::kOral},
    CodeRoute{"CHEW", Route::kOral},
    CodeRoute{"IV", Route::kIntravenous},
    CodeRoute{"IVINJ", Route::kIntravenous},
    CodeRoute{"IVINJBOL", Route::kIntravenous},
    CodeRoute{"IVPUSH", Route::kIntravenous},
    CodeRoute{"IVINFUS", Route::kIntravenous},
    CodeRoute{"IM", Route::kIntramuscular},
    CodeRoute{"IMINJ", Route::kIntramuscular},
    CodeRoute{"SC", Route::kSubcutaneous},
    CodeRoute{"SQ", Route::kSubcutaneous},
    CodeRoute{"SUBCUT", Route::kSubcutaneous},
    CodeRoute{"TOP", Route::kTopical},
    CodeRoute{"TOPICAL", Route::kTopical},
    CodeRoute{"RECTAL", Route::kRectal},
    CodeRoute{"PR", Route::kRectal},
    CodeRoute{"RECTINST", Route::kRectal},
    CodeRoute{"SUPP", Route::kRectal},
    CodeRoute{"IPINHL", Route::kInhalation},
    CodeRoute{"ORINHL", Route::kInhalation},
    CodeRoute{"RESPINHL", Route::kInhalation},
};

// Words that name a route outright, in route text or in a drug name.
constexpr std::array kRouteWords{
    CodeRoute{"oral", Route::kOral},
    CodeRoute{"intravenous", Route::kIntravenous},
    CodeRoute{"intramuscular", Route::kIntramuscular},
    CodeRoute{"subcutaneous", Route::kSubcutaneous},
    CodeRoute{"topical", Route::kTopical},
    CodeRoute{"cutaneous", Route::kTopical},
    CodeRoute{"rectal", Route::kRectal},
    CodeRoute{"inhalation", Route::kInhalation},
    CodeRoute{"inhaled", Route::kInhalation},
};

// Abbreviations accepted in route text only (too ambiguous inside drug names).
constexpr std::array kRouteTextAbbreviations{
    CodeRoute{"po", Route::kOral},          CodeRoute{"iv", Route::kIntravenous},
    CodeRoute{"im", Route::kIntramuscular}, CodeRoute{"sc", Route::kSubcutaneous},
    CodeRoute{"sq", Route::kSubcutaneous},  CodeRoute{"pr", Route::kRectal},
};

// Route abbreviations that free-text orders carry in the drug text itself.
constexpr std::array kNameRouteAbbreviations{
    CodeRoute{"iv", Route::kIntravenous},
    CodeRoute{"im", Route::kIntramuscular},
};

// Dose-form words in drug names (RxNorm SCD/SBD style), consulted only when no
// route word is present, so "Oral Gel" stays oral and "Topical Solution" topical.
constexpr std::array kDoseFormWords{
    CodeRoute{"injection", Route::kIntravenous},
    CodeRoute{"injectable", Route::kIntravenous},
    CodeRoute{"infusion", Route::kIntravenous},
    CodeRoute{"enema", Route::kRectal},
    CodeRoute{"suppository", Route::kRectal},
    CodeRoute{"suppositories", Route::kRectal},
    CodeRoute{"cream", Route::kTopical},
    CodeRoute{"ointment", Route::kTopical},
    CodeRoute{"bath", Route::kTopical},
    CodeRoute{"lotion", Route::kTopical},
    CodeRoute{"gel", Route::kTopical},
    CodeRoute{"chewable", Route::kOral},
    CodeRoute{"tablet", Route::kOral},
    CodeRoute{"tablets", Route::kOral},
    CodeRoute{"capsule", Route::kOral},
    CodeRoute{"capsules", Route::kOral},
    CodeRoute{"caplet", Route::kOral},
    CodeRoute{"lozenge", Route::kOral},
    // R9: dose forms that are not systemic intake (eye, ear, irrigation, dialysis).
    CodeRoute{"ophthalmic", Route::kOther},
    CodeRoute{"otic", Route::kOther},
    CodeRoute{"irrigation", Route::kOther},
    CodeRoute{"intraperitoneal", Route::kOther},
    CodeRoute{"soak", Route::kTopical},
    CodeRoute{"syringe", Route::kIntravenous},
};

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

// Lower-case ASCII alphanumeric words ("500 MG/ML Injectable" -> 500, mg, ml, injectable).
std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += Lower(c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

template <std::size_t N>
Route FirstMatch(const std::vector<std::string>& words, const std::array<CodeRoute, N>& table) {
  for (const std::string& w : words) {
    for (const CodeRoute& entry : table) {
      if (w == entry.code) return entry.route;
    }
  }
  return Route::kUnknown;
}

bool HasPhrase(const std::vector<std::string>& words, std::string_view first,
               std::string_view second) {
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == first && words[i + 1] == second) return true;
  }
  return false;
}

Route RouteFromText(std::string_view text) {
  const std::vector<std::string> words = Words(text);
  if (words.empty()) return Route::kUnknown;
  if (HasPhrase(words, "by", "mouth")) return Route::kOral;
  if (HasPhrase(words, "respiratory", "tract")) return Route::kInhalation;
  if (Route r = FirstMatch(words, kRouteWords); r != Route::kUnknown) return r;
  if (Route r = FirstMatch(words, kRouteTextAbbreviations); r != Route::kUnknown) return r;
  return Route::kOther;
}

}  // namespace

Route RouteFromConcept(const CodeableConcept& route) {
  bool coded = false;
  for (const Coding& c : route.codings) {
    if (c.code.empty()) continue;
    coded = true;
    if (c.system == kSnomed) {
      for (const CodeRoute& entry : kSnomedRoutes) {
        if (c.code == entry.code) return entry.route;
      }
    } else {
      // v3 codes arrive under several system URIs (and sometimes none).
      for (const CodeRoute& entry : kV3Routes) {
        if (EqualsIgnoreCase(c.code, entry.code)) return entry.route;
      }
    }
  }
  if (Route r = RouteFromText(route.text); r != Route::kUnknown && r != Route::kOther) return r;
  for (const Coding& c : route.codings) {
    if (Route r = RouteFromText(c.display); r != Route::kUnknown && r != Route::kOther) return r;
  }
  const bool said_something = coded || !route.text.empty() ||
                              std::any_of(route.codings.begin(), route.codings.end(),
                                          [](const Coding& c) { return !c.display.empty(); });
  return said_something ? Route::kOther : Route::kUnknown;
}

Route RouteFromName(std::string_view name) {
  const std::vector<std::string> words = Words(name);
  if (HasPhrase(words, "by", "mouth")) return Route::kOral;
  if (Route r = FirstMatch(words, kRouteWords); r != Route::kUnknown) return r;
  if (Route r = FirstMatch(words, kDoseFormWords); r != Route::kUnknown) return r;
  // R9: free-text orders ("magnesium sulfate 2 g IV") name the route by abbreviation;
  // consulted last, so a dose form in the name wins.
  return FirstMatch(words, kNameRouteAbbreviations);
}

std::string NormalizedName(std::string_view name) {
  std::string out;
  bool pending_space = false;
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += Lower(c);
  }
  return out;
}

}  // namespace cds::fhir::internal
