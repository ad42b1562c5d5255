#include "daemon/options.h"

#include <gtest/gtest.h>

#include <csignal>

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

// The overrides' state file survives reboots (/var/lib), one per instance and namespace.
TEST(DaemonOptions, TheOverrideStateFileCarriesTheInstanceAndTheNamespace) {
  const DaemonOptions none;
  EXPECT_EQ(run_files(none, "").override_state_file, "/var/lib/vigil/state.conf");
  EXPECT_EQ(run_files(none, "lb-a").override_state_file, "/var/lib/vigil/state_lb-a.conf");
  EXPECT_EQ(run_files(none, "", "site1").override_state_file, "/var/lib/vigil/state_site1.conf");
  EXPECT_EQ(run_files(none, "lb-a", "site1").override_state_file,
            "/var/lib/vigil/state_site1_lb-a.conf");
}

// Two vigilds on one host never share a file: the IPVS ownership state follows the naming rule
// too (it was one /run/vigil/ipvs-owned.conf for every namespace).
TEST(DaemonOptions, TheIpvsStateFileCarriesTheInstanceAndTheNamespace) {
  const DaemonOptions none;
  EXPECT_EQ(run_files(none, "").ipvs_state_file, "/run/vigil/ipvs-owned.conf");
  EXPECT_EQ(run_files(none, "lb-a").ipvs_state_file, "/run/vigil/ipvs-owned_lb-a.conf");
  EXPECT_EQ(run_files(none, "", "site1").ipvs_state_file, "/run/vigil/ipvs-owned_site1.conf");
  EXPECT_EQ(run_files(none, "lb-a", "site1").ipvs_state_file,
            "/run/vigil/ipvs-owned_site1_lb-a.conf");
  DaemonOptions explicit_state;
  explicit_state.ipvs_state_file = "/var/lib/vigil/owned.conf";
  EXPECT_EQ(run_files(explicit_state, "lb-a", "site1").ipvs_state_file,
            "/var/lib/vigil/owned.conf");
  auto parsed = parse_daemon_options({"--ipvs-state-file", "/x/owned.conf"});
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(run_files(*parsed, "").ipvs_state_file, "/x/owned.conf");
}

// keepalived honours TMPDIR for its dumps; so does vigild, when it is an absolute path.
TEST(DaemonOptions, DumpsGoToTmpdirWhenItIsAnAbsolutePath) {
  const DaemonOptions none;
  EXPECT_EQ(dump_directory(""), "/tmp");
  EXPECT_EQ(dump_directory("relative/dir"), "/tmp");
  EXPECT_EQ(dump_directory("/var/tmp"), "/var/tmp");
  EXPECT_EQ(dump_directory("/var/tmp//"), "/var/tmp");
  EXPECT_EQ(dump_directory("/"), "/");
  const auto files = run_files(none, "lb-a", "site1", "/var/tmp/");
  EXPECT_EQ(files.data_file, "/var/tmp/vigil_site1_lb-a.data");
  EXPECT_EQ(files.stats_file, "/var/tmp/vigil_site1_lb-a.stats");
  EXPECT_EQ(files.pid_file, "/run/vigild_site1_lb-a.pid");  // TMPDIR moves the dumps only
  EXPECT_EQ(run_files(none, "", "", "/").data_file, "/vigil.data");
  EXPECT_EQ(run_files(none, "", "", "tmp").data_file, "/tmp/vigil.data");
}

// The checkers write their own dumps beside VRRP's (keepalived: keepalived_check.data), under
// the same naming rule.
TEST(DaemonOptions, TheCheckerDumpsFollowTheNamingRule) {
  const DaemonOptions none;
  EXPECT_EQ(run_files(none, "").check_data_file, "/tmp/vigil_check.data");
  EXPECT_EQ(run_files(none, "").check_stats_file, "/tmp/vigil_check.stats");
  EXPECT_EQ(run_files(none, "lb-a").check_data_file, "/tmp/vigil_check_lb-a.data");
  EXPECT_EQ(run_files(none, "", "site1").check_stats_file, "/tmp/vigil_check_site1.stats");
  const auto files = run_files(none, "lb-a", "site1", "/var/tmp");
  EXPECT_EQ(files.check_data_file, "/var/tmp/vigil_check_site1_lb-a.data");
  EXPECT_EQ(files.check_stats_file, "/var/tmp/vigil_check_site1_lb-a.stats");
}

// keepalived's --signum, for `kill -s $(vigild --signum=RELOAD) PID`: the names vigild handles
// give their signal, keepalived's others and unknown names an error (vigild exits 2).
TEST(DaemonOptions, SignumNamesTheSignalsVigildHandles) {
  struct Case {
    const char* name;
    int number;  // 0: an error
    const char* error_part;
  };
  const Case cases[] = {
      {"RELOAD", SIGHUP, ""},
      {"DATA", SIGUSR1, ""},
      {"STATS", SIGUSR2, ""},
      {"STOP", SIGTERM, ""},
      {"JSON", 0, "keepalived's JSON signal has no vigild counterpart"},
      {"STATS_CLEAR", 0, "no vigild counterpart"},
      {"TDATA", 0, "no vigild counterpart"},
      {"reload", 0, "unknown signal name 'reload'"},
      {"HUP", 0, "unknown signal name"},
      {"", 0, "unknown signal name ''"},
  };
  for (const auto& c : cases) {
    auto number = signal_number(c.name);
    if (c.number != 0) {
      ASSERT_TRUE(number) << c.name << ": " << number.error().message;
      EXPECT_EQ(*number, c.number) << c.name;
    } else {
      ASSERT_FALSE(number) << c.name;
      EXPECT_NE(number.error().message.find(c.error_part), std::string::npos)
          << c.name << ": " << number.error().message;
    }
  }
  auto o = parse_daemon_options({"--signum=RELOAD"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->signum, "RELOAD");
  EXPECT_EQ(parse_daemon_options({"--signum", "STOP"})->signum, "STOP");
  EXPECT_FALSE(parse_daemon_options({"--signum"}));
}

}  // namespace
}  // namespace vigil::daemon
