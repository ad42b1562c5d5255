#include "daemon/options.h"

#include <gtest/gtest.h>

#include <sstream>

#include "daemon/config_check.h"

namespace vigil::daemon {
namespace {

TEST(DaemonOptions, TakesKeepalivedFlags) {
  auto o = parse_daemon_options(
      {"-f", "/etc/k.conf", "-n", "-l", "-D", "-i", "lb1", "-p", "/run/v.pid", "-P", "-t"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->config_file, "/etc/k.conf");
  EXPECT_TRUE(o->dont_fork);
  EXPECT_TRUE(o->log_console);
  EXPECT_TRUE(o->log_detail);
  EXPECT_EQ(o->config_id, "lb1");
  EXPECT_EQ(o->pid_file, "/run/v.pid");
  EXPECT_TRUE(o->vrrp_only);
  EXPECT_TRUE(o->config_test);
  EXPECT_FALSE(o->checkers_only);
}

TEST(DaemonOptions, LongForms) {
  auto o = parse_daemon_options({"--use-file=/x.conf", "--dont-fork", "--log-console",
                                 "--config-id", "lb2", "--dump-config", "--check"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->config_file, "/x.conf");
  EXPECT_EQ(o->config_id, "lb2");
  EXPECT_TRUE(o->dump_config);
  EXPECT_TRUE(o->checkers_only);
}

TEST(DaemonOptions, RejectsUnknownAndConflictingFlags) {
  auto unknown = parse_daemon_options({"--frobnicate"});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("frobnicate"), std::string::npos);
  auto both = parse_daemon_options({"-P", "-C"});
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("-P"), std::string::npos);
  EXPECT_FALSE(parse_daemon_options({"-f"}));
}

TEST(DaemonOptions, NamespaceFlagWinsOverTheConfiguration) {
  auto o = parse_daemon_options({"-s", "lb-a"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->net_namespace, "lb-a");
  EXPECT_EQ(chosen_namespace(*o, "from-config"), "lb-a");
  auto plain = parse_daemon_options({});
  ASSERT_TRUE(plain);
  EXPECT_EQ(chosen_namespace(*plain, "from-config"), "from-config");
  EXPECT_EQ(chosen_namespace(*plain, ""), "");
  EXPECT_EQ(parse_daemon_options({"--namespace", "lb-b"})->net_namespace, "lb-b");
}

TEST(DaemonOptions, NamespaceNamesAreNotPaths) {
  for (const char* bad : {"../etc", "a/b", ".", ".."}) {
    auto o = parse_daemon_options({"-s", bad});
    ASSERT_FALSE(o) << bad;
    EXPECT_NE(o.error().message.find("-s: '" + std::string(bad) + "' is not a network namespace"),
              std::string::npos)
        << o.error().message;
  }
  EXPECT_TRUE(check_namespace_name("lb-a.1"));
}

TEST(DaemonOptions, RunFilesCarryTheNamespace) {
  const DaemonOptions none;
  const auto plain = run_files(none, "");
  EXPECT_EQ(plain.pid_file, "/run/vigild.pid");
  EXPECT_EQ(plain.data_file, "/tmp/vigil.data");
  EXPECT_EQ(plain.stats_file, "/tmp/vigil.stats");
  const auto in_ns = run_files(none, "lb-a");
  EXPECT_EQ(in_ns.pid_file, "/run/vigild_lb-a.pid");
  EXPECT_EQ(in_ns.data_file, "/tmp/vigil_lb-a.data");
  EXPECT_EQ(in_ns.stats_file, "/tmp/vigil_lb-a.stats");
  const auto instance_in_ns = run_files(none, "lb-a", "site1");
  EXPECT_EQ(instance_in_ns.pid_file, "/run/vigild_site1_lb-a.pid");
  EXPECT_EQ(instance_in_ns.data_file, "/tmp/vigil_site1_lb-a.data");
  EXPECT_EQ(instance_in_ns.stats_file, "/tmp/vigil_site1_lb-a.stats");
  EXPECT_EQ(run_files(none, "", "site1").pid_file, "/run/vigild_site1.pid");
  DaemonOptions explicit_pid;
  explicit_pid.pid_file = "/run/x.pid";
  EXPECT_EQ(run_files(explicit_pid, "lb-a", "site1").pid_file, "/run/x.pid");
  EXPECT_EQ(run_files(explicit_pid, "lb-a", "site1").stats_file, "/tmp/vigil_site1_lb-a.stats");
}

TEST(ConfigCheck, MissingFileCannotRun) {
  std::ostringstream out, err;
  EXPECT_EQ(run_config_check({.file = "/nonexistent/vigil.conf"}, out, err), kConfigCannotRun);
  EXPECT_NE(err.str().find("/nonexistent/vigil.conf: cannot read configuration file"),
            std::string::npos);
}

}  // namespace
}  // namespace vigil::daemon
