#include <gtest/gtest.h>

#include "config/json.h"
#include "config/parse_context.h"
#include "test_util.h"

namespace vigil::config {
namespace {

using testing::errors;
using testing::parse;
using testing::parse_ok;
using testing::warnings;
using Strings = std::vector<std::string>;

TEST(GlobalDefs, DefaultsAreKeepalivedsDefaults) {
  std::unique_ptr<Parsed> p;
  const auto& g = parse_ok(p, "global_defs {\n}\n").global;
  EXPECT_EQ(g.vrrp_version, 2);
  EXPECT_EQ(g.vrrp_mcast_group4.to_string(), "224.0.0.18");
  EXPECT_EQ(g.vrrp_mcast_group6.to_string(), "ff02::12");
  EXPECT_EQ(g.vrrp_garp_master_delay, 5s);
  EXPECT_EQ(g.vrrp_garp_master_repeat, 5U);
  EXPECT_EQ(g.vrrp_garp_master_refresh, 0s);
  EXPECT_EQ(g.vrrp_garp_lower_prio_delay, 5s);
  EXPECT_EQ(g.vrrp_garp_lower_prio_repeat, 5U);
  EXPECT_EQ(g.smtp_connect_timeout, 30s);
  EXPECT_FALSE(g.lvs_flush);
  EXPECT_FALSE(g.enable_script_security);
  EXPECT_FALSE(g.fifo_write_vrrp_states_on_reload);
}

// Keywords vigil reads into the model but does not act on yet: each is a warning naming it, so
// an operator knows the setting has no effect. Implemented ones are quiet.
TEST(GlobalDefs, RecordedButUnimplementedKeywordsWarn) {
  auto p = parse(R"(global_defs {
  vrrp_skip_check_adv_addr
  vrrp_notify_priority_changes
}
)");
  ASSERT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  EXPECT_EQ(warnings(*p), (Strings{"2:3: 'vrrp_skip_check_adv_addr' is a keepalived keyword vigil "
                                   "does not implement yet: accepted, has no effect"}));
  EXPECT_TRUE(p->config.global.vrrp_notify_priority_changes);
}

// startup_script / shutdown_script SCRIPT [user [group]] and their timeouts: whole seconds in
// [1, 1000], default 10 (keepalived 2.2.7's global_parser.c).
TEST(GlobalDefs, StartupAndShutdownScripts) {
  std::unique_ptr<Parsed> p;
  const auto& g = parse_ok(p, R"(global_defs {
  startup_script "/usr/local/bin/up.sh start" nobody
  shutdown_script /usr/local/bin/down.sh
  shutdown_script_timeout 30
}
)")
                      .global;
  ASSERT_TRUE(g.startup_script);
  EXPECT_EQ(g.startup_script->command.argv, Strings({"/usr/local/bin/up.sh", "start"}));
  ASSERT_TRUE(g.startup_script->run_as);
  EXPECT_EQ(g.startup_script->run_as->user, "nobody");
  EXPECT_EQ(g.startup_script_timeout, std::chrono::seconds(10));
  ASSERT_TRUE(g.shutdown_script);
  EXPECT_EQ(g.shutdown_script->command.argv, Strings({"/usr/local/bin/down.sh"}));
  EXPECT_FALSE(g.shutdown_script->run_as);
  EXPECT_EQ(g.shutdown_script_timeout, std::chrono::seconds(30));
  EXPECT_EQ(warnings(*p), Strings{});

  EXPECT_FALSE(errors(*parse("global_defs {\n  startup_script_timeout 0\n}\n")).empty());
  EXPECT_FALSE(errors(*parse("global_defs {\n  startup_script_timeout 1001\n}\n")).empty());
  EXPECT_FALSE(errors(*parse("global_defs {\n  shutdown_script_timeout 1.5\n}\n")).empty());
  EXPECT_FALSE(errors(*parse("global_defs {\n  startup_script\n}\n")).empty());
  EXPECT_EQ(errors(*parse("global_defs {\n  startup_script /a\n  startup_script /b\n}\n")),
            Strings{"3:3: global_defs: 'startup_script' is given twice (keepalived: \"script "
                    "already specified\")"});
}

// vigil's checker_strict_framing: off by default, a flag.
TEST(GlobalDefs, CheckerStrictFraming) {
  std::unique_ptr<Parsed> none;
  EXPECT_FALSE(parse_ok(none, "global_defs {\n}\n").global.checker_strict_framing);
  std::unique_ptr<Parsed> set;
  EXPECT_TRUE(
      parse_ok(set, "global_defs {\n  checker_strict_framing\n}\n").global.checker_strict_framing);
}

// vigil's checker_share_probes: off by default, a flag.
TEST(GlobalDefs, CheckerShareProbes) {
  std::unique_ptr<Parsed> none;
  EXPECT_FALSE(parse_ok(none, "global_defs {\n}\n").global.checker_share_probes);
  std::unique_ptr<Parsed> set;
  EXPECT_TRUE(
      parse_ok(set, "global_defs {\n  checker_share_probes\n}\n").global.checker_share_probes);
}

// vigil's metrics listener: off by default; 127.0.0.1 9650 when written without an address.
TEST(GlobalDefs, MetricsAddressAndDetail) {
  std::unique_ptr<Parsed> none;
  const auto& off = parse_ok(none, "global_defs {\n}\n").global;
  EXPECT_FALSE(off.vigil_metrics_address);
  EXPECT_FALSE(off.vigil_metrics_full_detail);
  std::unique_ptr<Parsed> bare;
  const auto& defaults = parse_ok(bare, "global_defs {\n  vigil_metrics_address\n}\n").global;
  ASSERT_TRUE(defaults.vigil_metrics_address);
  EXPECT_EQ(defaults.vigil_metrics_address->address.to_string(), "127.0.0.1");
  EXPECT_EQ(defaults.vigil_metrics_address->port, 9650);
  std::unique_ptr<Parsed> set;
  const auto& g = parse_ok(set,
                           "global_defs {\n  vigil_metrics_address ::1 9100\n"
                           "  vigil_metrics_detail full\n}\n")
                      .global;
  ASSERT_TRUE(g.vigil_metrics_address);
  EXPECT_EQ(g.vigil_metrics_address->address.to_string(), "::1");
  EXPECT_EQ(g.vigil_metrics_address->port, 9100);
  EXPECT_TRUE(g.vigil_metrics_full_detail);
  EXPECT_EQ(errors(*parse("global_defs {\n  vigil_metrics_detail all\n}\n")),
            Strings{"2:24: 'vigil_metrics_detail': expected 'basic' or 'full', not 'all'"});
  EXPECT_FALSE(errors(*parse("global_defs {\n  vigil_metrics_address 127.0.0.1 0\n}\n")).empty());
}

// The SMTP alert keywords (src/alert sends the alerts): read without a warning.
TEST(GlobalDefs, SmtpAlertKeywords) {
  auto p = parse(R"(global_defs {
  smtp_server 192.0.2.25 2525
  smtp_helo_name lb1.example.com
  smtp_connect_timeout 7
  no_checker_emails
  smtp_alert_checker off
}
)");
  ASSERT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  EXPECT_EQ(warnings(*p), Strings{});
  const auto& g = p->config.global;
  EXPECT_EQ(g.smtp_server, IpAddress::parse("192.0.2.25"));
  EXPECT_EQ(g.smtp_server_port, 2525);
  EXPECT_EQ(g.smtp_helo_name, "lb1.example.com");
  EXPECT_EQ(g.smtp_connect_timeout, 7s);
  EXPECT_TRUE(g.no_checker_emails);
  EXPECT_EQ(g.smtp_alert_checker, false);
  EXPECT_TRUE(g.smtp_alert_checker_written);
}

// keepalived 2.2.7 check_data.c: a real server's smtp_alert defaults to smtp_alert_checker, else
// smtp_alert, else on (unlike the virtual server's, which defaults to off).
TEST(GlobalDefs, RealServerSmtpAlertDefault) {
  struct Case {
    const char* globals;
    bool no_checker_emails;
    bool rs_alert;
    bool vs_alert;
  };
  const Case cases[] = {
      {"", false, true, false},
      {"smtp_alert off", false, false, false},
      {"smtp_alert on", false, true, true},
      {"smtp_alert_checker off", false, false, false},
      {"smtp_alert on\n  smtp_alert_checker off", false, false, false},
      {"no_checker_emails off", false, true, false},
      {"no_checker_emails", true, true, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.globals);
    auto p = parse(std::string("global_defs {\n  ") + c.globals + R"(
}
virtual_server 10.0.0.100 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.1 80 {
    TCP_CHECK {
    }
  }
}
)");
    ASSERT_TRUE(p->ok()) << p->diagnostics.format(p->files);
    EXPECT_EQ(p->config.global.no_checker_emails, c.no_checker_emails);
    const auto& vs = p->config.lvs.virtual_servers.at(0);
    EXPECT_EQ(vs.smtp_alert, c.vs_alert);
    EXPECT_EQ(vs.real_servers.at(0).smtp_alert, c.rs_alert);
  }
}

// vrrp_min_garp: one announcement, no second set; values set explicitly (before or after it)
// win, as in keepalived, and the lower-priority ones follow the master ones.
TEST(GlobalDefs, MinGarpReplacesTheDefaultRepeatAndDelay) {
  struct Case {
    const char* body;
    uint32_t repeat;
    Duration delay;
  };
  const Case cases[] = {
      {"vrrp_min_garp", 1, 0s},
      {"vrrp_min_garp off", 5, 5s},
      {"vrrp_garp_master_repeat 3\nvrrp_min_garp", 3, 0s},
      {"vrrp_min_garp\nvrrp_garp_master_delay 2", 1, 2s},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    std::unique_ptr<Parsed> p;
    const auto& g = parse_ok(p, std::string("global_defs {\n") + c.body + "\n}\n").global;
    EXPECT_TRUE(warnings(*p).empty()) << warnings(*p).front();
    EXPECT_EQ(g.vrrp_garp_master_repeat, c.repeat);
    EXPECT_EQ(g.vrrp_garp_master_delay, c.delay);
    EXPECT_EQ(g.vrrp_garp_lower_prio_repeat, c.repeat);
    EXPECT_EQ(g.vrrp_garp_lower_prio_delay, c.delay);
  }
}

// keepalived reads net_namespace, instance and the other process-wide settings at the top level
// only; inside global_defs `keepalived -t` calls them unknown (exit 5).
TEST(GlobalDefs, ProcessWideSettingsStandAtTheTopLevel) {
  std::unique_ptr<Parsed> p;
  const auto& g = parse_ok(p, R"(net_namespace lb-a
instance site1
child_wait_time 7
global_defs {
  router_id LVS_1
}
)")
                      .global;
  EXPECT_EQ(g.net_namespace, "lb-a");
  EXPECT_EQ(g.instance, "site1");
  EXPECT_EQ(g.child_wait_time, std::chrono::seconds(7));

  const char* names[] = {"net_namespace lb-a",      "instance site1",        "child_wait_time 7",
                         "net_namespace_ipvs lb-b", "namespace_with_ipsets", "use_pid_dir",
                         "linkbeat_use_polling"};
  for (const char* keyword : names) {
    auto inside = parse(std::string("global_defs {\n  ") + keyword + "\n}\n");
    const std::string name(
        std::string_view(keyword).substr(0, std::string_view(keyword).find(' ')));
    EXPECT_EQ(errors(*inside), Strings{"2:3: '" + name +
                                       "' goes at the top level of the file, outside global_defs "
                                       "(keepalived does not read it inside)"})
        << keyword;
  }
}

TEST(GlobalDefs, ReadsEveryImplementedKeyword) {
  std::unique_ptr<Parsed> p;
  const auto& g = parse_ok(p, R"(global_defs {
  router_id LVS_1
  script_user nobody nogroup
  enable_script_security
  notification_email {
    ops@example.com
    oncall@example.com
  }
  notification_email_from lb@example.com
  smtp_server 192.0.2.25 2525
  smtp_connect_timeout 12.5
  smtp_alert on
  smtp_alert_vrrp no
  vrrp_version 3
  vrrp_mcast_group4 224.0.0.19
  vrrp_garp_master_delay 10
  vrrp_garp_master_repeat 3
  vrrp_garp_master_refresh 60
  vrrp_garp_interval 0.001
  vrrp_strict
  vrrp_rt_priority 50
  vrrp_priority -5
  lvs_sync_daemon eth1 VI_1 id 7 maxlen 1472 port 8849 ttl 2 group 224.0.0.82
  lvs_timeouts tcp 900 udp 300
  lvs_flush
  lvs_flush_on_stop VS
  vrrp_notify_fifo /run/vigil.fifo
  vrrp_notify_fifo_script "/usr/bin/logger -t vrrp" root
  fifo_write_vrrp_states_on_reload
}
vrrp_instance VI_1 {
  interface eth1
  virtual_router_id 7
  priority 100
  virtual_ipaddress {
    192.0.2.1
  }
}
)")
                      .global;
  EXPECT_EQ(g.router_id, "LVS_1");
  ASSERT_TRUE(g.script_user);
  EXPECT_EQ(g.script_user->user, "nobody");
  EXPECT_EQ(g.script_user->group, "nogroup");
  EXPECT_TRUE(g.enable_script_security);
  EXPECT_EQ(g.notification_email, (Strings{"ops@example.com", "oncall@example.com"}));
  EXPECT_EQ(g.smtp_server->to_string(), "192.0.2.25");
  EXPECT_EQ(g.smtp_server_port, 2525);
  EXPECT_EQ(g.smtp_connect_timeout, 12500ms);
  EXPECT_TRUE(g.smtp_alert);
  EXPECT_EQ(g.smtp_alert_vrrp, false);
  EXPECT_EQ(g.smtp_alert_checker, true);
  EXPECT_EQ(g.vrrp_version, 3);
  EXPECT_EQ(g.vrrp_mcast_group4.to_string(), "224.0.0.19");
  EXPECT_EQ(g.vrrp_garp_master_delay, 10s);
  EXPECT_EQ(g.vrrp_garp_lower_prio_delay, 10s);
  EXPECT_EQ(g.vrrp_garp_master_repeat, 3U);
  EXPECT_EQ(g.vrrp_garp_master_refresh, 60s);
  EXPECT_EQ(g.vrrp_garp_interval, 1ms);
  EXPECT_TRUE(g.vrrp_strict);
  EXPECT_EQ(g.vrrp_rt_priority, 50);
  EXPECT_EQ(g.vrrp_priority, -5);
  ASSERT_TRUE(g.lvs_sync_daemon);
  EXPECT_EQ(g.lvs_sync_daemon->interface, "eth1");
  EXPECT_EQ(g.lvs_sync_daemon->vrrp_instance, "VI_1");
  EXPECT_EQ(g.lvs_sync_daemon->sync_id, 7);
  EXPECT_EQ(g.lvs_sync_daemon->max_length, 1472);
  EXPECT_EQ(g.lvs_sync_daemon->port, 8849);
  EXPECT_EQ(g.lvs_sync_daemon->ttl, 2);
  EXPECT_EQ(g.lvs_sync_daemon->group->to_string(), "224.0.0.82");
  ASSERT_TRUE(g.lvs_timeouts);
  EXPECT_EQ(g.lvs_timeouts->tcp, 900U);
  EXPECT_FALSE(g.lvs_timeouts->tcpfin);
  EXPECT_EQ(g.lvs_timeouts->udp, 300U);
  EXPECT_TRUE(g.lvs_flush);
  EXPECT_TRUE(g.lvs_flush_on_stop);
  EXPECT_TRUE(g.lvs_flush_on_stop_vs_only);
  ASSERT_TRUE(g.vrrp_notify_fifo);
  EXPECT_EQ(g.vrrp_notify_fifo->path, "/run/vigil.fifo");
  ASSERT_TRUE(g.vrrp_notify_fifo->script);
  EXPECT_EQ(g.vrrp_notify_fifo->script->argv, (Strings{"/usr/bin/logger", "-t", "vrrp"}));
  EXPECT_EQ(g.vrrp_notify_fifo->run_as.user, "root");
  EXPECT_TRUE(g.fifo_write_vrrp_states_on_reload);
}

struct ErrorCase {
  const char* what;
  const char* body;  // inside global_defs, starting on line 2
  Strings expected;
};

class GlobalDefsErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(GlobalDefsErrors, ReportsAtTheToken) {
  auto p = parse(std::string("global_defs {\n") + GetParam().body + "\n}\n");
  EXPECT_EQ(errors(*p), GetParam().expected) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, GlobalDefsErrors,
    ::testing::Values(
        ErrorCase{
            "version range", "vrrp_version 4", {"2:14: 'vrrp_version': 4 is out of range [2, 3]"}},
        ErrorCase{"not a number",
                  "vrrp_garp_master_repeat x",
                  {"2:25: 'vrrp_garp_master_repeat': 'x' is not an integer"}},
        ErrorCase{"bad seconds",
                  "vrrp_garp_master_delay 1.2.3",
                  {"2:24: 'vrrp_garp_master_delay': '1.2.3' is not a time in seconds (at most 6 "
                   "decimals)"}},
        // keepalived: one microsecond to 2^32 - 1 microseconds (0 is refused).
        ErrorCase{"garp interval zero",
                  "vrrp_garp_interval 0",
                  {"2:20: 'vrrp_garp_interval': 0 s is out of range [0.000001, 4294.967295]"}},
        ErrorCase{"gna interval too long",
                  "vrrp_gna_interval 4294.967296",
                  {"2:19: 'vrrp_gna_interval': 4294.967296 s is out of range [0.000001, "
                   "4294.967295]"}},
        // keepalived: 1 ms to 2^32 - 1 microseconds.
        ErrorCase{"startup delay below a millisecond",
                  "vrrp_startup_delay 0.0001",
                  {"2:20: 'vrrp_startup_delay': 0.0001 s is out of range [0.001, 4294.967295]"}},
        ErrorCase{"bad boolean",
                  "smtp_alert maybe",
                  {"2:12: 'smtp_alert': 'maybe' is not one of on|off|true|false|yes|no"}},
        ErrorCase{
            "too many arguments", "router_id a b", {"2:13: 'router_id' takes 1 argument, got 2"}},
        ErrorCase{"missing argument", "router_id", {"2:1: 'router_id' takes 1 argument, got 0"}},
        ErrorCase{"not multicast",
                  "vrrp_mcast_group4 10.0.0.1",
                  {"2:19: 'vrrp_mcast_group4': 10.0.0.1 is not an IPv4 multicast address"}},
        ErrorCase{"wrong family",
                  "vrrp_mcast_group6 224.0.0.18",
                  {"2:19: 'vrrp_mcast_group6': 224.0.0.18 is not an IPv6 multicast address"}},
        ErrorCase{"bad address",
                  "smtp_server 10.0.0.300",
                  {"2:13: 'smtp_server': '10.0.0.300' is not an IP address"}},
        ErrorCase{"did you mean",
                  "routr_id x",
                  {"2:1: unknown keyword 'routr_id'; did you mean 'router_id'?"}},
        ErrorCase{"no suggestion", "frobnicate", {"2:1: unknown keyword 'frobnicate'"}},
        ErrorCase{"lvs_timeouts word",
                  "lvs_timeouts tcp 1 sctp 2",
                  {"2:20: 'lvs_timeouts': expected 'tcp SECS', 'tcpfin SECS' or 'udp SECS'"}},
        ErrorCase{"sync group not multicast",
                  "lvs_sync_daemon eth0 VI_1 group 10.1.1.1",
                  {"2:33: 'lvs_sync_daemon': group must be a multicast address"}},
        ErrorCase{"two emails on a line",
                  "notification_email {\na@b c@d\n}",
                  {"3:5: one email address per line in 'notification_email'"}},
        ErrorCase{"every error reported",
                  "vrrp_version 9\nrouter_id\nvrrp_strict maybe",
                  {"2:14: 'vrrp_version': 9 is out of range [2, 3]",
                   "3:1: 'router_id' takes 1 argument, got 0",
                   "4:13: 'vrrp_strict': 'maybe' is not one of on|off|true|false|yes|no"}}));

TEST(GlobalDefs, UnimplementedKeepalivedKeywordWarns) {
  auto p = parse("global_defs {\n  enable_snmp_vrrp\n  vrrp_iptables\n}\n");
  EXPECT_TRUE(p->ok());
  EXPECT_EQ(
      warnings(*p),
      (Strings{"2:3: 'enable_snmp_vrrp' is a keepalived keyword vigil does not implement yet: "
               "accepted, has no effect",
               "3:3: 'vrrp_iptables' is a keepalived keyword vigil does not implement yet: "
               "accepted, has no effect"}));
}

// The check thread's process keywords (daemon/check/check_thread.h applies them).
TEST(GlobalDefs, CheckerProcessKeywords) {
  std::unique_ptr<Parsed> p;
  const auto& g = parse_ok(p, R"(global_defs {
  checker_priority -5
  checker_rt_priority 20
  checker_no_swap
  checker_cpu_affinity 0 2 3
  checker_process_name vigil_checkers
}
)")
                      .global;
  EXPECT_EQ(warnings(*p), Strings{});
  EXPECT_EQ(g.checker_priority, -5);
  EXPECT_EQ(g.checker_rt_priority, 20);
  EXPECT_TRUE(g.checker_no_swap);
  EXPECT_EQ(g.checker_cpu_affinity, (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(g.checker_process_name, "vigil_checkers");

  std::unique_ptr<Parsed> none;
  const auto& unset = parse_ok(none, "global_defs {\n}\n").global;
  EXPECT_TRUE(unset.checker_cpu_affinity.empty());
  EXPECT_TRUE(unset.checker_process_name.empty());
}

TEST(GlobalDefs, CheckerProcessKeywordsOutOfRange) {
  auto p = parse(R"(global_defs {
  checker_cpu_affinity 1 1024
  checker_cpu_affinity
  checker_process_name a_name_of_twenty_chars
}
)");
  EXPECT_EQ(errors(*p), (Strings{"2:26: 'checker_cpu_affinity': 1024 is out of range [0, 1023]",
                                 "3:3: 'checker_cpu_affinity' takes at least 1 arguments, got 0"}));
  EXPECT_EQ(warnings(*p), (Strings{"4:24: 'checker_process_name': a task name holds 15 "
                                   "characters: 'a_name_of_twent' is used"}));
  EXPECT_TRUE(p->config.global.checker_cpu_affinity.empty()) << "a line with a bad CPU sets none";
  EXPECT_EQ(p->config.global.checker_process_name, "a_name_of_twent");
}

TEST(GlobalDefs, RandomSeedMakesRandomRepeatable) {
  const char* text =
      "global_defs {\n  random_seed 42\n}\n$R=${_RANDOM 1 1000000}\nglobal_defs {\n  router_id "
      "$R\n}\n";
  std::unique_ptr<Parsed> a, b;
  const auto& first = parse_ok(a, text).global;
  const auto& second = parse_ok(b, text).global;
  EXPECT_FALSE(first.router_id.empty());
  EXPECT_EQ(first.router_id, second.router_id);
}

TEST(GlobalDefs, IncludeCheckMakesAMissingIncludeAnError) {
  auto lenient = parse("include /nonexistent/vigil-test-*.conf\n");
  EXPECT_TRUE(lenient->ok());
  auto strict =
      parse("global_defs {\n  include_check\n}\ninclude /nonexistent/vigil-test-*.conf\n");
  EXPECT_FALSE(strict->ok());
  EXPECT_EQ(errors(*parse("global_defs {\n  include_check +bogus\n}\n")),
            (Strings{"2:17: 'include_check': unknown check 'bogus' (readable, match, "
                     "wildcard_match, brace_match)"}));
}

TEST(Structure, BlockErrors) {
  EXPECT_EQ(errors(*parse("global_defs\nrouter_id x\n")),
            (Strings{"1:1: 'global_defs' needs a '{' block", "2:1: unknown keyword 'router_id'"}));
  EXPECT_EQ(errors(*parse("global_defs {\nrouter_id x\n")),
            (Strings{"1:1: block of 'global_defs' is not closed: missing '}'"}));
  EXPECT_EQ(errors(*parse("}\n")), (Strings{"1:1: unexpected '}'"}));
  // An unknown block is skipped whole: its contents are not reported again.
  EXPECT_EQ(errors(*parse("bogus_block {\n  a { b }\n  c\n}\nglobal_defs {\n}\n")),
            (Strings{"1:1: unknown keyword 'bogus_block'"}));
}

TEST(Json, DumpsResolvedDefaults) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, "global_defs {\n router_id r1\n vrrp_garp_interval 0.25\n}\n");
  auto text = to_json_text(config);
  EXPECT_NE(text.find("\"router_id\": \"r1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"vrrp_garp_interval\": 0.25"), std::string::npos) << text;
  EXPECT_NE(text.find("\"vrrp_garp_lower_prio_delay\": 5"), std::string::npos) << text;
}

}  // namespace
}  // namespace vigil::config

namespace vigil::config {
namespace {

TEST(DecimalSeconds, ExactToTheMicrosecond) {
  EXPECT_EQ(parse_decimal_seconds("3"), Duration{3'000'000});
  EXPECT_EQ(parse_decimal_seconds("0.01"), Duration{10'000});
  EXPECT_EQ(parse_decimal_seconds("2.718281"), Duration{2'718'281});
  for (const char* bad : {"", ".5", "5.", "1e3", "-1", "0.0000001", "1.2.3", "x"}) {
    EXPECT_FALSE(parse_decimal_seconds(bad)) << bad;
  }
  EXPECT_EQ(format_seconds(Duration{10'000}), "0.01");
  EXPECT_EQ(format_seconds(Duration{3'000'000}), "3");
}

}  // namespace
}  // namespace vigil::config
