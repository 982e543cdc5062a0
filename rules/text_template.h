#pragma once

// Card text templates: literal text with ${name.field} placeholders. Parsed at
// load time to check every placeholder and the longest possible summary, and
// again by cards/ to render.
//
// Placeholders:
//   ${param.NAME}                      a ruleset parameter
//   ${B.names}                         matched medication/condition names, or withheld rule titles
//   ${B.start} ${B.days} ${B.years}    medication: earliest start date, exposure in days / years
//   ${B.reported} ${B.value} ${B.unit} ${B.date}   lab: as reported, normalised value, unit, date
//   ${patient.id} ${reason}            only inside suggestion resource templates

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cds::rules {

struct TemplateSegment {
  bool is_placeholder = false;
  std::string text;   // literal text, or the placeholder's first part ("mg", "param")
  std::string field;  // placeholder's second part ("reported"), "" for one-part names
};

// Splits a template. Fails on an unterminated "${", an empty placeholder or
// characters outside [A-Za-z0-9_-] in a name.
Result<std::vector<TemplateSegment>> ParseTemplate(std::string_view text);

// The widest a field can render in a summary (summaries are cut to these
// widths so the < 140 character limit holds for any patient).
std::size_t MaxFieldWidth(std::string_view field);

// Number of Unicode code points in UTF-8 text.
std::size_t CodePointCount(std::string_view utf8);

// The summary limit: CDS Hooks asks for "< 140 characters".
inline constexpr std::size_t kMaxSummaryCodePoints = 139;

}  // namespace cds::rules
