// Population reading for the backtest (service/backtest/population.h): NDJSON indexed
// in 1 MiB reads with lines across read boundaries, CRLF and blank lines,
// grouping by reference, bad lines with file:line, Bundle folders.
#include "service/backtest/population.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <boost/test/unit_test.hpp>

#include "common/json_document.h"
#include "common/json_internal.h"

namespace cds::service {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("magcds-population-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
    return (path / name).string();
  }
  static inline int counter = 0;
};

std::string Observation(int patient, int n, std::size_t padding) {
  return R"({"resourceType":"Observation","id":"o)" + std::to_string(n) +
         R"(","status":"final","subject":{"reference":"Patient/p)" + std::to_string(patient) +
         R"("},"note":[{"text":")" + std::string(padding, 'x') + R"("}]})";
}

// Every patient handed out: id of the Bundle's Patient (or the key) -> entries.
std::map<std::string, std::vector<std::string>> Drain(Population& population) {
  std::map<std::string, std::vector<std::string>> out;
  PatientSlice slice;
  for (;;) {
    Result<bool> next = population.Next(slice);
    BOOST_REQUIRE(next);
    if (!*next) break;
    auto document = JsonDocument::Parse(slice.bundle_json);
    BOOST_REQUIRE_MESSAGE(document, "assembled Bundle does not parse");
    const auto& bundle = json_internal::AsValue((*document)->root());
    std::vector<std::string> types;
    for (const auto& entry : bundle["entry"].GetArray()) {
      types.push_back(std::string(entry["resource"]["resourceType"].GetString()));
    }
    out[slice.patient_key.empty() ? slice.origin : slice.patient_key] = types;
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(PopulationReading)

BOOST_AUTO_TEST_CASE(ndjson_lines_across_read_boundaries_group_by_patient) {
  TempDir dir;
  dir.Write(
      "Patient.ndjson",
      "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\r\n\n{\"resourceType\":\"Patient\",\"id\":"
      "\"p2\"}\n");
  // About 3.5 MiB: several 1 MiB reads, lines cut by every boundary.
  std::string observations;
  int count[3] = {};
  for (int i = 0; i < 3000; ++i) {
    const int patient = 1 + i % 2;
    ++count[patient];
    observations += Observation(patient, i, 1000 + static_cast<std::size_t>(i % 97)) + "\n";
  }
  observations += Observation(2, 99999, 10);  // last line without a newline
  ++count[2];
  dir.Write("Observation.000.ndjson", observations);
  dir.Write("Organization.ndjson", R"({"resourceType":"Organization","id":"org"})"
                                   "\n");

  std::vector<InputProblem> problems;
  auto population = Population::Open({dir.path.string()}, 2, problems);
  BOOST_REQUIRE(population);
  BOOST_TEST(problems.empty());
  BOOST_TEST((*population)->patient_count() == 2u);
  BOOST_TEST((*population)->unjoined().size() == 1u);
  const auto patients = Drain(**population);
  BOOST_REQUIRE(patients.count("p1") == 1 && patients.count("p2") == 1);
  for (const auto& [id, types] : patients) {
    BOOST_TEST(types.front() == "Patient");  // the Patient resource comes first
    const int n = id == "p1" ? count[1] : count[2];
    BOOST_TEST(types.size() == static_cast<std::size_t>(n + 1));
  }
}

BOOST_AUTO_TEST_CASE(bad_lines_are_reported_with_file_and_line) {
  TempDir dir;
  dir.Write("Patient.ndjson",
            "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n{\"resourceType\":\"Patient\",\"id\":"
            "\"p2\"}\n{\"resourceType\":\"Patient\",\"id\":\"p3\"}\n");
  dir.Write("Condition.ndjson",
            Observation(1, 1, 5) + "\n" +
                R"({"resourceType":"Condition","id":"c1","code":{"text":"x"}})"
                "\n" +
                R"({"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p2"},"cod)"
                "\n" +
                "[1,2]\n");
  std::vector<InputProblem> problems;
  auto population = Population::Open({dir.path.string()}, 1, problems);
  BOOST_REQUIRE(population);
  BOOST_TEST(problems.size() == 3u);
  const std::string file = (dir.path / "Condition.ndjson").string();
  bool line2 = false, line3 = false, line4 = false;
  for (const InputProblem& problem : problems) {
    BOOST_TEST(problem.file == file);
    line2 = line2 ||
            (problem.line == 2 &&
             problem.message.find("Condition without a patient reference") != std::string::npos);
    line3 = line3 ||
            (problem.line == 3 && problem.message.find("not valid JSON") != std::string::npos &&
             problem.message.find("left out") != std::string::npos);
    line4 = line4 ||
            (problem.line == 4 && problem.message.find("no resourceType") != std::string::npos);
  }
  BOOST_TEST(line2);
  BOOST_TEST(line3);
  BOOST_TEST(line4);
  // p2's data is incomplete (its broken line named it): p2 is left out.
  BOOST_TEST((*population)->skipped_while_indexing() == 1u);
  const auto patients = Drain(**population);
  BOOST_TEST(patients.count("p1") == 1u);
  BOOST_TEST(patients.count("p2") == 0u);
  BOOST_TEST(patients.count("p3") == 1u);
  for (const auto& [id, _] : patients) BOOST_TEST(id.find("p2") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(resources_of_a_patient_without_patient_resource_are_left_out) {
  TempDir dir;
  dir.Write("Patient.ndjson", "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n");
  dir.Write("Observation.ndjson", Observation(1, 1, 5) + "\n" + Observation(9, 2, 5) + "\n" +
                                      Observation(9, 3, 5) + "\n");
  std::vector<InputProblem> problems;
  auto population = Population::Open({dir.path.string()}, 1, problems);
  BOOST_REQUIRE(population);
  BOOST_REQUIRE(problems.size() == 1u);
  BOOST_TEST(problems[0].file == (dir.path / "Observation.ndjson").string());
  BOOST_TEST(problems[0].line == 2u);
  BOOST_TEST(problems[0].message.find("2 resource(s) refer to a patient that has no Patient") !=
             std::string::npos);
  BOOST_TEST(problems[0].message.find("p9") == std::string::npos);  // no patient id in messages
  BOOST_TEST((*population)->skipped_while_indexing() == 1u);
  const auto patients = Drain(**population);
  BOOST_TEST(patients.size() == 1u);
  BOOST_TEST(patients.count("p1") == 1u);
}

BOOST_AUTO_TEST_CASE(bundle_files_and_paths) {
  TempDir dir;
  dir.Write("a.json", R"({"resourceType":"Bundle","type":"collection","entry":[]})");
  dir.Write("notes.txt", "ignored");
  std::vector<InputProblem> problems;
  auto population = Population::Open({dir.path.string()}, 1, problems);
  BOOST_REQUIRE(population);
  BOOST_TEST((*population)->patient_count() == 1u);

  TempDir empty;
  problems.clear();
  auto none = Population::Open({empty.path.string()}, 1, problems);
  BOOST_REQUIRE(!none);
  BOOST_TEST(none.error().message.find("empty folder") != std::string::npos);

  problems.clear();
  auto missing = Population::Open({(dir.path / "nope").string()}, 1, problems);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().message.find("no such file or folder") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(line_of_offset_counts_newlines) {
  BOOST_TEST(LineOfOffset("ab\ncd\nef", 0) == 1u);
  BOOST_TEST(LineOfOffset("ab\ncd\nef", 3) == 2u);
  BOOST_TEST(LineOfOffset("ab\ncd\nef", 7) == 3u);
  BOOST_TEST(LineOfOffset("ab", 99) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cds::service
