// run_config_check (vigild -t, vigilctl check-config): a file that cannot be read. The verdicts
// on scripts are in script_audit_test.cc (ConfigTestExitTest).
#include "control/config_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil::control {
namespace {

TEST(ConfigCheck, MissingFileCannotRun) {
  std::ostringstream out, err;
  EXPECT_EQ(run_config_check({.file = "/nonexistent/vigil.conf"}, out, err), kConfigCannotRun);
  EXPECT_NE(err.str().find("/nonexistent/vigil.conf: cannot read configuration file"),
            std::string::npos);
}

TEST(ConfigCheck, AUrlRegexPcreRejectsIsAnErrorAtItsLine) {
  char dir_template[] = "/tmp/vigil-config-check-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string file = std::string(dir_template) + "/bad-regex.conf";
  std::ofstream(file) << "virtual_server 10.0.0.100 80 {\n"
                         "  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n"
                         "  real_server 10.0.0.1 80 {\n"
                         "    HTTP_GET {\n"
                         "      url {\n"
                         "        path /\n"
                         "        regex \"a(\"\n"
                         "      }\n"
                         "    }\n"
                         "  }\n"
                         "}\n";
  std::ostringstream out, err;
  EXPECT_EQ(run_config_check({.file = file}, out, err), kConfigErrors);
  EXPECT_NE(err.str().find("bad-regex.conf:9"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("missing closing parenthesis"), std::string::npos) << err.str();
  std::filesystem::remove_all(dir_template);
}

}  // namespace
}  // namespace vigil::control
