// Runs a rapidcheck property inside a GoogleTest test with a default number of
// cases larger than rapidcheck's 100, so `bazel test` and `ctest` exercise
// enough random command sequences to matter.
//
// RC_PARAMS still overrides everything: RC_PARAMS="max_success=50" runs
// fewer, RC_PARAMS="seed=123" replays a seed, and a `reproduce` string that
// rapidcheck printed for a failure replays that failure.
//
// Example:
//   TEST(MapModel, DefaultHash) {
//     proptest_internal::CheckProperty([] { ... RC_ASSERT(...); }, 1000);
//   }
#ifndef PERSIST_PROPTEST_INTERNAL_RAPIDCHECK_GTEST_H_
#define PERSIST_PROPTEST_INTERNAL_RAPIDCHECK_GTEST_H_

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>

#include "rapidcheck.h"
#include "rapidcheck/detail/TestListenerAdapter.h"

namespace proptest_internal {

// Checks `property` like RC_GTEST_PROP does, with `default_max_success`
// cases unless RC_PARAMS sets max_success.
template <class Property>
void CheckProperty(Property&& property, int default_max_success) {
  const testing::TestInfo* test =
      testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(test->test_suite_name()) + "/" + test->name();
  metadata.description = test->name();

  rc::detail::TestParams params = rc::detail::configuration().testParams;
  const char* rc_params = std::getenv("RC_PARAMS");
  if (rc_params == nullptr ||
      std::strstr(rc_params, "max_success") == nullptr) {
    params.maxSuccess = default_max_success;
  }
  // The overload taking the reproduce map, so RC_PARAMS="reproduce=..."
  // replays a failure; a test without an entry in it is skipped.
  rc::detail::TestListenerAdapter quiet_listener;
  const rc::detail::TestResult result = rc::detail::checkTestable(
      std::forward<Property>(property), metadata, params, quiet_listener,
      rc::detail::configuration().reproduce);
  std::ostringstream message;
  rc::detail::printResultMessage(result, message);
  if (result.template is<rc::detail::SuccessResult>()) {
    std::cout << message.str() << std::endl;
  } else {
    FAIL() << message.str();
  }
}

}  // namespace proptest_internal

#endif  // PERSIST_PROPTEST_INTERNAL_RAPIDCHECK_GTEST_H_
