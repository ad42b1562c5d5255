#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/json.h"
#include "test_util.h"

namespace vigil::config {
namespace {

using testing::errors;
using testing::parse;
using testing::parse_ok;
using testing::warnings;
using Strings = std::vector<std::string>;

// A valid instance; `body` is inserted after its first three lines (so body lines start at 4).
std::string instance(const std::string& body, const std::string& name = "VI_1",
                     const std::string& vips = "    10.0.0.1/24\n", int vrid = 51) {
  return "vrrp_instance " + name + " {\n  interface eth0\n  virtual_router_id " +
         std::to_string(vrid) + "\n" + body + "\n  virtual_ipaddress {\n" + vips + "  }\n}\n";
}

const VrrpInstance& only_instance(const Config& config) {
  EXPECT_EQ(config.vrrp.instances.size(), 1U);
  return config.vrrp.instances.front();
}

// --- Defaults. -------------------------------------------------------------------------------

TEST(VrrpInstance, DefaultsAreKeepalivedsDefaults) {
  std::unique_ptr<Parsed> p;
  const auto& vi = only_instance(parse_ok(p, instance("")));
  EXPECT_EQ(vi.name, "VI_1");
  EXPECT_EQ(vi.state, VrrpInitialState::kBackup);
  EXPECT_EQ(vi.interface, "eth0");
  EXPECT_EQ(vi.virtual_router_id, 51);
  EXPECT_EQ(vi.priority, 100);
  EXPECT_EQ(vi.version, 2);
  EXPECT_EQ(vi.advert_int, 1s);
  EXPECT_EQ(vi.family, AddressFamily::kIpv4);
  EXPECT_FALSE(vi.nopreempt);
  EXPECT_EQ(vi.preempt_delay, 0s);
  EXPECT_EQ(vi.auth_type, VrrpAuthType::kNone);
  EXPECT_EQ(vi.mcast_dst_ip->to_string(), "224.0.0.18");
  EXPECT_EQ(vi.garp_master_delay, 5s);
  EXPECT_EQ(vi.garp_master_repeat, 5U);
  EXPECT_EQ(vi.garp_master_refresh, 0s);
  EXPECT_EQ(vi.garp_master_refresh_repeat, 1U);
  EXPECT_EQ(vi.garp_lower_prio_delay, 5s);
  EXPECT_EQ(vi.garp_lower_prio_repeat, 5U);
  EXPECT_EQ(vi.lower_prio_no_advert, false);
  EXPECT_EQ(vi.higher_prio_send_advert, false);
  EXPECT_EQ(vi.strict_mode, false);
  EXPECT_EQ(vi.accept, true);
  EXPECT_EQ(vi.skip_check_adv_addr, false);
  EXPECT_EQ(vi.check_unicast_src, false);
  EXPECT_EQ(vi.down_timer_adverts, 3U);
  EXPECT_EQ(vi.notify.smtp_alert, false);
  EXPECT_EQ(vi.notify.notify_priority_changes, false);
}

TEST(VrrpInstance, StateMasterWithoutPriorityIsTheAddressOwner) {
  // keepalived 2.2.7's config dump shows "Priority = 255" for this instance.
  std::unique_ptr<Parsed> p;
  EXPECT_EQ(only_instance(parse_ok(p, instance("  state MASTER"))).priority, 255);
  EXPECT_EQ(only_instance(parse_ok(p, instance("  state MASTER\n  priority 150"))).priority, 150);
}

TEST(VrrpInstance, DefaultsComeFromGlobalDefs) {
  std::unique_ptr<Parsed> p;
  const auto& vi = only_instance(parse_ok(p, R"(global_defs {
  vrrp_version 3
  vrrp_mcast_group4 224.0.0.19
  vrrp_garp_master_delay 7
  vrrp_garp_master_repeat 2
  vrrp_garp_master_refresh 30
  vrrp_garp_master_refresh_repeat 4
  vrrp_lower_prio_no_advert
  vrrp_higher_prio_send_advert
  vrrp_strict
  vrrp_check_unicast_src
  vrrp_skip_check_adv_addr
  vrrp_notify_priority_changes
  smtp_alert
  smtp_alert_vrrp off
}
)" + instance("")));
  EXPECT_EQ(vi.version, 3);
  EXPECT_EQ(vi.mcast_dst_ip->to_string(), "224.0.0.19");
  EXPECT_EQ(vi.garp_master_delay, 7s);
  EXPECT_EQ(vi.garp_master_repeat, 2U);
  EXPECT_EQ(vi.garp_master_refresh, 30s);
  EXPECT_EQ(vi.garp_master_refresh_repeat, 4U);
  // The lower-priority GARP settings default to the master ones.
  EXPECT_EQ(vi.garp_lower_prio_delay, 7s);
  EXPECT_EQ(vi.garp_lower_prio_repeat, 2U);
  EXPECT_EQ(vi.lower_prio_no_advert, true);
  EXPECT_EQ(vi.higher_prio_send_advert, true);
  EXPECT_EQ(vi.strict_mode, true);
  EXPECT_EQ(vi.accept, false);  // strict mode turns accept mode off
  EXPECT_EQ(vi.check_unicast_src, true);
  EXPECT_EQ(vi.skip_check_adv_addr, true);
  EXPECT_EQ(vi.notify.notify_priority_changes, true);
  EXPECT_EQ(vi.notify.smtp_alert, false);  // smtp_alert_vrrp wins over smtp_alert
}

// keepalived 2.2.7 vrrp.c: notify_priority_changes comes from the instance, else its sync
// group, else global_defs; none of the three warns any more.
TEST(VrrpInstance, NotifyPriorityChangesFallsBackToTheSyncGroupThenGlobal) {
  std::unique_ptr<Parsed> p;
  const auto& config =
      parse_ok(p, "global_defs {\n  vrrp_notify_priority_changes\n}\n" +
                      instance("  notify_priority_changes off", "VI_1", "    10.0.0.1\n", 51) +
                      instance("", "VI_2", "    10.0.0.2\n", 52) +
                      instance("", "VI_3", "    10.0.0.3\n", 53) +
                      instance("", "VI_4", "    10.0.0.4\n", 54) +
                      "vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n"
                      "  notify_priority_changes off\n}\n"
                      "vrrp_sync_group H {\n  group {\n    VI_3\n    VI_4\n  }\n}\n");
  EXPECT_EQ(warnings(*p), Strings{});
  const auto& vis = config.vrrp.instances;
  EXPECT_EQ(vis.at(0).notify.notify_priority_changes, false);  // its own
  EXPECT_EQ(vis.at(1).notify.notify_priority_changes, false);  // group G's
  EXPECT_EQ(vis.at(2).notify.notify_priority_changes, true);   // global (H sets nothing)
  EXPECT_EQ(config.vrrp.sync_groups.at(0).notify.notify_priority_changes, false);
}

// keepalived: lower_prio_no_advert "defaults to false, unless strict_mode is set".
TEST(VrrpInstance, StrictModeTurnsLowerPrioNoAdvertOnUnlessSetOff) {
  std::unique_ptr<Parsed> p1;
  EXPECT_EQ(only_instance(parse_ok(p1, instance("  strict_mode"))).lower_prio_no_advert, true);
  std::unique_ptr<Parsed> p2;
  EXPECT_EQ(only_instance(parse_ok(p2, instance("  strict_mode\n  lower_prio_no_advert off")))
                .lower_prio_no_advert,
            false);
  std::unique_ptr<Parsed> p3;
  EXPECT_EQ(only_instance(parse_ok(p3, instance(""))).lower_prio_no_advert, false);
}

TEST(VrrpInstance, InstanceSettingsOverrideGlobalDefs) {
  std::unique_ptr<Parsed> p;
  const auto& vi = only_instance(parse_ok(p, R"(global_defs {
  vrrp_garp_master_delay 7
  vrrp_strict
  vrrp_version 3
}
)" + instance(R"(  garp_master_delay 1
  garp_lower_prio_delay 2
  strict_mode off
  version 2
  lower_prio_no_advert
  smtp_alert yes)")));
  EXPECT_EQ(vi.garp_master_delay, 1s);
  EXPECT_EQ(vi.garp_lower_prio_delay, 2s);
  EXPECT_EQ(vi.strict_mode, false);
  EXPECT_EQ(vi.accept, true);
  EXPECT_EQ(vi.version, 2);
  EXPECT_EQ(vi.lower_prio_no_advert, true);
  EXPECT_EQ(vi.notify.smtp_alert, true);
}

TEST(VrrpInstance, FamilyComesFromTheVirtualAddresses) {
  std::unique_ptr<Parsed> p;
  const auto& vi = only_instance(parse_ok(p, instance("", "VI_6", "    fd00::1/64\n")));
  EXPECT_EQ(vi.family, AddressFamily::kIpv6);
  EXPECT_EQ(vi.version, 3);  // IPv6 always runs VRRPv3
  EXPECT_EQ(vi.mcast_dst_ip->to_string(), "ff02::12");
  // Excluded addresses may be of the other family.
  const auto& mixed = only_instance(parse_ok(
      p, instance("  virtual_ipaddress_excluded {\n    fd00::5\n  }", "VI_M", "    10.0.0.1\n")));
  EXPECT_EQ(mixed.family, AddressFamily::kIpv4);
  ASSERT_EQ(mixed.excluded_addresses.size(), 1U);
  EXPECT_EQ(mixed.excluded_addresses[0].prefix.to_string(), "fd00::5/128");
}

// --- Every keyword. --------------------------------------------------------------------------

TEST(VrrpInstance, ReadsEveryImplementedKeyword) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, R"(vrrp_script chk_http {
  script "/usr/local/bin/check http"
}
track_file tf {
  file /run/vigil/weight
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 0.05
  version 3
  preempt_delay 2.5
  nopreempt
  preempt
  mcast_src_ip 10.0.0.2
  unicast_peer {
    10.0.0.3 min_ttl 250 max_ttl 255
    10.0.0.4
  }
  unicast_ttl 10
  unicast_fault_no_peer
  track_src_ip
  v3_checksum_as_v2
  virtual_ipaddress {
    10.0.0.10/24 brd 10.0.0.255 dev eth1 scope link label eth1:1 no_track home
    10.0.0.11
  }
  virtual_ipaddress_excluded {
    10.0.1.1/24 dev eth1
  }
  track_interface {
    eth1
    eth2 weight -20 reverse
  }
  track_script {
    chk_http weight 10 noreverse
  }
  track_file {
    tf weight -3 reverse
  }
  dont_track_primary
  notify_master "/etc/vigil/notify.sh master" root wheel
  notify_backup /etc/vigil/backup.sh
  notify_fault '/etc/vigil/fault.sh "a b"'
  notify_stop /etc/vigil/stop.sh
  notify /etc/vigil/any.sh
  notify_master_rx_lower_pri /etc/vigil/lower.sh
  notify_deleted
  notify_priority_changes
  smtp_alert
  garp_master_delay 3
  garp_master_repeat 2
  garp_master_refresh 60
  garp_master_refresh_repeat 3
  garp_lower_prio_delay 4
  garp_lower_prio_repeat 0
  lower_prio_no_advert
  higher_prio_send_advert on
  no_accept
  skip_check_adv_addr off
  check_unicast_src
  strict_mode
  down_timer_adverts 4
  promote_secondaries
  debug 2
}
)");
  const auto& vi = only_instance(config);
  EXPECT_EQ(vi.state, VrrpInitialState::kBackup);
  EXPECT_EQ(vi.priority, 150);
  EXPECT_EQ(vi.advert_int, 50ms);  // exact: 0.05 s is 50,000 us
  EXPECT_EQ(vi.version, 3);
  EXPECT_EQ(vi.preempt_delay, 2500ms);
  EXPECT_FALSE(vi.nopreempt);  // `preempt` after `nopreempt`
  EXPECT_EQ(vi.source_address->to_string(), "10.0.0.2");
  ASSERT_EQ(vi.unicast_peers.size(), 2U);
  EXPECT_EQ(vi.unicast_peers[0].address.to_string(), "10.0.0.3");
  EXPECT_EQ(vi.unicast_peers[0].min_ttl, 250);
  EXPECT_EQ(vi.unicast_peers[0].max_ttl, 255);
  EXPECT_FALSE(vi.unicast_peers[1].min_ttl);
  EXPECT_EQ(vi.unicast_ttl, 10);
  EXPECT_TRUE(vi.unicast_fault_no_peer);
  EXPECT_TRUE(vi.track_src_ip);
  EXPECT_TRUE(vi.v3_checksum_as_v2);
  ASSERT_EQ(vi.virtual_addresses.size(), 2U);
  const auto& vip = vi.virtual_addresses[0];
  EXPECT_EQ(vip.prefix.to_string(), "10.0.0.10/24");
  EXPECT_EQ(vip.broadcast->to_string(), "10.0.0.255");
  EXPECT_EQ(vip.dev, "eth1");
  EXPECT_EQ(vip.scope, kScopeLink);
  EXPECT_EQ(vip.label, "eth1:1");
  EXPECT_TRUE(vip.no_track);
  EXPECT_TRUE(vip.home);
  EXPECT_EQ(vi.virtual_addresses[1].prefix.to_string(), "10.0.0.11/32");
  EXPECT_EQ(vi.virtual_addresses[1].scope, kScopeGlobal);
  ASSERT_EQ(vi.excluded_addresses.size(), 1U);
  EXPECT_EQ(vi.excluded_addresses[0].dev, "eth1");
  ASSERT_EQ(vi.track.interfaces.size(), 2U);
  EXPECT_EQ(vi.track.interfaces[0].name, "eth1");
  EXPECT_EQ(vi.track.interfaces[1].weight, -20);
  EXPECT_TRUE(vi.track.interfaces[1].reverse);
  ASSERT_EQ(vi.track.scripts.size(), 1U);
  EXPECT_EQ(vi.track.scripts[0].weight, 10);
  EXPECT_FALSE(vi.track.scripts[0].reverse);
  ASSERT_EQ(vi.track.files.size(), 1U);
  EXPECT_EQ(vi.track.files[0].weight, -3);
  EXPECT_TRUE(vi.track.files[0].reverse);
  EXPECT_TRUE(vi.dont_track_primary);
  ASSERT_TRUE(vi.notify.master);
  EXPECT_EQ(vi.notify.master->command.argv, (Strings{"/etc/vigil/notify.sh", "master"}));
  ASSERT_TRUE(vi.notify.master->run_as);
  EXPECT_EQ(vi.notify.master->run_as->user, "root");
  EXPECT_EQ(vi.notify.master->run_as->group, "wheel");
  EXPECT_EQ(vi.notify.backup->command.argv, (Strings{"/etc/vigil/backup.sh"}));
  EXPECT_FALSE(vi.notify.backup->run_as);
  EXPECT_EQ(vi.notify.fault->command.argv, (Strings{"/etc/vigil/fault.sh", "a b"}));
  EXPECT_EQ(vi.notify.stop->command.argv, (Strings{"/etc/vigil/stop.sh"}));
  EXPECT_EQ(vi.notify.any->command.argv, (Strings{"/etc/vigil/any.sh"}));
  EXPECT_EQ(vi.notify_master_rx_lower_pri->command.argv, (Strings{"/etc/vigil/lower.sh"}));
  EXPECT_TRUE(vi.notify_deleted);
  EXPECT_FALSE(vi.notify_deleted_script);
  EXPECT_EQ(vi.notify.notify_priority_changes, true);
  EXPECT_EQ(vi.notify.smtp_alert, true);
  EXPECT_EQ(vi.garp_master_delay, 3s);
  EXPECT_EQ(vi.garp_master_repeat, 2U);
  EXPECT_EQ(vi.garp_master_refresh, 60s);
  EXPECT_EQ(vi.garp_master_refresh_repeat, 3U);
  EXPECT_EQ(vi.garp_lower_prio_delay, 4s);
  EXPECT_EQ(vi.garp_lower_prio_repeat, 0U);
  EXPECT_EQ(vi.lower_prio_no_advert, true);
  EXPECT_EQ(vi.higher_prio_send_advert, true);
  EXPECT_EQ(vi.accept, false);
  EXPECT_EQ(vi.skip_check_adv_addr, false);
  EXPECT_EQ(vi.check_unicast_src, true);
  EXPECT_EQ(vi.strict_mode, true);
  EXPECT_EQ(vi.down_timer_adverts, 4U);
  EXPECT_TRUE(vi.promote_secondaries);
  EXPECT_EQ(vi.debug, 2);
}

TEST(VrrpInstance, Authentication) {
  std::unique_ptr<Parsed> p;
  const auto& pass = only_instance(parse_ok(p, instance(R"(  authentication {
    auth_type PASS
    auth_pass 12345678
  })")));
  EXPECT_EQ(pass.auth_type, VrrpAuthType::kPass);
  EXPECT_EQ(pass.auth_pass, "12345678");
  const auto& ah = only_instance(
      parse_ok(p, instance("  authentication {\n    auth_type AH\n    auth_pass s3cret\n  }")));
  EXPECT_EQ(ah.auth_type, VrrpAuthType::kAh);
  EXPECT_EQ(ah.auth_pass, "s3cret");
}

TEST(VrrpInstance, Ipv6AddressOptions) {
  std::unique_ptr<Parsed> p;
  const auto& vi = only_instance(parse_ok(p, instance("", "VI_1",
                                                      "    fd00::1/64 preferred_lft forever -nodad "
                                                      "mngtmpaddr noprefixroute autojoin\n"
                                                      "    fd00::2/64 preferred_lft 30 scope 200 "
                                                      "peer fd00::9\n")));
  ASSERT_EQ(vi.virtual_addresses.size(), 2U);
  const auto& a = vi.virtual_addresses[0];
  EXPECT_EQ(a.preferred_lft, kLifetimeForever);
  EXPECT_TRUE(a.nodad);
  EXPECT_TRUE(a.mngtmpaddr);
  EXPECT_TRUE(a.noprefixroute);
  EXPECT_TRUE(a.autojoin);
  const auto& b = vi.virtual_addresses[1];
  EXPECT_EQ(b.preferred_lft, 30U);
  EXPECT_EQ(b.scope, kScopeSite);
  EXPECT_EQ(b.peer->to_string(), "fd00::9");
}

TEST(VrrpScript, DefaultsAndEveryKeyword) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, R"(vrrp_script plain {
  script /bin/true
}
vrrp_script full {
  script "/usr/bin/check --port 80 'a b'"
  interval 5
  timeout 2
  weight -20 reverse
  rise 3
  fall 4
  user nobody nogroup
  init_fail
}
)");
  ASSERT_EQ(config.vrrp.scripts.size(), 2U);
  const auto& plain = config.vrrp.scripts[0];
  EXPECT_EQ(plain.name, "plain");
  EXPECT_EQ(plain.script.argv, (Strings{"/bin/true"}));
  EXPECT_EQ(plain.interval, 1s);
  EXPECT_EQ(plain.timeout, 1s);  // keepalived: the interval when no timeout is set
  EXPECT_EQ(plain.weight, 0);
  EXPECT_EQ(plain.rise, 1U);
  EXPECT_EQ(plain.fall, 1U);
  EXPECT_FALSE(plain.user);
  EXPECT_FALSE(plain.init_fail);
  const auto& full = config.vrrp.scripts[1];
  EXPECT_EQ(full.script.argv, (Strings{"/usr/bin/check", "--port", "80", "a b"}));
  EXPECT_EQ(full.interval, 5s);
  EXPECT_EQ(full.timeout, 2s);
  EXPECT_EQ(full.weight, -20);
  EXPECT_TRUE(full.weight_reverse);
  EXPECT_EQ(full.rise, 3U);
  EXPECT_EQ(full.fall, 4U);
  ASSERT_TRUE(full.user);
  EXPECT_EQ(full.user->user, "nobody");
  EXPECT_EQ(full.user->group, "nogroup");
  EXPECT_TRUE(full.init_fail);
}

TEST(VrrpScript, WordsAfterAnUnquotedScriptAreIgnoredWithAWarning) {
  // keepalived 2.2.7 runs only '/bin/echo' here (its config dump shows Command = '/bin/echo').
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, "vrrp_script s {\n  script /bin/echo a b\n}\n");
  EXPECT_EQ(config.vrrp.scripts.at(0).script.argv, (Strings{"/bin/echo"}));
  EXPECT_EQ(warnings(*p),
            (Strings{"2:20: vrrp_script s: script: 'a' and later words are ignored (as keepalived "
                     "does); quote the whole command line to pass arguments",
                     "1:13: vrrp_script s is not tracked by any vrrp_instance or vrrp_sync_group: "
                     "it will not run"}));
}

TEST(TrackFile, DefaultsAndEveryKeyword) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, R"(track_file a {
  file /run/a
}
vrrp_track_file b {
  file "/run/b file"
  weight -254 reverse
  init_file 7 overwrite
}
track_file c {
  file /run/c
  init_file
}
track_file d {
  file /run/d
  init_file overwrite
}
)");
  ASSERT_EQ(config.vrrp.track_files.size(), 4U);
  const auto& a = config.vrrp.track_files[0];
  EXPECT_EQ(a.path, "/run/a");
  EXPECT_EQ(a.weight, 1);
  EXPECT_FALSE(a.init_value);
  const auto& b = config.vrrp.track_files[1];
  EXPECT_EQ(b.path, "/run/b file");
  EXPECT_EQ(b.weight, -254);
  EXPECT_TRUE(b.weight_reverse);
  EXPECT_EQ(b.init_value, 7);
  EXPECT_TRUE(b.init_overwrite);
  EXPECT_EQ(config.vrrp.track_files[2].init_value, 0);
  EXPECT_FALSE(config.vrrp.track_files[2].init_overwrite);
  EXPECT_EQ(config.vrrp.track_files[3].init_value, 0);
  EXPECT_TRUE(config.vrrp.track_files[3].init_overwrite);
}

TEST(VrrpSyncGroup, GroupBlockForms) {
  std::unique_ptr<Parsed> p;
  const std::string four = instance("", "VI_1") + instance("", "VI_2", "    10.0.0.2\n", 52) +
                           instance("", "VI_3", "    10.0.0.3\n", 53) +
                           instance("", "VI_4", "    10.0.0.4\n", 54);
  // Several names on one line (keepalived takes every word), braces on the keyword's line or not.
  const auto& config = parse_ok(p,
                                "vrrp_sync_group G1 { group { VI_1 VI_2 } }\n"
                                "vrrp_sync_group G2 {\n  group {\n    VI_3\n    VI_4\n  }\n"
                                "  notify_master \"/bin/g master\"\n  smtp_alert\n"
                                "  sync_group_tracking_weight\n"
                                "  track_interface {\n    eth1 weight 5\n  }\n}\n" +
                                    four);
  ASSERT_EQ(config.vrrp.sync_groups.size(), 2U);
  const auto& g1 = config.vrrp.sync_groups[0];
  EXPECT_EQ(g1.name, "G1");
  ASSERT_EQ(g1.members.size(), 2U);
  EXPECT_EQ(g1.members[0].name, "VI_1");
  EXPECT_EQ(g1.members[1].name, "VI_2");
  EXPECT_EQ(g1.notify.smtp_alert, false);
  const auto& g2 = config.vrrp.sync_groups[1];
  ASSERT_EQ(g2.members.size(), 2U);
  EXPECT_EQ(g2.members[1].name, "VI_4");
  EXPECT_EQ(g2.notify.master->command.argv, (Strings{"/bin/g", "master"}));
  EXPECT_EQ(g2.notify.smtp_alert, true);
  EXPECT_TRUE(g2.sync_group_tracking_weight);
  ASSERT_EQ(g2.track.interfaces.size(), 1U);
  EXPECT_EQ(g2.track.interfaces[0].weight, 5);
}

TEST(VrrpInstance, NotifyScriptsFollowKeepalivedsWordRules) {
  // SCRIPT [username [groupname]]: the first word is the command line, quoted when it has
  // arguments; single quotes and backslashes work as in a shell.
  auto p = parse(instance(R"(  notify_master '/bin/a "x y"' nobody nogroup extra
  notify_backup /bin/b\ c
  notify_deleted "/bin/d deleted" root)"));
  ASSERT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  const auto& vi = p->config.vrrp.instances.at(0);
  EXPECT_EQ(vi.notify.master->command.argv, (Strings{"/bin/a", "x y"}));
  EXPECT_EQ(vi.notify.master->run_as->user, "nobody");
  EXPECT_EQ(vi.notify.master->run_as->group, "nogroup");
  EXPECT_EQ(vi.notify.backup->command.argv, (Strings{"/bin/b", "c"}));
  EXPECT_TRUE(vi.notify_deleted);
  EXPECT_EQ(vi.notify_deleted_script->command.argv, (Strings{"/bin/d", "deleted"}));
  EXPECT_EQ(warnings(*p),
            (Strings{"4:47: vrrp_instance VI_1: notify_master: 'extra' and later words are "
                     "ignored: the form is SCRIPT [username [groupname]]; quote the command line "
                     "to pass arguments"}));
}

TEST(VrrpInstance, GarpMasterRefreshRepeatIsImplementedSoItDoesNotWarn) {
  auto p = parse("global_defs {\n  vrrp_garp_master_refresh_repeat 2\n}\n" +
                 instance("  garp_master_refresh 10\n  garp_master_refresh_repeat 3"));
  ASSERT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  EXPECT_EQ(warnings(*p), Strings{});
  EXPECT_EQ(only_instance(p->config).garp_master_refresh_repeat, 3U);
}

TEST(GarpGroup, ReadsIntervalsAndInterfaces) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, R"(global_defs {
  vrrp_garp_interval 0.001
  vrrp_gna_interval 0.000001
}
garp_group {
  garp_interval 0.01
  interface eth1
}
garp_group {
  gna_interval 2147.483647
  interfaces {
    eth2 eth3
    eth4
  }
}
garp_group {
  garp_interval 0
  interface eth5
  interfaces { eth6 }
}
)" + instance(""));
  EXPECT_EQ(config.global.vrrp_garp_interval, 1ms);
  EXPECT_EQ(config.global.vrrp_gna_interval, 1us);
  const auto& groups = config.vrrp.garp_groups;
  ASSERT_EQ(groups.size(), 3U);
  EXPECT_EQ(groups[0].garp_interval, 10ms);
  EXPECT_FALSE(groups[0].gna_interval);
  ASSERT_EQ(groups[0].interfaces.size(), 1U);
  EXPECT_EQ(groups[0].interfaces[0].name, "eth1");
  EXPECT_FALSE(groups[1].garp_interval);
  EXPECT_EQ(groups[1].gna_interval, Duration{2147483647});
  Strings names;
  for (const auto& interface : groups[1].interfaces)
    names.push_back(interface.name);
  EXPECT_EQ(names, (Strings{"eth2", "eth3", "eth4"}));
  // An explicit 0 is a setting (keepalived keeps the group): no spacing on eth5 and eth6.
  EXPECT_EQ(groups[2].garp_interval, 0s);
  EXPECT_EQ(groups[2].interfaces.size(), 2U);

  const auto dumped = nlohmann::json::parse(to_json_text(config));
  EXPECT_EQ(dumped["garp_group"][1]["gna_interval"], 2147.483647);
  EXPECT_EQ(dumped["garp_group"][1]["garp_interval"], nullptr);
  EXPECT_EQ(dumped["garp_group"][1]["interfaces"], nlohmann::json({"eth2", "eth3", "eth4"}));
}

TEST(GarpGroup, WithoutInterfacesItWarns) {
  auto p = parse("garp_group {\n  garp_interval 0.01\n}\n" + instance(""));
  EXPECT_TRUE(p->ok());
  EXPECT_EQ(warnings(*p),
            (Strings{"1:1: garp_group: no interface or interfaces given: it applies to nothing"}));
}

TEST(VrrpInstance, UnimplementedKeepalivedKeywordsWarn) {
  auto p = parse(instance("  kernel_rx_buf_size 4096\n  use_ipvlan\n  vrf red"));
  EXPECT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  EXPECT_EQ(warnings(*p),
            (Strings{"4:3: 'kernel_rx_buf_size' is a keepalived keyword vigil does not implement "
                     "yet: accepted, has no effect",
                     "5:3: 'use_ipvlan' is a keepalived keyword vigil does not implement yet: "
                     "accepted, has no effect",
                     "6:3: 'vrf' is a keepalived keyword vigil does not implement yet: accepted, "
                     "has no effect"}));
}

TEST(VrrpInstance, UseVmac) {
  struct Case {
    std::string label;
    std::string lines;
    std::string name;
    bool xmit_base;
    Strings warnings;
    Strings errors;
  };
  const std::vector<Case> cases = {
      {"default name", "  use_vmac", "", false, {}, {}},
      {"named, xmit_base", "  use_vmac vmac51\n  vmac_xmit_base", "vmac51", true, {}, {}},
      {"a MAC of one's own is ignored",
       "  use_vmac vmac51 02:00:00:00:00:01",
       "vmac51",
       false,
       {"4:19: vrrp_instance VI_1: 02:00:00:00:00:01: a VMAC address of one's own is a keepalived "
        "feature vigil does not implement yet; the RFC 5798 virtual MAC is used"},
       {}},
      {"name too long",
       "  use_vmac vrrp-name-too-long",
       "",
       false,
       {},
       {"4:12: vrrp_instance VI_1: VMAC interface name 'vrrp-name-too-long' too long or invalid "
        "characters"}},
  };
  for (const auto& c : cases) {
    auto p = parse(instance(c.lines));
    EXPECT_EQ(warnings(*p), c.warnings) << c.label;
    EXPECT_EQ(errors(*p), c.errors) << c.label;
    if (!c.errors.empty()) continue;
    const auto& vi = p->config.vrrp.instances.at(0);
    EXPECT_TRUE(vi.use_vmac) << c.label;
    EXPECT_EQ(vi.vmac_interface, c.name) << c.label;
    EXPECT_EQ(vi.vmac_xmit_base, c.xmit_base) << c.label;
  }
}

// --- Errors found while reading a line (phase one). -------------------------------------------

struct ErrorCase {
  const char* what;
  std::string config;
  Strings expected;
};

std::ostream& operator<<(std::ostream& out, const ErrorCase& c) {
  return out << c.what;
}

class VrrpErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(VrrpErrors, ReportsEveryErrorAtItsToken) {
  auto p = parse(GetParam().config);
  EXPECT_EQ(errors(*p), GetParam().expected) << GetParam().what;
}

// Lines of instance(body): 1 vrrp_instance, 2 interface, 3 virtual_router_id, 4.. the body,
// then virtual_ipaddress (its first address one line below).
INSTANTIATE_TEST_SUITE_P(
    LineChecks, VrrpErrors,
    ::testing::Values(
        ErrorCase{"vrid range",
                  instance("  virtual_router_id 300"),
                  {"4:21: vrrp_instance VI_1: virtual_router_id 300 is out of range [1, 255]"}},
        ErrorCase{"priority range",
                  instance("  priority 0"),
                  {"4:12: vrrp_instance VI_1: priority 0 is out of range [1, 255]"}},
        ErrorCase{"priority not a number",
                  instance("  priority high"),
                  {"4:12: vrrp_instance VI_1: priority 'high' is not an integer"}},
        ErrorCase{"advert_int range",
                  instance("  advert_int 0"),
                  {"4:14: vrrp_instance VI_1: advert_int 0 s is out of range [0.01, 255]"}},
        ErrorCase{"advert_int finer than a microsecond",
                  instance("  advert_int 1.0000001"),
                  {"4:14: vrrp_instance VI_1: advert_int '1.0000001' is not a time in seconds "
                   "(at most 6 decimals)"}},
        ErrorCase{"version range",
                  instance("  version 4"),
                  {"4:11: vrrp_instance VI_1: version 4 is out of range [2, 3]"}},
        ErrorCase{"state is case-sensitive",
                  instance("  state master"),
                  {"4:9: vrrp_instance VI_1: state 'master' is not MASTER or BACKUP"}},
        ErrorCase{"state MASTER then BACKUP",
                  instance("  state MASTER\n  state BACKUP"),
                  {"5:9: vrrp_instance VI_1: state MASTER was given earlier; keepalived ignores "
                   "the later BACKUP"}},
        ErrorCase{"preempt_delay range",
                  instance("  preempt_delay 1001"),
                  {"4:17: vrrp_instance VI_1: preempt_delay 1001 s is out of range [0, 1000]"}},
        ErrorCase{"nopreempt takes no argument",
                  instance("  nopreempt yes"),
                  {"4:13: vrrp_instance VI_1: 'nopreempt' takes 0 arguments, got 1"}},
        ErrorCase{"bad boolean",
                  instance("  strict_mode maybe"),
                  {"4:15: vrrp_instance VI_1: strict_mode 'maybe' is not one of "
                   "on|off|true|false|yes|no"}},
        ErrorCase{"garp_master_delay is whole seconds",
                  instance("  garp_master_delay 1.5"),
                  {"4:21: vrrp_instance VI_1: garp_master_delay '1.5' is not an integer"}},
        ErrorCase{"garp_master_repeat at least 1",
                  instance("  garp_master_repeat 0"),
                  {"4:22: vrrp_instance VI_1: garp_master_repeat 0 is out of range [1, "
                   "2147483647]"}},
        ErrorCase{"down_timer_adverts range",
                  instance("  down_timer_adverts 101"),
                  {"4:22: vrrp_instance VI_1: down_timer_adverts 101 is out of range [1, 100]"}},
        ErrorCase{"mcast_dst_ip not multicast",
                  instance("  mcast_dst_ip 10.0.0.9"),
                  {"4:16: vrrp_instance VI_1: mcast_dst_ip 10.0.0.9 is not a multicast address"}},
        ErrorCase{"bad source address",
                  instance("  mcast_src_ip 10.0.0.300"),
                  {"4:16: vrrp_instance VI_1: mcast_src_ip '10.0.0.300' is not an IP address"}},
        ErrorCase{"did you mean",
                  instance("  prority 100"),
                  {"4:3: unknown keyword 'prority'; did you mean 'priority'?"}},
        ErrorCase{"deprecated keyword keepalived rejects",
                  instance("  linkbeat_use_polling"),
                  {"4:3: vrrp_instance VI_1: 'linkbeat_use_polling' is deprecated and keepalived "
                   "2.2.7 rejects it: use a linkbeat_interfaces block"}},
        ErrorCase{"instance needs a name",
                  "vrrp_instance {\n  priority 100\n}\n",
                  {"1:1: 'vrrp_instance' takes exactly one name, got 0 words"}},
        ErrorCase{"auth_type",
                  instance("  authentication {\n    auth_type MD5\n    auth_pass x\n  }"),
                  {"5:15: vrrp_instance VI_1: auth_type 'MD5' is not PASS or AH"}},
        ErrorCase{"auth_pass longer than 8 characters",
                  instance("  authentication {\n    auth_type PASS\n    auth_pass 123456789\n  }"),
                  {"6:15: vrrp_instance VI_1: auth_pass is longer than 8 characters (keepalived "
                   "would use only '12345678')"}},
        ErrorCase{"track_interface weight range",
                  instance("  track_interface {\n    eth1 weight 254\n  }"),
                  {"5:17: vrrp_instance VI_1: track_interface eth1 weight 254 is out of range "
                   "[-253, 253]"}},
        ErrorCase{"track_interface has no noreverse",
                  instance("  track_interface {\n    eth1 weight 3 noreverse\n  }"),
                  {"5:19: vrrp_instance VI_1: track_interface eth1: unexpected 'noreverse' after "
                   "the weight (expected 'reverse')"}},
        ErrorCase{"track_script reverse needs a weight",
                  instance("  track_script {\n    chk reverse\n  }"),
                  {"5:9: vrrp_instance VI_1: track_script chk: unexpected 'reverse' (expected: "
                   "NAME [weight N [reverse|noreverse]])"}},
        ErrorCase{"track_file weight range",
                  instance("  track_file {\n    tf weight 255\n  }"),
                  {"5:15: vrrp_instance VI_1: track_file tf weight 255 is out of range [-254, "
                   "254]"}},
        ErrorCase{"two addresses on one line",
                  instance("", "VI_1", "    10.0.0.1/24 10.0.0.2/24\n"),
                  {"6:17: vrrp_instance VI_1: virtual_ipaddress: one address per line; "
                   "'10.0.0.2/24' is a second address on the line of 10.0.0.1/24"}},
        ErrorCase{"address option did you mean",
                  instance("", "VI_1", "    10.0.0.1/24 lable eth0:1\n"),
                  {"6:17: vrrp_instance VI_1: virtual_ipaddress 10.0.0.1/24: unknown option "
                   "'lable'; did you mean 'label'?"}},
        ErrorCase{"address option without value",
                  instance("", "VI_1", "    10.0.0.1/24 dev\n"),
                  {"6:17: vrrp_instance VI_1: virtual_ipaddress 10.0.0.1/24: 'dev' needs a "
                   "value"}},
        ErrorCase{"prefix length",
                  instance("", "VI_1", "    10.0.0.1/33\n"),
                  {"6:5: vrrp_instance VI_1: virtual_ipaddress: prefix length '33' of "
                   "10.0.0.1/33 is out of range [0, 32]"}},
        ErrorCase{"bad address",
                  instance("", "VI_1", "    10.0.0.256\n    10.0.0.1\n"),
                  {"6:5: vrrp_instance VI_1: virtual_ipaddress: '10.0.0.256' is not an IP "
                   "address"}},
        ErrorCase{"scope",
                  instance("", "VI_1", "    10.0.0.1 scope galaxy\n"),
                  {"6:20: vrrp_instance VI_1: virtual_ipaddress 10.0.0.1: unknown scope "
                   "'galaxy' (expected global, site, link, host, nowhere or 0-255)"}},
        ErrorCase{"broadcast of the wrong family",
                  instance("", "VI_1", "    10.0.0.1/24 brd fd00::1\n"),
                  {"6:21: vrrp_instance VI_1: virtual_ipaddress 10.0.0.1/24: brd 'fd00::1' is "
                   "not an IPv4 address"}},
        ErrorCase{"broadcast for IPv6",
                  instance("", "VI_1", "    fd00::1/64 brd fd00::ff\n"),
                  {"6:16: vrrp_instance VI_1: virtual_ipaddress fd00::1/64: brd is for IPv4 "
                   "addresses only"}},
        ErrorCase{"peer of the wrong family",
                  instance("", "VI_1", "    10.0.0.1 peer fd00::1\n"),
                  {"6:19: vrrp_instance VI_1: virtual_ipaddress 10.0.0.1: peer 'fd00::1' is not "
                   "an IPv4 address"}},
        ErrorCase{"preferred_lft value",
                  instance("", "VI_1", "    fd00::1 preferred_lft always\n"),
                  {"6:27: vrrp_instance VI_1: virtual_ipaddress fd00::1: preferred_lft 'always' "
                   "is not a number of seconds or 'forever'"}},
        ErrorCase{"two unicast peers on one line",
                  instance("  unicast_peer {\n    10.0.0.7 10.0.0.8\n  }"),
                  {"5:14: vrrp_instance VI_1: unicast_peer: one address per line; '10.0.0.8' is "
                   "a second address on this line"}},
        ErrorCase{"unicast peer ttl order",
                  instance("  unicast_peer {\n    10.0.0.7 min_ttl 30 max_ttl 20\n  }"),
                  {"5:5: vrrp_instance VI_1: unicast_peer 10.0.0.7: min_ttl 30 is above max_ttl "
                   "20: every advert would be dropped"}},
        ErrorCase{"unicast peer ttl range",
                  instance("  unicast_peer {\n    10.0.0.7 max_ttl 256\n  }"),
                  {"5:22: vrrp_instance VI_1: unicast_peer 10.0.0.7 max_ttl 256 is out of range "
                   "[0, 255]"}},
        ErrorCase{"vrrp_script weight range",
                  "vrrp_script chk {\n  script /bin/true\n  weight 254\n}\n",
                  {"3:10: vrrp_script chk: weight 254 is out of range [-253, 253]"}},
        ErrorCase{"vrrp_script interval whole seconds",
                  "vrrp_script chk {\n  script /bin/true\n  interval 0.5\n}\n",
                  {"3:12: vrrp_script chk: interval '0.5' is not an integer"}},
        ErrorCase{"vrrp_script rise at least 1",
                  "vrrp_script chk {\n  script /bin/true\n  rise 0\n}\n",
                  {"3:8: vrrp_script chk: rise 0 is out of range [1, 2147483647]"}},
        ErrorCase{"vrrp_script weight option",
                  "vrrp_script chk {\n  script /bin/true\n  weight 2 bogus\n}\n",
                  {"3:12: vrrp_script chk: weight: unexpected 'bogus' (expected 'reverse')"}},
        ErrorCase{"vrrp_script without script",
                  "vrrp_script chk {\n  interval 2\n}\n",
                  {"1:13: vrrp_script chk: no 'script' given"}},
        ErrorCase{"track_file without file",
                  "track_file tf {\n  weight 2\n}\n",
                  {"1:12: track_file tf: no 'file' given"}},
        ErrorCase{"track_file weight range",
                  "track_file tf {\n  file /run/x\n  weight 255\n}\n",
                  {"3:10: track_file tf: weight 255 is out of range [-254, 254]"}},
        ErrorCase{"track_file init_file value",
                  "track_file tf {\n  file /run/x\n  init_file abc\n}\n",
                  {"3:13: track_file tf: init_file: unexpected 'abc' (expected: init_file "
                   "[VALUE] [overwrite])"}},
        ErrorCase{"group members outside a block",
                  "vrrp_sync_group G {\n  group VI_1 VI_2\n}\n",
                  {"2:9: vrrp_sync_group G: the instance names go in a block: group { VI_1 ... "
                   "}"}},
        ErrorCase{"global_tracking",
                  "vrrp_sync_group G {\n  global_tracking\n}\n",
                  {"2:3: vrrp_sync_group G: 'global_tracking' is deprecated and keepalived 2.2.7 "
                   "rejects it: use track_interface, track_script and track_file on the group",
                   "1:17: vrrp_sync_group G has no instances (give them in group { ... })"}},
        ErrorCase{"notify needs a script",
                  instance("  notify_master"),
                  {"4:3: vrrp_instance VI_1: 'notify_master' needs a script"}},
        ErrorCase{"notify given twice",
                  instance("  notify_master /bin/a\n  notify_master /bin/b"),
                  {"5:3: vrrp_instance VI_1: 'notify_master' is given twice (keepalived ignores "
                   "the second)"}},
        ErrorCase{"every error is reported",
                  instance("  priority 0\n  advert_int x\n  version 9"),
                  {"4:12: vrrp_instance VI_1: priority 0 is out of range [1, 255]",
                   "5:14: vrrp_instance VI_1: advert_int 'x' is not a time in seconds (at most "
                   "6 decimals)",
                   "6:11: vrrp_instance VI_1: version 9 is out of range [2, 3]"}}));

// --- Errors that need the whole file (phase two, finish_vrrp). ---------------------------------

const std::string kScriptAndFile =
    "vrrp_script chk_http {\n  script /bin/true\n  weight 5\n}\n"
    "track_file weights {\n  file /run/w\n}\n";  // 7 lines

INSTANTIATE_TEST_SUITE_P(
    WholeFileChecks, VrrpErrors,
    ::testing::Values(
        ErrorCase{"missing interface",
                  "vrrp_instance VI_1 {\n  virtual_router_id 51\n  virtual_ipaddress {\n"
                  "    10.0.0.1\n  }\n}\n",
                  {"1:15: vrrp_instance VI_1: no 'interface' given (keepalived 2.2.7 requires "
                   "one, even with default_interface or unicast peers)"}},
        ErrorCase{"missing virtual_router_id",
                  "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n"
                  "    10.0.0.1\n  }\n}\n",
                  {"1:15: vrrp_instance VI_1: no 'virtual_router_id' given"}},
        ErrorCase{"no virtual address",
                  "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n"
                  "  virtual_ipaddress_excluded {\n    10.0.0.1\n  }\n}\n",
                  {"1:15: vrrp_instance VI_1: no 'virtual_ipaddress' given (keepalived requires "
                   "at least one)"}},
        ErrorCase{"mixed families",
                  instance("", "VI_1", "    fd00::1/64\n    10.0.0.1\n"),
                  {"7:5: vrrp_instance VI_1: virtual_ipaddress 10.0.0.1 is IPv4 but the "
                   "instance is IPv6 (from fd00::1 at test.conf:6:5); put addresses of the other "
                   "family in virtual_ipaddress_excluded"}},
        ErrorCase{"source address decides the family when written first",
                  instance("  mcast_src_ip fd00::2"),
                  {"6:5: vrrp_instance VI_1: virtual_ipaddress 10.0.0.1 is IPv4 but the "
                   "instance is IPv6 (from fd00::2 at test.conf:4:16); put addresses of the "
                   "other family in virtual_ipaddress_excluded"}},
        ErrorCase{"unicast peer of the other family",
                  instance("  unicast_peer {\n    10.0.0.7\n    fd00::7\n  }"),
                  {"6:5: vrrp_instance VI_1: unicast_peer fd00::7 is IPv6 but the instance is "
                   "IPv4 (from 10.0.0.1 at test.conf:9:5)"}},
        ErrorCase{"mcast_dst_ip of the other family",
                  instance("  mcast_dst_ip ff02::13"),
                  {"4:16: vrrp_instance VI_1: mcast_dst_ip ff02::13 is IPv6 but the instance "
                   "is IPv4"}},
        ErrorCase{"native_ipv6 with IPv4 addresses",
                  instance("  native_ipv6"),
                  {"1:15: vrrp_instance VI_1: native_ipv6 is set but the instance's addresses "
                   "are IPv4"}},
        ErrorCase{"v2 advert_int must be whole seconds",
                  instance("  advert_int 0.5"),
                  {"4:14: vrrp_instance VI_1: advert_int 0.5 s is not a whole number of "
                   "seconds, as VRRPv2 requires (RFC 3768 §5.3.7)"}},
        ErrorCase{"global vrrp_version decides the advert_int rule",
                  "global_defs {\n  vrrp_version 3\n}\n" + instance("  advert_int 0.015"),
                  {"7:14: vrrp_instance VI_1: advert_int 0.015 s is not a multiple of 0.01 s, "
                   "as VRRPv3 requires (RFC 5798 §5.2.7)"}},
        ErrorCase{"v3 advert_int maximum",
                  instance("  version 3\n  advert_int 40.96"),
                  {"5:14: vrrp_instance VI_1: advert_int 40.96 s is above 40.95 s, the VRRPv3 "
                   "maximum (RFC 5798 §5.2.7)"}},
        ErrorCase{"IPv6 instances are v3 for advert_int",
                  instance("  advert_int 0.015", "VI_1", "    fd00::1\n"),
                  {"4:14: vrrp_instance VI_1: advert_int 0.015 s is not a multiple of 0.01 s, "
                   "as VRRPv3 requires (RFC 5798 §5.2.7)"}},
        ErrorCase{"nopreempt with state MASTER",
                  instance("  state MASTER\n  priority 100\n  nopreempt"),
                  {"6:3: vrrp_instance VI_1: nopreempt needs state BACKUP (keepalived ignores "
                   "it with state MASTER and reports an error)"}},
        ErrorCase{"nopreempt with the address owner",
                  instance("  priority 255\n  nopreempt"),
                  {"5:3: vrrp_instance VI_1: nopreempt cannot apply to the address owner "
                   "(priority 255)"}},
        ErrorCase{"preempt_delay with state MASTER",
                  instance("  state MASTER\n  priority 100\n  preempt_delay 10"),
                  {"6:17: vrrp_instance VI_1: preempt_delay needs state BACKUP (keepalived "
                   "ignores it with state MASTER and reports an error)"}},
        ErrorCase{"authentication with VRRPv3",
                  instance("  version 3\n  authentication {\n    auth_type AH\n    auth_pass x\n"
                           "  }"),
                  {"5:3: vrrp_instance VI_1: authentication is VRRPv2 only (RFC 5798 removed "
                   "it)"}},
        ErrorCase{"AH authentication with state MASTER",
                  instance("  state MASTER\n  authentication {\n    auth_type AH\n"
                           "    auth_pass x\n  }"),
                  {"4:3: vrrp_instance VI_1: state MASTER cannot be used with auth_type AH "
                   "(keepalived starts the instance as BACKUP and reports an error)"}},
        ErrorCase{"authentication in strict mode",
                  instance("  strict_mode\n  authentication {\n    auth_type PASS\n"
                           "    auth_pass x\n  }"),
                  {"5:3: vrrp_instance VI_1: strict mode does not allow authentication"}},
        ErrorCase{"authentication without password",
                  instance("  authentication {\n    auth_type PASS\n  }"),
                  {"4:3: vrrp_instance VI_1: authentication has an auth_type but no auth_pass"}},
        ErrorCase{"accept with strict mode and VRRPv2",
                  instance("  strict_mode\n  accept"),
                  {"5:3: vrrp_instance VI_1: accept mode with strict mode is not allowed for "
                   "VRRPv2 (RFC 3768 has no accept mode)"}},
        ErrorCase{"strict mode: the first IPv6 address is link-local",
                  instance("  strict_mode", "VI_1", "    fd00::1/64\n    fe80::1/64\n"),
                  {"6:5: vrrp_instance VI_1: in strict mode the first IPv6 virtual_ipaddress "
                   "must be link-local (RFC 5798 §5.2.9); fd00::1 is not"}},
        ErrorCase{"unicast_src_ip without peers",
                  instance("  unicast_src_ip 10.0.0.2"),
                  {"4:3: vrrp_instance VI_1: a unicast setting without any unicast_peer "
                   "(keepalived 2.2.7 rejects this; use mcast_src_ip for a multicast source "
                   "address)"}},
        ErrorCase{"unicast_ttl without peers",
                  instance("  unicast_ttl 5"),
                  {"4:15: vrrp_instance VI_1: unicast_ttl needs unicast_peer addresses"}},
        ErrorCase{"track_script of an undefined script",
                  kScriptAndFile + instance("  track_script {\n    chk_htp\n  }"),
                  {"12:5: vrrp_instance VI_1: track_script chk_htp: no vrrp_script of that "
                   "name; did you mean 'chk_http'?"}},
        ErrorCase{"track_file of an undefined file",
                  kScriptAndFile + instance("  track_file {\n    nothing\n  }"),
                  {"12:5: vrrp_instance VI_1: track_file nothing: no track_file of that name"}},
        ErrorCase{"same VRID twice on one interface and family",
                  instance("", "VI_1") + instance("", "VI_2", "    10.0.0.2\n"),
                  {"11:21: vrrp_instance VI_2: virtual_router_id 51 is already used on eth0 "
                   "(IPv4) by vrrp_instance VI_1 at test.conf:1:15"}},
        ErrorCase{"same VRID three times",
                  instance("", "VI_1") + instance("", "VI_2", "    10.0.0.2\n") +
                      instance("", "VI_3", "    10.0.0.3\n"),
                  {"11:21: vrrp_instance VI_2: virtual_router_id 51 is already used on eth0 "
                   "(IPv4) by vrrp_instance VI_1 at test.conf:1:15",
                   "19:21: vrrp_instance VI_3: virtual_router_id 51 is already used on eth0 "
                   "(IPv4) by vrrp_instance VI_1 at test.conf:1:15"}},
        ErrorCase{"duplicate instance name",
                  instance("", "VI_1") + instance("", "VI_1", "    10.0.0.2\n", 52),
                  {"9:15: vrrp_instance VI_1 is already defined at test.conf:1:15"}},
        ErrorCase{"duplicate sync group name",
                  "vrrp_sync_group G { group { VI_1 VI_2 } }\n"
                  "vrrp_sync_group G { group { VI_3 VI_4 } }\n" +
                      instance("") + instance("", "VI_2", "    10.0.0.2\n", 52) +
                      instance("", "VI_3", "    10.0.0.3\n", 53) +
                      instance("", "VI_4", "    10.0.0.4\n", 54),
                  {"2:17: vrrp_sync_group G is already defined at test.conf:1:17"}},
        ErrorCase{"interface tracked twice",
                  instance("  track_interface {\n    eth1\n    eth1 weight 5\n  }"),
                  {"6:5: vrrp_instance VI_1: track_interface eth1 is listed twice (also at "
                   "test.conf:5:5)"}},
        ErrorCase{"tracking weight on the address owner",
                  kScriptAndFile + instance("  state MASTER\n  track_script {\n    chk_http\n  }"),
                  {"13:5: vrrp_instance VI_1: track_script chk_http weight 5 cannot move the "
                   "priority of the address owner (priority 255); use weight 0"}},
        ErrorCase{"tracking the own interface",
                  instance("  track_interface {\n    eth0\n  }"),
                  {"5:5: vrrp_instance VI_1: track_interface eth0 is the instance's own "
                   "interface (keepalived ignores it and reports an error; the own interface is "
                   "tracked unless dont_track_primary)"}},
        ErrorCase{"mcast_dst_ip with unicast peers",
                  instance("  unicast_peer {\n    10.0.0.2\n  }\n  mcast_dst_ip 224.0.0.19"),
                  {"7:16: vrrp_instance VI_1: mcast_dst_ip has no effect with unicast_peer "
                   "(keepalived ignores it and reports an error)"}},
        ErrorCase{"vmac_xmit_base without use_vmac",
                  instance("  vmac_xmit_base"),
                  {"1:15: vrrp_instance VI_1: vmac_xmit_base is only valid with use_vmac"}},
        ErrorCase{"sync group member not defined",
                  "vrrp_sync_group G { group { VI_1 VI_9 } }\n" + instance(""),
                  {"1:34: vrrp_sync_group G: vrrp_instance VI_9 is not defined; did you mean "
                   "'VI_1'?"}},
        ErrorCase{"sync group with one member",
                  "vrrp_sync_group G { group { VI_1 } }\n" + instance(""),
                  {"1:17: vrrp_sync_group G has only one instance (keepalived 2.2.7 requires two "
                   "or more)"}},
        ErrorCase{"instance in two sync groups",
                  "vrrp_sync_group G { group { VI_1 VI_2 } }\n"
                  "vrrp_sync_group H { group { VI_3 VI_1 } }\n" +
                      instance("") + instance("", "VI_2", "    10.0.0.2\n", 52) +
                      instance("", "VI_3", "    10.0.0.3\n", 53),
                  {"2:34: vrrp_sync_group H: vrrp_instance VI_1 is already in vrrp_sync_group G "
                   "(at test.conf:1:29); an instance belongs to one group"}},
        ErrorCase{"instance listed twice in a group",
                  "vrrp_sync_group G { group { VI_1 VI_1 } }\n" + instance(""),
                  {"1:34: vrrp_sync_group G: vrrp_instance VI_1 is listed twice (also at "
                   "test.conf:1:29)"}},
        ErrorCase{"tracking weight on a sync group member",
                  "vrrp_sync_group G { group { VI_1 VI_2 } }\n" +
                      instance("  track_interface {\n    eth1 weight 10\n  }") +
                      instance("", "VI_2", "    10.0.0.2\n", 52),
                  {"6:5: vrrp_instance VI_1: track_interface eth1 weight 10 is not allowed in "
                   "vrrp_sync_group G (use weight 0, or set sync_group_tracking_weight on the "
                   "group)"}},
        // garp_group, as keepalived 2.2.7 -t judges it (each of these exits 5 there).
        ErrorCase{"garp_group without an interval",
                  "garp_group {\n  interface eth1\n}\n" + instance(""),
                  {"1:1: garp_group: neither garp_interval nor gna_interval is set"}},
        ErrorCase{"garp_group interval range",
                  "garp_group {\n  gna_interval 2147.483648\n  interface eth1\n}\n",
                  {"2:16: 'gna_interval': 2147.483648 s is out of range [0, 2147.483647]",
                   "1:1: garp_group: neither garp_interval nor gna_interval is set"}},
        ErrorCase{"garp_group empty interfaces block",
                  "garp_group {\n  garp_interval 1\n  interfaces {\n  }\n}\n",
                  {"3:3: garp_group: empty 'interfaces' block"}},
        ErrorCase{"garp_group unknown keyword",
                  "garp_group {\n  garp_interval 1\n  interface eth1\n  interfce eth2\n}\n",
                  {"4:3: unknown keyword 'interfce'; did you mean 'interface'?"}},
        ErrorCase{"an interface in two garp_groups",
                  "garp_group {\n  garp_interval 1\n  interface eth1\n}\n"
                  "garp_group {\n  gna_interval 1\n  interfaces { eth2 eth1 }\n}\n",
                  {"7:21: garp_group: interface eth1 is already in the garp_group listing it at "
                   "test.conf:3:13"}},
        ErrorCase{"instance listed twice and an undefined member: both reported",
                  "vrrp_sync_group G { group { VI_1 VI_1 VI_7 } }\n" + instance(""),
                  {"1:39: vrrp_sync_group G: vrrp_instance VI_7 is not defined; did you mean "
                   "'VI_1'?",
                   "1:34: vrrp_sync_group G: vrrp_instance VI_1 is listed twice (also at "
                   "test.conf:1:29)"}}));

TEST(VrrpValidation, SecondScriptOrTrackFileOfTheSameNameWarns) {
  // keepalived 2.2.7 accepts both (exit 0) and finds the first by name.
  auto p = parse(
      "vrrp_script a {\n  script /bin/a\n}\nvrrp_script a {\n  script /bin/b\n}\n"
      "track_file f {\n  file /run/f\n}\ntrack_file f {\n  file /run/g\n}\n" +
      instance("  track_script {\n    a\n  }"));
  EXPECT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  EXPECT_EQ(warnings(*p),
            (Strings{"4:13: vrrp_script a is already defined at test.conf:1:13; that first "
                     "definition is used",
                     "10:12: track_file f is already defined at test.conf:7:12; that first "
                     "definition is used"}));
}

TEST(VrrpValidation, LvsSyncDaemonOfAnUndefinedInstanceIsAnError) {
  // keepalived 2.2.7 logs it and runs without the sync daemon; vigil refuses the file.
  auto p = parse("global_defs {\n  lvs_sync_daemon eth0 VI_2\n}\n" + instance(""));
  EXPECT_FALSE(p->ok());
  EXPECT_EQ(errors(*p), (Strings{"2:3: lvs_sync_daemon: vrrp_instance VI_2 is not defined; did "
                                 "you mean 'VI_1'?"}));
  auto inst = parse("global_defs {\n  lvs_sync_daemon eth0 inst VI_9 id 4\n}\n" + instance(""));
  EXPECT_EQ(errors(*inst), (Strings{"2:3: lvs_sync_daemon: vrrp_instance VI_9 is not defined; "
                                    "did you mean 'VI_1'?"}));
  // Without an instance, nothing to resolve: the sync id stays as given (0 by default).
  std::unique_ptr<Parsed> ok;
  const auto& config =
      parse_ok(ok, "global_defs {\n  lvs_sync_daemon eth0 id 4\n}\n" + instance(""));
  EXPECT_EQ(config.global.lvs_sync_daemon->sync_id, 4);
}

TEST(VrrpValidation, SameVridIsFineOnOtherInterfacesFamiliesGroupsAndForUnicast) {
  // keepalived 2.2.7 accepts each of these (checked with keepalived -t).
  std::unique_ptr<Parsed> p;
  parse_ok(p, instance("", "VI_1") +
                  "vrrp_instance VI_2 {\n  interface eth1\n  virtual_router_id 51\n"
                  "  virtual_ipaddress {\n    10.0.1.1\n  }\n}\n" +
                  instance("", "VI_3", "    fd00::3\n") +
                  instance("  mcast_dst_ip 224.0.0.19", "VI_4", "    10.0.0.4\n") +
                  instance("  unicast_peer {\n    10.0.0.7\n  }", "VI_5", "    10.0.0.5\n") +
                  instance("  unicast_peer {\n    10.0.0.7\n  }", "VI_6", "    10.0.0.6\n"));
}

TEST(VrrpValidation, WarningsKeepalivedAccepts) {
  auto p = parse(instance("  state BACKUP\n  priority 255\n  version 2", "VI_1", "    fd00::1\n") +
                 instance("  authentication {\n    auth_pass secret\n  }", "VI_2",
                          "    10.0.0.2\n    10.0.0.2\n", 52));
  EXPECT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  EXPECT_EQ(warnings(*p),
            (Strings{"6:11: vrrp_instance VI_1: VRRPv2 is IPv4 only (RFC 3768); this IPv6 "
                     "instance runs VRRPv3",
                     "5:12: vrrp_instance VI_1: priority 255 makes this instance the address "
                     "owner: it becomes MASTER at once despite state BACKUP",
                     "19:5: vrrp_instance VI_2: address 10.0.0.2 is listed twice (also at "
                     "test.conf:18:5)",
                     "14:3: vrrp_instance VI_2: auth_pass without auth_type has no effect"}));
}

TEST(VrrpValidation, TrackingWeightsResolveFromTheirObjects) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(
      p, kScriptAndFile + R"(track_file other {
  file /run/o
  weight -4 reverse
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  track_script {
    chk_http
  }
}
)" +
             instance("  track_interface {\n    eth1\n  }\n  track_file {\n    other\n  }", "VI_9",
                      "    10.0.0.9\n", 9) +
             instance("", "VI_1", "    10.0.0.1\n", 1) + instance("", "VI_2", "    10.0.0.2\n", 2));
  const auto& group = config.vrrp.sync_groups.at(0);
  EXPECT_EQ(group.track.scripts.at(0).weight, 5);  // the vrrp_script's weight
  const auto& vi = config.vrrp.instances.at(0);
  EXPECT_EQ(vi.track.interfaces.at(0).weight, 0);
  EXPECT_EQ(vi.track.files.at(0).weight, -4);  // the track_file's weight and reverse flag
  EXPECT_TRUE(vi.track.files.at(0).reverse);
}

TEST(VrrpValidation, LvsSyncDaemonIdDefaultsToTheInstanceVrid) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, "global_defs {\n  lvs_sync_daemon eth0 VI_1\n}\n" +
                                       instance("", "VI_1", "    10.0.0.1\n", 77));
  ASSERT_TRUE(config.global.lvs_sync_daemon);
  EXPECT_EQ(config.global.lvs_sync_daemon->sync_id, 77);
}

// --- JSON dump. -------------------------------------------------------------------------------

nlohmann::json dump(const Config& config) {
  return nlohmann::json::parse(to_json_text(config));
}

TEST(VrrpJson, DumpsEveryFieldWithDefaultsResolved) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, R"(global_defs {
  vrrp_garp_master_delay 3
}
vrrp_script chk {
  script "/bin/check -q"
  interval 2
}
track_file tf {
  file /run/tf
  init_file 5
}
vrrp_sync_group G {
  group { VI_1 VI_2 }
  notify "/bin/notify group"
}
)" +
                                       instance(R"(  advert_int 0.25
  version 3
  unicast_peer {
    10.0.0.7 max_ttl 255
  }
  track_script {
    chk
  }
  notify_master /bin/up root)",
                                                "VI_1", "    10.0.0.1/24 dev eth1 label eth1:1\n") +
                                       instance(R"(  authentication {
    auth_type PASS
    auth_pass secret
  })",
                                                "VI_2", "    10.0.0.2\n", 52));
  auto j = dump(config);
  EXPECT_EQ(j["vrrp_script"], nlohmann::json::parse(R"([{
    "name": "chk", "script": {"argv": ["/bin/check", "-q"]}, "interval": 2, "timeout": 2,
    "weight": 0, "weight_reverse": false, "rise": 1, "fall": 1, "user": null,
    "init_fail": false}])"));
  EXPECT_EQ(j["track_file"], nlohmann::json::parse(R"([{
    "name": "tf", "file": "/run/tf", "weight": 1, "weight_reverse": false,
    "init_file": {"value": 5, "overwrite": false}}])"));
  const auto& group = j["vrrp_sync_group"].at(0);
  EXPECT_EQ(group["group"], nlohmann::json::parse(R"(["VI_1", "VI_2"])"));
  EXPECT_EQ(group["notify"]["argv"], nlohmann::json::parse(R"(["/bin/notify", "group"])"));
  EXPECT_EQ(group["notify_master"], nullptr);
  EXPECT_EQ(group["smtp_alert"], false);

  const auto& vi = j["vrrp_instance"].at(0);
  EXPECT_EQ(vi["name"], "VI_1");
  EXPECT_EQ(vi["state"], "BACKUP");
  EXPECT_EQ(vi["priority"], 100);
  EXPECT_EQ(vi["version"], 3);
  EXPECT_EQ(vi["family"], "inet");
  EXPECT_EQ(vi["advert_int"], 0.25);  // seconds
  EXPECT_EQ(vi["preempt_delay"], 0);
  EXPECT_EQ(vi["mcast_dst_ip"], "224.0.0.18");
  EXPECT_EQ(vi["unicast_peer"],
            nlohmann::json::parse(R"([{"address": "10.0.0.7", "min_ttl": null, "max_ttl": 255}])"));
  EXPECT_EQ(vi["virtual_ipaddress"].at(0)["address"], "10.0.0.1/24");
  EXPECT_EQ(vi["virtual_ipaddress"].at(0)["dev"], "eth1");
  EXPECT_EQ(vi["virtual_ipaddress"].at(0)["label"], "eth1:1");
  EXPECT_EQ(vi["virtual_ipaddress"].at(0)["scope"], "global");
  EXPECT_EQ(vi["virtual_ipaddress"].at(0)["brd"], nullptr);
  EXPECT_EQ(vi["track_script"],
            nlohmann::json::parse(R"([{"name": "chk", "weight": 0, "reverse": false}])"));
  EXPECT_EQ(vi["notify_master"]["argv"], nlohmann::json::parse(R"(["/bin/up"])"));
  EXPECT_EQ(vi["notify_master"]["run_as"],
            nlohmann::json::parse(R"({"user": "root", "group": ""})"));
  EXPECT_EQ(vi["garp_master_delay"], 3);  // from global_defs
  EXPECT_EQ(vi["garp_lower_prio_delay"], 3);
  EXPECT_EQ(vi["garp_master_repeat"], 5);
  EXPECT_EQ(vi["garp_master_refresh"], 0);
  EXPECT_EQ(vi["accept"], true);
  EXPECT_EQ(vi["strict_mode"], false);
  EXPECT_EQ(vi["lower_prio_no_advert"], false);
  EXPECT_EQ(vi["down_timer_adverts"], 3);
  EXPECT_EQ(vi["authentication"], nullptr);
  EXPECT_EQ(vi["use_vmac"], nullptr);

  const auto& vi2 = j["vrrp_instance"].at(1);
  EXPECT_EQ(vi2["version"], 2);
  EXPECT_EQ(vi2["advert_int"], 1);
  // The password is a secret: only whether one is set is dumped.
  EXPECT_EQ(vi2["authentication"],
            nlohmann::json::parse(R"json({"auth_type": "PASS", "auth_pass": "(set)"})json"));
}

TEST(VrrpJson, EmptySectionDumpsEmptyLists) {
  std::unique_ptr<Parsed> p;
  auto j = dump(parse_ok(p, ""));
  EXPECT_EQ(j["vrrp_script"], nlohmann::json::array());
  EXPECT_EQ(j["track_file"], nlohmann::json::array());
  EXPECT_EQ(j["vrrp_sync_group"], nlohmann::json::array());
  EXPECT_EQ(j["vrrp_instance"], nlohmann::json::array());
}

// --- The differential corpus: vigil's own verdict on the VRRP files. ---------------------------

TEST(VrrpCorpus, VerdictMatchesTheFileName) {
  // Files named *-bad-* are rejected by keepalived -t (checked by integration/config_diff);
  // the others are accepted. This runs the same expectation in-process.
  auto corpus = std::filesystem::path(VIGIL_TEST_DATA_DIR) / "corpus";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("vrrp-") || !name.ends_with(".conf")) continue;
    ++files;
    auto parsed = parse_file(entry.path().string());
    bool bad = name.find("-bad-") != std::string::npos;
    EXPECT_EQ(parsed->ok(), !bad) << name << "\n" << parsed->diagnostics.format(parsed->files);
  }
  EXPECT_GE(files, 8U);
}

}  // namespace
}  // namespace vigil::config
