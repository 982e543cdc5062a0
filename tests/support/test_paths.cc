#include "tests/support/test_paths.h"

// The CDS_TEST_PATH_* literals come from this object's command line only
// (tests/support/CMakeLists.txt); see test_paths.h for why.
extern "C" {
const char* cds_test_data_dir() { return CDS_TEST_PATH_DATA; }
const char* cds_test_rules_dir() { return CDS_TEST_PATH_RULES; }
const char* cds_test_source_root() { return CDS_TEST_PATH_SOURCE_ROOT; }
const char* cds_test_magcds_binary() { return CDS_TEST_PATH_MAGCDS; }
}
