// Issue #12 as units: duplicate JSON members, b64token, values made safe for
// logs and audit, the audit trail's whole-record writes and file permission
// checks, and another patient's resources dropped by Normalize.

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "common/json_document.h"
#include "fhir/normalize.h"
#include "service/hooks/hook_request.h"
#include "service/log/log_text.h"
#include "service/ops/audit_log.h"

namespace cds::service {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("magcds-hostile-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

std::string Request(const std::string& context, const std::string& extra = "") {
  return R"({"hook":"patient-view","hookInstance":"i-1","context":)" + context + extra + "}";
}

BOOST_AUTO_TEST_SUITE(HostileUnits)

BOOST_AUTO_TEST_CASE(duplicate_members_are_refused_and_named) {
  const std::string ctx = R"({"patientId":"p1","userId":"Practitioner/a"})";
  BOOST_TEST(ParseHookRequest(Request(ctx)).has_value());
  struct Case {
    std::string body;
    std::string member;
  };
  const std::vector<Case> cases = {
      {R"({"hook":"patient-view","hook":"x","hookInstance":"i","context":)" + ctx + "}", "hook"},
      {Request(R"({"patientId":"p1","patientId":"p2","userId":"Practitioner/a"})"),
       "context.patientId"},
      {Request(ctx, R"(,"prefetch":{"observations":{"resourceType":"Bundle","entry":[{"resource":)"
                    R"({"resourceType":"Observation","subject":{"reference":"Patient/p1"},)"
                    R"("subject":{"reference":"Patient/p2"}}}]}})"),
       "prefetch.observations.entry[0].resource.subject"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseHookRequest(c.body);
    BOOST_TEST_REQUIRE(!parsed.has_value(), c.body);
    BOOST_TEST((parsed.error().code == ErrorCode::kInvalidRequest));
    BOOST_TEST(parsed.error().message.find("'" + c.member + "'") != std::string::npos,
               parsed.error().message);
  }
  // Many members (the sorted path), one duplicate at the end.
  std::string many = R"({"resourceType":"Patient")";
  for (int i = 0; i < 40; ++i) many += ",\"m" + std::to_string(i) + "\":1";
  many += R"(,"m7":2})";
  auto parsed = ParseHookRequest(Request(ctx, R"(,"prefetch":{"patient":)" + many + "}"));
  BOOST_TEST_REQUIRE(!parsed.has_value());
  BOOST_TEST(parsed.error().message.find("'prefetch.patient.m7'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(b64token_follows_rfc_6750) {
  for (const char* ok : {"a", "abc.DEF-_~+/9", "abc==", "eyJhbGciOi.eyJzdWIi.c2ln"}) {
    BOOST_TEST(IsB64Token(ok), ok);
  }
  for (const char* bad : {"", "=", "a=b", "a b", "a\r\nb", "a,b", "a\"b", "a;b", "\xc3\xa9"}) {
    BOOST_TEST(!IsB64Token(bad), bad);
  }
}

BOOST_AUTO_TEST_CASE(log_text_is_valid_utf8_and_capped) {
  BOOST_TEST(LogText("plain") == "plain");
  BOOST_TEST(LogText("caf\xc3\xa9") == "caf\xc3\xa9");
  // Invalid: a lone continuation byte, an overlong '/', a surrogate, a cut sequence.
  BOOST_TEST(LogText("a\x80z") == "a\xef\xbf\xbdz");
  BOOST_TEST(LogText("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");
  BOOST_TEST(LogText("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  BOOST_TEST(LogText("x\xe2\x82") == "x\xef\xbf\xbd\xef\xbf\xbd");
  const std::string huge(900 * 1024, 'a');
  const std::string capped = LogText(huge);
  BOOST_TEST(capped.size() < 300u);
  BOOST_TEST(capped.find("(921600 bytes)") != std::string::npos);
  // The cut never splits a character.
  std::string euros;
  for (int i = 0; i < 200; ++i) euros += "\xe2\x82\xac";
  const std::string cut = LogText(euros, 10);
  BOOST_TEST(cut.rfind("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac...(600 bytes)", 0) == 0, cut);
}

BOOST_AUTO_TEST_CASE(audit_and_key_files_open_to_others_are_refused) {
  const std::string key = TempPath("key");
  std::ofstream(key) << "0123456789abcdef0123456789abcdef\n";
  ::chmod(key.c_str(), 0644);
  auto refused = LoadPatientHasher(key);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message.find("accessible by others") != std::string::npos);
  ::chmod(key.c_str(), 0640);  // group-readable is fine (a Kubernetes secret with fsGroup)
  auto hasher = LoadPatientHasher(key);
  BOOST_TEST_REQUIRE(hasher.has_value());

  const std::string audit = TempPath("audit.jsonl");
  std::ofstream(audit) << "";
  ::chmod(audit.c_str(), 0604);
  auto open = AuditLog::Open(audit, *hasher);
  BOOST_TEST_REQUIRE(!open.has_value());
  BOOST_TEST(open.error().message.find(audit) != std::string::npos);
  ::chmod(audit.c_str(), 0640);
  BOOST_TEST(AuditLog::Open(audit, *hasher).has_value());
  std::filesystem::remove(key);
  std::filesystem::remove(audit);
}

// A full disk, made with RLIMIT_FSIZE: the record that does not fit is not
// written at all (no torn line), counted as lost, and later records that fit
// again are written.
BOOST_AUTO_TEST_CASE(audit_writes_whole_records_or_none) {
  const std::string key = TempPath("key2");
  std::ofstream(key) << "0123456789abcdef0123456789abcdef\n";
  ::chmod(key.c_str(), 0600);
  auto hasher = LoadPatientHasher(key);
  BOOST_TEST_REQUIRE(hasher.has_value());
  const std::string path = TempPath("audit2.jsonl");
  std::filesystem::remove(path);
  auto log = AuditLog::Open(path, *hasher);
  BOOST_TEST_REQUIRE(log.has_value());
  RequestTrace trace;
  trace.hook_instance = "i-1";
  trace.patient_id = "p1";
  BOOST_TEST((*log)->Write(trace, 200, 1.0));
  const auto one_record = std::filesystem::file_size(path);

  struct rlimit saved {};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  auto* previous = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limited = saved;
  limited.rlim_cur = static_cast<rlim_t>(one_record + one_record / 2);  // room for half a record
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  const bool second = (*log)->Write(trace, 200, 1.0);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, previous);

  BOOST_TEST(!second);
  BOOST_TEST(std::filesystem::file_size(path) == one_record);
  AuditState state = (*log)->State();
  BOOST_TEST(!state.healthy);
  BOOST_TEST(state.lost == 1u);
  BOOST_TEST(state.written == 1u);
  BOOST_TEST(!state.last_error.empty());

  BOOST_TEST((*log)->Write(trace, 200, 1.0));
  state = (*log)->State();
  BOOST_TEST(state.healthy);
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    BOOST_TEST((line.front() == '{' && line.back() == '}'), line);
  }
  BOOST_TEST(lines == 2);
  std::filesystem::remove(key);
  std::filesystem::remove(path);
}

// Another patient's records never become facts; the categories they came in
// are no longer complete, and the dropped records are listed.
BOOST_AUTO_TEST_CASE(normalize_drops_another_patients_resources) {
  const std::string bundle = R"({"resourceType":"Bundle","type":"collection","entry":[
    {"fullUrl":"urn:uuid:aaaa","resource":{"resourceType":"Patient","id":"p1"}},
    {"fullUrl":"urn:uuid:bbbb","resource":{"resourceType":"Patient","id":"p2"}},
    {"resource":{"resourceType":"Observation","id":"mine","status":"final",
      "code":{"text":"x"},"subject":{"reference":"Patient/p1"}}},
    {"resource":{"resourceType":"Observation","id":"mine-abs","status":"final",
      "code":{"text":"x"},"subject":{"reference":"https://ehr.example/fhir/Patient/p1/_history/3"}}},
    {"resource":{"resourceType":"Observation","id":"mine-urn","status":"final",
      "code":{"text":"x"},"subject":{"reference":"urn:uuid:aaaa"}}},
    {"resource":{"resourceType":"Observation","id":"no-subject","status":"final","code":{"text":"x"}}},
    {"resource":{"resourceType":"Observation","id":"theirs","status":"final",
      "code":{"text":"x"},"subject":{"reference":"Patient/p2"}}},
    {"resource":{"resourceType":"Observation","id":"theirs-urn","status":"final",
      "code":{"text":"x"},"subject":{"reference":"urn:uuid:bbbb"}}},
    {"resource":{"resourceType":"Observation","id":"group","status":"final",
      "code":{"text":"x"},"subject":{"reference":"Group/p1"}}},
    {"resource":{"resourceType":"Condition","id":"theirs-c","subject":{"reference":"Patient/p1x"},
      "code":{"text":"y"}}}
  ]})";
  auto document = JsonDocument::Parse(bundle);
  BOOST_TEST_REQUIRE(document.has_value());
  fhir::PatientFacts facts;
  facts.patient_id = "p1";
  for (auto& state : facts.categories) state.availability = fhir::Availability::kComplete;
  fhir::Normalize({{fhir::FactCategory::kObservations, (*document)->root()}}, 0, {}, facts);
  std::vector<std::string> kept;
  for (const auto& o : facts.observations) kept.push_back(o.ref);
  BOOST_TEST(kept == (std::vector<std::string>{"Observation/mine", "Observation/mine-abs",
                                               "Observation/mine-urn", "Observation/no-subject"}),
             boost::test_tools::per_element());
  BOOST_TEST(facts.conditions.empty());
  BOOST_TEST(facts.foreign_resources ==
                 (std::vector<std::string>{"Observation/theirs", "Observation/theirs-urn",
                                           "Observation/group", "Condition/theirs-c"}),
             boost::test_tools::per_element());
  BOOST_TEST(static_cast<int>(facts.state(fhir::FactCategory::kObservations).availability) ==
             static_cast<int>(fhir::Availability::kPartial));
  BOOST_TEST(facts.patient_id == "p1");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cds::service
