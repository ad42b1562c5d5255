// vigil-lab's model: what it builds from a configuration (instances paired by name, one segment
// per interface, addresses that collide with nothing configured) and the sentences with which it
// refuses a configuration it cannot model.
#include "lab/model.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "config/parser.h"

namespace vigil::lab {
namespace {

std::unique_ptr<config::Parsed> parse(const std::string& text, const std::string& id) {
  config::ParseOptions options;
  options.reader.config_id = id;
  auto parsed = config::parse_text("test.conf", text, options);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return parsed;
}

ModelResult model_of(const std::string& a, const std::string& b) {
  static std::unique_ptr<config::Parsed> pa, pb;
  pa = parse(a, "A");
  pb = parse(b, "B");
  return build_model({"A", "a.conf", &pa->config}, {"B", "b.conf", &pb->config});
}

const char* kPair = R"(
vrrp_instance VI_1 {
  interface bond0
  virtual_router_id 51
@A priority 150
@B priority 100
@B nopreempt
  advert_int 0.5
  version 3
  virtual_ipaddress {
    10.1.2.3/32
    10.1.2.250/32
  }
}
)";

TEST(LabModel, PairsInstancesAndBuildsOneSegmentPerInterface) {
  const auto result = model_of(kPair, kPair);
  ASSERT_TRUE(std::holds_alternative<LabModel>(result)) << std::get<std::string>(result);
  const auto& m = std::get<LabModel>(result);
  EXPECT_EQ(m.directors[0].id, "A");
  EXPECT_EQ(m.directors[1].id, "B");
  ASSERT_EQ(m.directors[0].instances.size(), 1u);
  EXPECT_EQ(m.directors[0].instances[0].priority, 150);
  EXPECT_EQ(m.directors[1].instances[0].priority, 100);
  EXPECT_FALSE(m.directors[0].instances[0].nopreempt);
  EXPECT_TRUE(m.directors[1].instances[0].nopreempt);
  EXPECT_DOUBLE_EQ(m.directors[0].instances[0].advert_int, 0.5);
  EXPECT_DOUBLE_EQ(m.advert_int, 0.5);
  ASSERT_EQ(m.segments.size(), 1u);
  const auto& s = m.segments[0];
  EXPECT_EQ(s.interface, "bond0");
  EXPECT_EQ(m.vips, (std::vector<std::string>{"10.1.2.3", "10.1.2.250"}));
  // Addresses in the VIPs' /24, none of them a VIP: .250 is taken, so .249 and down.
  ASSERT_EQ(s.director_addresses[0].size(), 1u);
  EXPECT_EQ(s.director_addresses[0][0].to_string(), "10.1.2.249/24");
  EXPECT_EQ(s.director_addresses[1][0].to_string(), "10.1.2.248/24");
  EXPECT_EQ(s.client_addresses[0].to_string(), "10.1.2.247/24");
}

TEST(LabModel, UnicastAddressesComeFromTheConfig) {
  const char* text = R"(
vrrp_instance VI_1 {
  interface eth1
  virtual_router_id 7
  priority 100
@A unicast_src_ip 172.16.0.1
@B unicast_src_ip 172.16.0.2
  unicast_peer {
@A  172.16.0.2
@B  172.16.0.1
  }
  virtual_ipaddress {
    172.16.0.100/24
  }
}
)";
  const auto result = model_of(text, text);
  ASSERT_TRUE(std::holds_alternative<LabModel>(result)) << std::get<std::string>(result);
  const auto& s = std::get<LabModel>(result).segments.at(0);
  EXPECT_EQ(s.director_addresses[0].at(0).to_string(), "172.16.0.1/24");
  EXPECT_EQ(s.director_addresses[1].at(0).to_string(), "172.16.0.2/24");
  EXPECT_EQ(s.client_addresses.at(0).to_string(), "172.16.0.250/24");
}

TEST(LabModel, RefusesAnInstanceOnOneDirectorOnly) {
  const std::string second = std::string(kPair) + R"(
vrrp_instance VI_2 {
  interface bond0
  virtual_router_id 52
  virtual_ipaddress {
    10.1.2.4/32
  }
}
)";
  const auto result = model_of(kPair, second);
  ASSERT_TRUE(std::holds_alternative<std::string>(result));
  EXPECT_EQ(std::get<std::string>(result),
            "vrrp_instance VI_2 exists on B only: the lab pairs the two directors' instances by "
            "name");
}

TEST(LabModel, RefusesAConfigWithoutVrrp) {
  const auto result = model_of("global_defs {\n  router_id x\n}\n", kPair);
  ASSERT_TRUE(std::holds_alternative<std::string>(result));
  EXPECT_NE(std::get<std::string>(result).find("a.conf (config id A) has no vrrp_instance"),
            std::string::npos);
}

TEST(LabModel, RefusesNetNamespace) {
  const auto result = model_of(std::string("net_namespace blue\n") + kPair, kPair);
  ASSERT_TRUE(std::holds_alternative<std::string>(result));
  EXPECT_NE(std::get<std::string>(result).find("net_namespace blue"), std::string::npos);
}

TEST(LabModel, UnicastWithoutAnyKnownAddressIsRefused) {
  const char* text = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 7
  unicast_peer {
    10.0.0.9
  }
  virtual_ipaddress {
    10.0.0.100/24
  }
}
)";
  // Neither gives unicast_src_ip: A takes the peer B lists (10.0.0.9), and then nothing is left
  // for B, whose only peer is A's address.
  const auto result = model_of(text, text);
  ASSERT_TRUE(std::holds_alternative<std::string>(result));
  EXPECT_NE(std::get<std::string>(result).find("cannot tell its own address"), std::string::npos)
      << std::get<std::string>(result);
}

TEST(LabModel, ConfigIdsInOrderOfFirstUse) {
  EXPECT_EQ(config_ids_in("a\n@lb1 x\n  @^lb2 y\n@lb1 z\nb @x\n"),
            (std::vector<std::string>{"lb1", "lb2"}));
  EXPECT_TRUE(config_ids_in("vrrp_instance VI_1 {\n}\n").empty());
}

TEST(LabModel, MasterDownInterval) {
  LabInstance i;
  i.priority = 100;
  i.advert_int = 0.1;
  i.down_timer_adverts = 3;
  EXPECT_NEAR(master_down_interval(i), 0.3 + 156.0 / 256.0 * 0.1, 1e-9);
}

TEST(LabModel, AdvertLossRulesOnePerInstanceWithItsInterfaceFamilyAndRouterId) {
  LabModel m;
  LabInstance v4;
  v4.name = "VI_1";
  v4.interface = "eth0";
  v4.virtual_router_id = 51;
  v4.vips = {"192.0.2.200"};
  LabInstance v6 = v4;
  v6.name = "VI_6";
  v6.interface = "eth1";
  v6.virtual_router_id = 52;
  v6.vips = {"2001:db8::200"};
  m.directors[1].instances = {v4, v6};
  EXPECT_EQ(advert_loss_rules(m, 1),
            "table inet vigil_lab_loss {\n"
            "  chain out {\n"
            "    type filter hook output priority -300;\n"
            "    oifname \"eth0\" meta nfproto ipv4 meta l4proto 112 @th,8,8 51 numgen inc mod 2 0 "
            "counter drop\n"
            "    oifname \"eth1\" meta nfproto ipv6 meta l4proto 112 @th,8,8 52 numgen inc mod 2 0 "
            "counter drop\n"
            "  }\n}\n");
}

}  // namespace
}  // namespace vigil::lab

namespace vigil::lab {
namespace {

// Only what the intent rule reads: states, priorities, nopreempt.
LabModel pair_of(bool master_a, int prio_a, bool nopreempt_a, bool master_b, int prio_b,
                 bool nopreempt_b) {
  LabModel m;
  m.directors[0].id = "d1";
  m.directors[1].id = "d2";
  LabInstance a;
  a.name = "VI_1";
  LabInstance b = a;
  a.initial_master = master_a;
  a.priority = static_cast<uint8_t>(prio_a);
  a.nopreempt = nopreempt_a;
  b.initial_master = master_b;
  b.priority = static_cast<uint8_t>(prio_b);
  b.nopreempt = nopreempt_b;
  m.directors[0].instances = {a};
  m.directors[1].instances = {b};
  return m;
}

TEST(Intent, StateMasterOutranksPriorityThenTheHigherPriority) {
  auto by_state = intended_master(pair_of(true, 100, false, false, 150, false), 0);
  ASSERT_TRUE(by_state);
  EXPECT_EQ(by_state->director, 0);
  EXPECT_EQ(by_state->why, "state MASTER; d2 is state BACKUP");
  auto by_priority = intended_master(pair_of(false, 100, false, false, 150, false), 0);
  ASSERT_TRUE(by_priority);
  EXPECT_EQ(by_priority->director, 1);
  EXPECT_EQ(by_priority->why, "the higher priority, 150 > 100");
  EXPECT_FALSE(intended_master(pair_of(false, 100, false, false, 100, false), 0));
  EXPECT_FALSE(intended_master(pair_of(true, 100, false, true, 100, false), 0));
}

TEST(Intent, ABackupWithTheHigherPriorityAndNoNopreemptMustNotTakeOver) {
  // d1 state MASTER 100, d2 state BACKUP 150 without nopreempt: d2 returning would take VI_1
  // from the intended master. The rule forbids it and says why.
  const LabModel broken = pair_of(true, 100, false, false, 150, false);
  const ReturnRule rule = return_rule(broken, 0, 1);
  EXPECT_FALSE(rule.takeover);
  EXPECT_TRUE(rule.conflict);
  EXPECT_EQ(rule.why,
            "d1 is the intended master of VI_1 (state MASTER; d2 is state BACKUP), but d2 has the "
            "higher priority (150 > 100) and no nopreempt, so it takes VI_1 over whenever it "
            "runs: give d2 nopreempt or a priority below d1's");
  // With nopreempt on the backup the intent holds: no takeover, no conflict.
  const ReturnRule fixed = return_rule(pair_of(true, 100, false, false, 150, true), 0, 1);
  EXPECT_FALSE(fixed.takeover);
  EXPECT_FALSE(fixed.conflict);
  // The intended master returning with the lower priority cannot take it back (VRRP).
  const ReturnRule back = return_rule(broken, 0, 0);
  EXPECT_FALSE(back.takeover);
  EXPECT_EQ(back.why, "d1's priority 100 is not above d2's 150");
}

TEST(Intent, WithoutStateMasterTheOldRuleHolds) {
  // Both BACKUP, d1 150, d2 100 (the demo): d1 takes over on returning; with nopreempt it does
  // not; d2 returning never does.
  const ReturnRule demo = return_rule(pair_of(false, 150, false, false, 100, false), 0, 0);
  EXPECT_TRUE(demo.takeover);
  EXPECT_FALSE(demo.conflict);
  EXPECT_EQ(demo.why, "d1 has the higher priority (150 > 100) and no nopreempt");
  const ReturnRule nopreempt = return_rule(pair_of(false, 150, true, false, 100, true), 0, 0);
  EXPECT_FALSE(nopreempt.takeover);
  EXPECT_EQ(nopreempt.why, "d1 has nopreempt");
  const ReturnRule lower = return_rule(pair_of(false, 150, false, false, 100, false), 0, 1);
  EXPECT_FALSE(lower.takeover);
  EXPECT_EQ(lower.why, "d1 is the intended master of VI_1 (the higher priority, 150 > 100)");
  // Equal priorities, no state MASTER: no intent, and VRRP does not preempt on equal priority.
  EXPECT_FALSE(return_rule(pair_of(false, 100, false, false, 100, false), 0, 1).takeover);
}

}  // namespace
}  // namespace vigil::lab
