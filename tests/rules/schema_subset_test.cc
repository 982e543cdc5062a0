// Issue #18: the loader validates rule files with its own validator for the
// schema keywords the shipped schemas use (rules/schema_subset_json.cc) and
// calls RapidJSON's only for a file that fails. The oracle is RapidJSON's
// validator on the unmodified schema, which decided alone before.

#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "rules/schema_internal.h"

namespace cds {
namespace {

using rules::internal::SchemaSubset;

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  BOOST_TEST_REQUIRE(!d.HasParseError(), text.substr(0, 80));
  return d;
}

bool RapidJsonValid(const rapidjson::SchemaDocument& schema, const rapidjson::Value& instance) {
  rapidjson::SchemaValidator validator(schema);
  return instance.Accept(validator);
}

BOOST_AUTO_TEST_SUITE(SchemaSubsets)

// Each case with the verdict draft-04 gives, which RapidJSON must agree with
// too (so the expectation is not just our reading).
BOOST_AUTO_TEST_CASE(each_keyword_means_what_rapidjson_says) {
  struct Case {
    const char* schema;
    const char* instance;
    bool valid;
  };
  const Case cases[] = {
      {R"({"type": "integer"})", "3", true},
      {R"({"type": "integer"})", "3.0", false},  // a fraction in the text: a double
      {R"({"type": "integer"})", "-9223372036854775808", true},
      {R"({"type": "integer"})", "18446744073709551615", true},
      {R"({"type": "number"})", "3", true},
      {R"({"type": "number"})", "\"3\"", false},
      {R"({"type": ["string", "null"]})", "null", true},
      {R"({"type": ["string", "null"]})", "false", false},
      {R"({"type": "boolean"})", "true", true},
      {R"({"minimum": 0, "exclusiveMinimum": true})", "0", false},
      {R"({"minimum": 0, "exclusiveMinimum": true})", "0.0001", true},
      {R"({"minimum": 0, "exclusiveMinimum": true})", "-0.0", false},
      {R"({"minimum": 0})", "0", true},
      {R"({"minimum": 0})", "-1", false},
      {R"({"minimum": 0})", "18446744073709551615", true},
      {R"({"minimum": 0.5})", "1", true},
      {R"({"minimum": 0.5})", "0", false},
      {R"({"minimum": 0})", "\"-1\"", true},  // applies to numbers only
      {R"({"enum": ["a", "b"]})", "\"b\"", true},
      {R"({"enum": ["a", "b"]})", "\"c\"", false},
      {R"({"enum": ["a", "b"]})", "1", false},
      {R"({"enum": [true]})", "true", true},
      {R"({"enum": [true]})", "false", false},
      {R"({"enum": [null, "x"]})", "null", true},
      {R"({"required": ["a", "b"]})", R"({"a": 1, "b": 2})", true},
      {R"({"required": ["a", "b"]})", R"({"a": 1})", false},
      {R"({"required": ["a"]})", "[1]", true},  // applies to objects only
      {R"({"properties": {"a": {"type": "string"}}, "additionalProperties": false})",
       R"({"a": "x"})", true},
      {R"({"properties": {"a": {"type": "string"}}, "additionalProperties": false})",
       R"({"a": "x", "b": 1})", false},
      {R"({"properties": {"a": {"type": "string"}}})", R"({"a": 1})", false},
      {R"({"properties": {"a": {"type": "string"}}})", R"({"a": "x", "a": 1})", false},
      {R"({"additionalProperties": {"type": "number"}})", R"({"a": 1, "b": 2.5})", true},
      // RapidJSON counts a required name as a property.
      {R"({"required": ["a"], "additionalProperties": false})", R"({"a": "x"})", true},
      {R"({"required": ["a"], "additionalProperties": false})", R"({"a": 1, "b": 1})", false},
      {R"({"required": ["a"], "additionalProperties": {"type": "string"}})", R"({"a": 1})", true},
      {R"({"additionalProperties": {"type": "number"}})", R"({"a": 1, "b": "2"})", false},
      {R"({"minProperties": 1})", "{}", false},
      {R"({"minProperties": 1})", R"({"a": null})", true},
      {R"({"items": {"type": "string"}, "minItems": 1, "maxItems": 2})", R"(["a"])", true},
      {R"({"items": {"type": "string"}, "minItems": 1, "maxItems": 2})", "[]", false},
      {R"({"items": {"type": "string"}, "minItems": 1, "maxItems": 2})", R"(["a","b","c"])", false},
      {R"({"items": {"type": "string"}})", R"(["a", 1])", false},
      {R"({"minLength": 2, "maxLength": 3})", "\"\xC3\xA9\xC3\xA9\"", true},  // characters
      {R"({"minLength": 2, "maxLength": 3})", "\"e\"", false},
      {R"({"pattern": "^[a-z]+$"})", "\"abc\"", true},
      {R"({"pattern": "^[a-z]+$"})", "\"ab1\"", false},
      {R"({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]})", R"({"a": 1})", true},
      {R"({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]})", R"({"a": 1, "b": 1})", false},
      {R"({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]})", R"({})", false},
      {R"({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]})", R"({"a": 1, "b": 1})", true},
      {R"({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]})", R"({"c": 1})", false},
      {R"({"anyOf": [{"pattern": "^a"}, {"minLength": 3}]})", "\"bc\"", false},
      {R"({"anyOf": [{"pattern": "^a"}, {"minLength": 3}]})", "\"bcd\"", true},
      {R"({"not": {"anyOf": [{"required": ["a"]}, {"type": "string"}]}})", R"({"b": 1})", true},
      {R"({"not": {"anyOf": [{"required": ["a"]}, {"type": "string"}]}})", "\"s\"", false},
      {R"({"definitions": {"p": {"properties": {"n": {"$ref": "#/definitions/p"}},
                                 "additionalProperties": false}},
           "$ref": "#/definitions/p"})",
       R"({"n": {"n": {"n": {}}}})", true},
      {R"({"definitions": {"p": {"properties": {"n": {"$ref": "#/definitions/p"}},
                                 "additionalProperties": false}},
           "$ref": "#/definitions/p"})",
       R"({"n": {"n": {"x": {}}}})", false},
  };
  for (const Case& c : cases) {
    const std::string label = std::string(c.schema) + " / " + c.instance;
    const rapidjson::Document schema_json = ParseJson(c.schema);
    const rapidjson::Document instance = ParseJson(c.instance);
    const rapidjson::SchemaDocument oracle(schema_json);
    BOOST_TEST_REQUIRE(RapidJsonValid(oracle, instance) == c.valid, label);
    const std::optional<SchemaSubset> subset = SchemaSubset::Compile(schema_json);
    BOOST_TEST_REQUIRE(subset.has_value(), label);
    BOOST_TEST(subset->Valid(instance) == c.valid, label);
  }
}

BOOST_AUTO_TEST_CASE(anything_outside_the_subset_does_not_compile) {
  const char* const schemas[] = {
      R"({"allOf": [{"type": "string"}]})",
      R"({"format": "date"})",
      R"({"maximum": 3})",
      R"({"uniqueItems": true})",
      R"({"patternProperties": {"^a": {}}})",
      R"({"dependencies": {"a": ["b"]}})",
      R"({"items": [{"type": "string"}]})",        // a tuple
      R"({"minimum": 0, "exclusiveMinimum": 0})",  // draft-06's number
      R"({"exclusiveMinimum": true})",             // without minimum
      R"({"enum": [1, 2]})",                       // numbers
      R"({"type": "text"})",                       // no such type
      R"j({"pattern": "(a|b)"})j",                 // beyond SchemaPattern
      R"({"$ref": "other.json#/x"})",              // not local
      R"({"$ref": "#/definitions/missing"})",      //
      R"({"definitions": {"a": {}}, "$ref": "#/definitions/a", "type": "string"})",  // beside $ref
      R"({"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/c",
          "type": "string"}, "c": {}}, "$ref": "#/definitions/a"})",    // beside a later $ref
      R"({"definitions": {"a/b": {}}, "$ref": "#/definitions/a~1b"})",  // an escaped name
      R"({"definitions": {"a": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"})",
      R"({"properties": {"a": {"properties": {"b": {"if": {}}}}}})",  // deep inside
      R"({"oneOf": []})",
  };
  for (const char* text : schemas) {
    const rapidjson::Document schema = ParseJson(text);
    BOOST_TEST(!SchemaSubset::Compile(schema).has_value(), text);
  }
  BOOST_TEST(SchemaSubset::Compile(ParseJson(R"({"title": "t", "description": "d"})")).has_value());
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  BOOST_TEST_REQUIRE(!out.str().empty(), path);
  return out.str();
}

// A location in a document: member names and array indices from the root.
using Path = std::vector<std::pair<bool, std::string>>;  // {is_index, name or index}

rapidjson::Value* At(rapidjson::Value& root, const Path& path) {
  rapidjson::Value* v = &root;
  for (const auto& [is_index, token] : path) {
    if (is_index) {
      v = &(*v)[static_cast<rapidjson::SizeType>(std::stoul(token))];
    } else {
      v = &(*v)[token.c_str()];
    }
  }
  return v;
}

void CollectPaths(const rapidjson::Value& v, Path& path, std::vector<Path>& out) {
  out.push_back(path);
  if (v.IsObject()) {
    for (const auto& member : v.GetObject()) {
      path.emplace_back(false, member.name.GetString());
      CollectPaths(member.value, path, out);
      path.pop_back();
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      path.emplace_back(true, std::to_string(i));
      CollectPaths(v[i], path, out);
      path.pop_back();
    }
  }
}

// Every shipped rule file, cut to a few rules and value sets so that each
// validation is cheap, then changed one place at a time in every way a rule
// author could get wrong (another type, an empty or unknown value, a member
// dropped or added, an array emptied or grown): our verdict must be
// RapidJSON's on the whole schema, for the valid and the invalid alike.
BOOST_AUTO_TEST_CASE(shipped_rule_files_changed_anywhere_get_rapidjsons_verdict) {
  struct File {
    std::string path;
    const char* schema_text;
    const char* list;  // the long array cut to its first entries
  };
  std::vector<File> files;
  for (const char* version : {"1.0.0", "1.1.0"}) {
    const std::string dir = std::string(CDS_RULES_DIR) + "/magnesium/" + version;
    files.push_back({dir + "/ruleset.json", rules::internal::kRuleSetSchemaText, "rules"});
    files.push_back({dir + "/valuesets.json", rules::internal::kValueSetsSchemaText, "valueSets"});
  }
  const char* const replacements[] = {"null",     "true",        "0",         "-1",
                                      "2",        "1.5",         "\"\"",      "\"x\"",
                                      "\"oral\"", "\"warning\"", "\"1.0.0\"", "\"https://a.b\"",
                                      "[]",       "[\"x\"]",     "{}",        R"({"text": "x"})"};
  std::mt19937 random(1800);
  int valid = 0;
  int invalid = 0;
  for (const File& file : files) {
    const rapidjson::Document schema_json = ParseJson(file.schema_text);
    const rapidjson::SchemaDocument oracle(schema_json);
    const std::optional<SchemaSubset> subset = SchemaSubset::Compile(schema_json);
    BOOST_TEST_REQUIRE(subset.has_value(), file.path);

    rapidjson::Document base = ParseJson(ReadText(file.path));
    BOOST_TEST_REQUIRE(base.HasMember(file.list), file.path);
    rapidjson::Value& list = base[file.list];
    while (list.Size() > 2) list.PopBack();
    BOOST_TEST_REQUIRE(RapidJsonValid(oracle, base), file.path);
    BOOST_TEST_REQUIRE(subset->Valid(base), file.path);

    std::vector<Path> paths;
    Path scratch;
    CollectPaths(base, scratch, paths);
    std::shuffle(paths.begin(), paths.end(), random);
    if (paths.size() > 60) paths.resize(60);
    for (const Path& path : paths) {
      std::vector<std::function<void(rapidjson::Value&, rapidjson::Document::AllocatorType&)>>
          edits;
      for (const char* text : replacements) {
        edits.emplace_back([text](rapidjson::Value& v, auto& a) {
          rapidjson::Document replacement;
          replacement.Parse(text);
          v.CopyFrom(replacement, a);
        });
      }
      const rapidjson::Value& original = *At(base, path);
      if (original.IsObject()) {
        for (const auto& member : original.GetObject()) {
          const std::string name = member.name.GetString();
          edits.emplace_back([name](rapidjson::Value& v, auto&) { v.RemoveMember(name.c_str()); });
        }
        for (const char* name : {"zz", "text", "all", "ref", "system"}) {
          edits.emplace_back([name](rapidjson::Value& v, auto& a) {
            if (!v.HasMember(name)) v.AddMember(rapidjson::StringRef(name), 1, a);
          });
        }
      } else if (original.IsArray() && !original.Empty()) {
        edits.emplace_back([](rapidjson::Value& v, auto&) { v.Clear(); });
        edits.emplace_back([](rapidjson::Value& v, auto& a) {
          rapidjson::Value copy(v[0], a);
          v.PushBack(copy, a);
          rapidjson::Value again(v[0], a);
          v.PushBack(again, a);
        });
      }
      // A few of them at each place, so the test stays quick (RapidJSON
      // validates a predicate tree once per oneOf alternative).
      std::shuffle(edits.begin(), edits.end(), random);
      if (edits.size() > 8) edits.resize(8);
      for (const auto& edit : edits) {
        rapidjson::Document changed;
        changed.CopyFrom(base, changed.GetAllocator());
        edit(*At(changed, path), changed.GetAllocator());
        const bool expected = RapidJsonValid(oracle, changed);
        BOOST_TEST(subset->Valid(changed) == expected, file.path);
        (expected ? valid : invalid) += 1;
      }
    }
  }
  // Both verdicts are common, so agreement is not agreement on one answer.
  BOOST_TEST_MESSAGE("verdicts compared: " << valid << " valid, " << invalid << " invalid");
  BOOST_TEST(valid > 300);
  BOOST_TEST(invalid > 1000);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds
