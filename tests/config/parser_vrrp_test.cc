#include <gtest/gtest.h>

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
  state MASTER
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
  EXPECT_EQ(vi.state, VrrpInitialState::kMaster);
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

TEST(VrrpInstance, AuthenticationAndIpv6AddressOptions) {
  std::unique_ptr<Parsed> p;
  const auto& vi = only_instance(parse_ok(p, instance(R"(  authentication {
    auth_type PASS
    auth_pass 12345678
  })",
                                                      "VI_1",
                                                      "    fd00::1/64 preferred_lft forever -nodad "
                                                      "mngtmpaddr noprefixroute autojoin\n"
                                                      "    fd00::2/64 preferred_lft 30 scope 200 "
                                                      "peer fd00::9\n")));
  // auth with IPv6 is rejected by finish_vrrp's validation; here only the reading is checked.
  EXPECT_EQ(vi.auth_type, VrrpAuthType::kPass);
  EXPECT_EQ(vi.auth_pass, "12345678");
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
  EXPECT_EQ(warnings(*p), (Strings{"2:20: vrrp_script s: script: 'a' and later words are ignored "
                                   "(as keepalived does); quote the whole command line to pass "
                                   "arguments"}));
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

TEST(VrrpInstance, UnimplementedKeepalivedKeywordsWarn) {
  auto p = parse(instance(
      "  virtual_routes {\n    10.1.0.0/16 via 10.0.0.254\n  }\n  use_vmac vrrp.51\n  vrf red"));
  EXPECT_TRUE(p->ok()) << p->diagnostics.format(p->files);
  EXPECT_EQ(warnings(*p),
            (Strings{"4:3: 'virtual_routes' is a keepalived keyword vigil does not implement yet: "
                     "accepted, has no effect",
                     "7:3: 'use_vmac' is a keepalived keyword vigil does not implement yet: "
                     "accepted, has no effect",
                     "8:3: 'vrf' is a keepalived keyword vigil does not implement yet: accepted, "
                     "has no effect"}));
  EXPECT_TRUE(p->config.vrrp.instances.at(0).use_vmac);
  EXPECT_EQ(p->config.vrrp.instances.at(0).vmac_interface, "vrrp.51");
}

}  // namespace
}  // namespace vigil::config
