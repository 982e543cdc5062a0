#define BOOST_TEST_MODULE magcds
#include <boost/test/unit_test.hpp>
