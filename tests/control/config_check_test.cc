// run_config_check (vigild -t, vigilctl check-config): a file that cannot be read. The verdicts
// on scripts are in script_audit_test.cc (ConfigTestExitTest).
#include "control/config_check.h"

#include <gtest/gtest.h>

#include <sstream>

namespace vigil::control {
namespace {

TEST(ConfigCheck, MissingFileCannotRun) {
  std::ostringstream out, err;
  EXPECT_EQ(run_config_check({.file = "/nonexistent/vigil.conf"}, out, err), kConfigCannotRun);
  EXPECT_NE(err.str().find("/nonexistent/vigil.conf: cannot read configuration file"),
            std::string::npos);
}

}  // namespace
}  // namespace vigil::control
