#pragma once

// Where the tests find their data, the shipped rules, the source tree and the
// built `magcds`. Force-included into every test object (tests/support/
// CMakeLists.txt, cds_test_paths), so the macros CDS_TEST_DATA_DIR,
// CDS_RULES_DIR, CDS_SOURCE_ROOT and CDS_MAGCDS_BINARY expand to these calls:
// the absolute paths are compiled into test_paths.cc alone, and a clone at
// another path reuses every other test object from ccache instead of
// recompiling each test that names a path (tests/run-all.sh).

extern "C" {
const char* cds_test_data_dir();
const char* cds_test_rules_dir();
const char* cds_test_source_root();
const char* cds_test_magcds_binary();
}
